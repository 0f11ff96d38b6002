package io.pairstep.core.control;

import java.util.Objects;

/**
 * A threshold alert that a node raised (fired) or cleared, as the controller keeps it so that every
 * node's event log shows it (issue 5, "alert actions: the event log"). The controller keeps only the
 * latest {@link ControllerState#ALERTS_KEPT_MAX}: the record exists to become an event on every
 * node, not to be an archive.
 *
 * @param seq the controller's number for the record, rising by one per record; 0 in a command,
 *     where the controller has not numbered it yet
 * @param alertId the alerting node's id of the alert; a record with an id already kept is a retry
 *     and changes nothing
 * @param node the node that raised it (the one that measured the value)
 * @param component what the event is about: the node id for a node metric, {@code service/partition}
 *     for a partition metric
 * @param transition {@link #FIRED} or {@link #CLEARED}
 * @param metric the metric's dotted name, such as {@code partition.throughput}
 * @param subject what was measured: the node id, a data directory, or {@code service/partition}
 * @param value the sample that completed the hold time
 * @param level the fire level when fired, the clear level when cleared
 * @param direction {@code above} or {@code below}
 * @param holdMillis the threshold's hold time
 * @param timeMillis when the node raised it, by its clock (the controller reads none)
 * @param summary one line for people, cut at {@link #SUMMARY_CHARS_MAX}
 */
public record AlertRecord(long seq, String alertId, String node, String component, String transition, String metric,
        String subject, double value, double level, String direction, long holdMillis, long timeMillis, String summary) {

    public static final String FIRED = "fired";
    public static final String CLEARED = "cleared";
    public static final int SUMMARY_CHARS_MAX = 500;
    /** Ids, names and subjects are short; a longer one is cut so that no record can swell the controller state. */
    public static final int NAME_CHARS_MAX = 200;

    public AlertRecord {
        Objects.requireNonNull(alertId, "alertId");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(component, "component");
        Objects.requireNonNull(transition, "transition");
        Objects.requireNonNull(metric, "metric");
        subject = cut(subject == null ? "" : subject, NAME_CHARS_MAX);
        direction = direction == null ? "" : direction;
        summary = cut(summary == null ? "" : summary, SUMMARY_CHARS_MAX);
    }

    /** The same record numbered {@code seq} by the controller. */
    AlertRecord withSeq(long seq) {
        return new AlertRecord(seq, alertId, node, component, transition, metric, subject, value, level, direction, holdMillis,
                timeMillis, summary);
    }

    /** Why the controller cannot keep this record, or null when it can. */
    String problem() {
        if (alertId.isEmpty() || alertId.length() > NAME_CHARS_MAX) {
            return "an alert record needs an alert id of 1 to " + NAME_CHARS_MAX + " characters";
        }
        if (!FIRED.equals(transition) && !CLEARED.equals(transition)) {
            return "alert " + alertId + ": transition must be " + FIRED + " or " + CLEARED + ", was \"" + transition + "\"";
        }
        if (component.isEmpty() || component.length() > NAME_CHARS_MAX || metric.isEmpty() || metric.length() > NAME_CHARS_MAX) {
            return "alert " + alertId + ": component and metric must have 1 to " + NAME_CHARS_MAX + " characters";
        }
        return null;
    }

    private static String cut(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 3) + "...";
    }
}
