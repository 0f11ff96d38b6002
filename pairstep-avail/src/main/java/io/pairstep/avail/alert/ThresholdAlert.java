package io.pairstep.avail.alert;

import io.pairstep.avail.Metric;
import io.pairstep.avail.threshold.Direction;
import io.pairstep.avail.threshold.ThresholdRule;
import io.pairstep.avail.threshold.ThresholdTransition;
import java.util.Locale;
import java.util.Map;

/**
 * A threshold fired or cleared.
 *
 * @param subject what the metric was measured on: the node id, a data directory, or {@code service/partition}
 * @param transition {@link ThresholdTransition#FIRED} or {@link ThresholdTransition#CLEARED}
 * @param value the sample that completed the hold time
 */
public record ThresholdAlert(String id, long timeMillis, String nodeId, Metric metric, String subject,
        ThresholdTransition transition, double value, ThresholdRule rule) implements Alert {

    public ThresholdAlert {
        if (transition == ThresholdTransition.NONE) {
            throw new IllegalArgumentException("an alert is for a threshold that fired or cleared");
        }
    }

    @Override
    public String kind() {
        return "threshold." + transition.name().toLowerCase(Locale.ROOT);
    }

    /** The level this alert is about: the fire level when fired, the clear level when cleared. */
    public double level() {
        return transition == ThresholdTransition.FIRED ? rule.fireLevel() : rule.clearLevel();
    }

    @Override
    public String summary() {
        return String.format(Locale.ROOT, "[%s] %s %s on %s: %s %s %s for %d ms", nodeId, metric.metricName(),
                transition == ThresholdTransition.FIRED ? "fired" : "cleared", subject, number(value),
                relation(), number(level()), rule.holdMillis());
    }

    private String relation() {
        boolean above = rule.direction() == Direction.ABOVE;
        boolean fired = transition == ThresholdTransition.FIRED;
        return above == fired ? (fired ? ">=" : ">") : (fired ? "<=" : "<");
    }

    @Override
    public Map<String, Object> fields() {
        Map<String, Object> fields = Alert.commonFields(this);
        fields.put("metric", metric.metricName());
        fields.put("subject", subject);
        fields.put("value", value);
        fields.put("direction", rule.direction().configName());
        fields.put("fireLevel", rule.fireLevel());
        fields.put("clearLevel", rule.clearLevel());
        fields.put("holdMillis", rule.holdMillis());
        return fields;
    }

    /** A number as people write it: no trailing {@code .0} on whole numbers. */
    static String number(double value) {
        return value == Math.rint(value) && Math.abs(value) < 1e15 ? Long.toString((long) value) : Double.toString(value);
    }
}
