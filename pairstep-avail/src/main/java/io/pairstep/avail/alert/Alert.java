package io.pairstep.avail.alert;

import java.util.Map;

/**
 * Something people and tools must hear about: a threshold that fired or cleared, or a component
 * that changed state. Every action receives the same alert; {@link #fields()} is the one place that
 * decides what an alert says, so the webhook's JSON, the program's environment and the e-mail body
 * carry the same facts under the same names.
 */
public sealed interface Alert permits ThresholdAlert, ComponentAlert, IncidentAlert {

    /** Unique per node and alert, e.g. {@code n1-42}; a receiver uses it to drop a redelivered alert. */
    String id();

    /** When it happened, in ms since the epoch. */
    long timeMillis();

    /** The node that raised it. */
    String nodeId();

    /** What happened, e.g. {@code threshold.fired} or {@code component.broken}. */
    String kind();

    /** One line for people, e.g. an e-mail subject. */
    String summary();

    /**
     * Every fact of the alert in a fixed order, under camel-case names: {@code id}, {@code kind},
     * {@code timeMillis}, {@code node}, {@code summary}, then the facts of its kind. Values are
     * strings or numbers, except the nested {@code incident} object of an {@link IncidentAlert}.
     */
    Map<String, Object> fields();

    /** The facts every alert starts with, in their fixed order, for {@link #fields()} to add to. */
    static Map<String, Object> commonFields(Alert alert) {
        Map<String, Object> fields = new java.util.LinkedHashMap<>();
        fields.put("id", alert.id());
        fields.put("kind", alert.kind());
        fields.put("timeMillis", alert.timeMillis());
        fields.put("node", alert.nodeId());
        fields.put("summary", alert.summary());
        return fields;
    }
}
