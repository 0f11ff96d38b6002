package io.pairstep.avail.threshold;

/** What one sample did to a {@link ThresholdMonitor}. */
public enum ThresholdTransition {
    /** Nothing to report. */
    NONE,
    /** The value has been beyond the fire level for the hold time: the alert starts. */
    FIRED,
    /** The value has been back past the clear level for the hold time: the alert ends. */
    CLEARED
}
