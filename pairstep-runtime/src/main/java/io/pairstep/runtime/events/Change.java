package io.pairstep.runtime.events;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One change found between two controller states: an {@link Event} before this node gives it a
 * number and a time.
 *
 * @param fields structured details; iteration order is the order given, and null values are kept
 */
public record Change(String type, String node, String component, String message, Map<String, Object> fields) {

    public static final String NODE_UP = "node-up";
    public static final String NODE_DOWN = "node-down";
    public static final String CONTROLLER_LEADER = "controller-leader";
    public static final String SERVICE_DEPLOYED = "service-deployed";
    public static final String SERVICE_CHANGED = "service-changed";
    public static final String SERVICE_REMOVED = "service-removed";
    public static final String GROUP_PLACED = "group-placed";
    public static final String GROUP_REMOVED = "group-removed";
    public static final String TAKEOVER = "takeover";
    public static final String PRIMARY_RECOVERED = "primary-recovered";
    public static final String REPLICA_INSERTED = "replica-inserted";
    public static final String REPLICA_SYNCED = "replica-synced";
    public static final String REPLICA_REMOVED = "replica-removed";
    public static final String INCIDENT_OPENED = "incident-opened";
    public static final String INCIDENT_UPDATED = "incident-updated";
    public static final String INCIDENT_ACKNOWLEDGED = "incident-acknowledged";
    public static final String INCIDENT_RESOLVED = "incident-resolved";
    /** A command crashed or hung a replica and is quarantined as poison. */
    public static final String COMMAND_QUARANTINED = "command-quarantined";
    /** A lockstep group stopped releasing results (its members disagreed and nothing settled who is right). */
    public static final String GROUP_HALTED = "group-halted";
    /** An operator resumed a halted lockstep group from the member it trusts. */
    public static final String GROUP_RESUMED = "group-resumed";
    /** The two members of a DMR group disagreed with no self-check to settle it: a referee joins to execute the entry again. */
    public static final String GROUP_DISPUTED = "group-disputed";
    /** An upgrade of a service started, turned back, or ended. */
    public static final String SERVICE_UPGRADE = "service-upgrade";
    /** A node's threshold fired (the availability manager's alert, recorded by the controller). */
    public static final String THRESHOLD_FIRED = "threshold-fired";
    /** A node's threshold cleared after it had fired. */
    public static final String THRESHOLD_CLEARED = "threshold-cleared";
    /** Someone injected a fault (admin API, console or CLI), recorded by the controller. */
    public static final String FAULT_INJECTED = "fault-injected";

    public Change {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(component, "component");
        Objects.requireNonNull(message, "message");
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }

    /** Builds the fields map from alternating names and values. */
    static Map<String, Object> fields(Object... namesAndValues) {
        if (namesAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("fields need a value for every name");
        }
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < namesAndValues.length; i += 2) {
            map.put((String) namesAndValues[i], namesAndValues[i + 1]);
        }
        return map;
    }
}
