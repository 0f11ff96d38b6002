package io.pairstep.avail.threshold;

/**
 * Watches one series of samples against a {@link ThresholdRule}. Pure: time comes with each sample,
 * so the monitor reads no clock and starts no thread, and tests can drive it with any timeline.
 *
 * <p>A monitor is either normal or firing. While normal, it remembers since when the value has been
 * beyond the fire level without interruption, and fires once that run lasts the hold time. While
 * firing, it does the same with the clear level. A single sample on the other side ends a run, so
 * noise that crosses a level now and then restarts the wait instead of producing an alert. Between
 * samples the value is taken to have stayed where the last sample put it.
 *
 * <p>Not thread-safe: one caller feeds it.
 */
public final class ThresholdMonitor {

    private static final long NO_RUN = Long.MIN_VALUE;

    private final ThresholdRule rule;
    private boolean firing;
    private long runStartMillis = NO_RUN;
    private long lastSampleMillis = Long.MIN_VALUE;

    public ThresholdMonitor(ThresholdRule rule) {
        this.rule = rule;
    }

    /** Whether the alert is currently on (fired and not yet cleared). */
    public boolean firing() {
        return firing;
    }

    /**
     * Takes one sample and says whether the alert fired or cleared with it.
     *
     * @param timeMillis when the value was measured; never earlier than the previous sample's
     * @param value the measured value; NaN (no measurement) ends the current run and changes nothing
     * @throws IllegalArgumentException if time went backwards
     */
    public ThresholdTransition sample(long timeMillis, double value) {
        if (timeMillis < lastSampleMillis) {
            throw new IllegalArgumentException(
                    "sample at " + timeMillis + " ms is older than the previous one at " + lastSampleMillis + " ms");
        }
        lastSampleMillis = timeMillis;
        boolean moving = !Double.isNaN(value) && (firing
                ? rule.direction().pastClear(value, rule.clearLevel())
                : rule.direction().beyondFire(value, rule.fireLevel()));
        if (!moving) {
            runStartMillis = NO_RUN;
            return ThresholdTransition.NONE;
        }
        if (runStartMillis == NO_RUN) {
            runStartMillis = timeMillis;
        }
        if (timeMillis - runStartMillis < rule.holdMillis()) {
            return ThresholdTransition.NONE;
        }
        runStartMillis = NO_RUN;
        firing = !firing;
        return firing ? ThresholdTransition.FIRED : ThresholdTransition.CLEARED;
    }
}
