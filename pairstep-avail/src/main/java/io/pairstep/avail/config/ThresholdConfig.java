package io.pairstep.avail.config;

import io.pairstep.avail.Metric;
import io.pairstep.avail.threshold.ThresholdRule;

/**
 * One {@code thresholds:} entry: a rule applied to a metric, for every subject of that metric or
 * for some.
 *
 * @param metric what is watched
 * @param subject the only subject watched (a data directory for a node metric), or {@code null}
 * @param service for a partition metric, the only service watched, or {@code null} for every service
 * @param partition for a partition metric, the only partition number watched, or {@code null} for every one
 * @param rule levels, direction and hold time
 */
public record ThresholdConfig(Metric metric, String subject, String service, Integer partition, ThresholdRule rule) {

    /** An entry with no service or partition selector. */
    public ThresholdConfig(Metric metric, String subject, ThresholdRule rule) {
        this(metric, subject, null, null, rule);
    }

    /**
     * Whether samples of this metric for this subject are watched by this entry. A partition
     * metric's subject is {@code service/partition}.
     */
    public boolean watches(Metric sampled, String sampledSubject) {
        if (metric != sampled) {
            return false;
        }
        if (subject != null) {
            return subject.equals(sampledSubject);
        }
        if (service == null && partition == null) {
            return true;
        }
        int slash = sampledSubject.lastIndexOf('/');
        return slash > 0
                && (service == null || service.equals(sampledSubject.substring(0, slash)))
                && (partition == null || partition.toString().equals(sampledSubject.substring(slash + 1)));
    }
}
