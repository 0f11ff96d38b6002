package io.pairstep.avail.config;

import io.pairstep.avail.Metric;
import io.pairstep.avail.threshold.ThresholdRule;

/**
 * One {@code thresholds:} entry: a rule applied to a metric, for every subject of that metric or
 * for one.
 *
 * @param metric what is watched
 * @param subject the only subject watched (a data directory, or {@code service/partition}), or
 *     {@code null} for every subject the metric is reported for
 * @param rule levels, direction and hold time
 */
public record ThresholdConfig(Metric metric, String subject, ThresholdRule rule) {

    /** Whether samples of this metric for this subject are watched by this entry. */
    public boolean watches(Metric sampled, String sampledSubject) {
        return metric == sampled && (subject == null || subject.equals(sampledSubject));
    }
}
