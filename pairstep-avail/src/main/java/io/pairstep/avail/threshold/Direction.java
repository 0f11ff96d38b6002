package io.pairstep.avail.threshold;

/**
 * Which side of the fire level is bad: {@link #ABOVE} for a load (CPU, latency, queue depth),
 * {@link #BELOW} for a reserve (free disk space, throughput).
 */
public enum Direction {
    ABOVE,
    BELOW;

    /** The value has reached the fire level on the bad side. */
    boolean beyondFire(double value, double fireLevel) {
        return this == ABOVE ? value >= fireLevel : value <= fireLevel;
    }

    /** The value is back on the good side of the clear level. */
    boolean pastClear(double value, double clearLevel) {
        return this == ABOVE ? value < clearLevel : value > clearLevel;
    }

    /** The name used in configuration files and alerts. */
    public String configName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
