package io.pairstep.avail.config;

import java.util.List;

/**
 * A checked availability configuration: the thresholds to watch and where alerts go. Every alert
 * goes to the event log and to every action listed here. {@code callHome}, when not null, is where
 * every incident and each of its updates is POSTed (the same JSON POST, retries and time limit as
 * a webhook). {@code snmpAgent}, when not null, is where the node answers SNMP GET requests for the
 * state of the system. Built by {@link ConfigParser}, which
 * refuses a file with any wrong entry, so an instance is always complete and consistent.
 */
public record AvailabilityConfig(List<ThresholdConfig> thresholds, List<ActionConfig> actions, ActionConfig.Webhook callHome,
        SnmpAgentConfig snmpAgent) {

    /** No thresholds and no actions: what runs until a good file is read. */
    public static final AvailabilityConfig EMPTY = new AvailabilityConfig(List.of(), List.of());

    public AvailabilityConfig {
        thresholds = List.copyOf(thresholds);
        actions = List.copyOf(actions);
    }

    /** A configuration that calls nobody home. */
    public AvailabilityConfig(List<ThresholdConfig> thresholds, List<ActionConfig> actions) {
        this(thresholds, actions, null);
    }

    /** A configuration with no SNMP agent. */
    public AvailabilityConfig(List<ThresholdConfig> thresholds, List<ActionConfig> actions, ActionConfig.Webhook callHome) {
        this(thresholds, actions, callHome, null);
    }
}
