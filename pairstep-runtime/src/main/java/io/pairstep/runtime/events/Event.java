package io.pairstep.runtime.events;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * One entry of the event log.
 *
 * @param seq this node's number for the event, rising by one per event; numbers of different nodes
 *     are not comparable
 * @param version the controller state version whose application produced the event. Every node
 *     derives the same events from the same versions, so {@code (version, index)} names one event
 *     cluster-wide
 * @param index the event's position among the events of its version, from 0
 * @param time when this node applied that version
 * @param type what happened, one of the constants of {@link Change}
 * @param node the node the event is about, or null when none is
 * @param component the component the event is about: a node id, a service name, a replica group
 *     {@code service/partition}, or {@code controller}
 * @param message one readable sentence
 * @param fields the structured details (strings and numbers), depending on the type
 */
public record Event(long seq, long version, int index, Instant time, String type, String node, String component,
        String message, Map<String, Object> fields) {

    public Event {
        Objects.requireNonNull(time, "time");
        Objects.requireNonNull(type, "type");
        fields = Collections.unmodifiableMap(new LinkedHashMap<>(fields));
    }
}
