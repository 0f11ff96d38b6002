package io.pairstep.avail.alert;

/**
 * What a {@link QueuedAction} does when a delivery fails: give up on that alert ({@link #NONE}), or
 * try it again after a back-off that doubles from {@code initialBackoffMillis} up to {@code
 * maxBackoffMillis}, for as long as it takes. Alerts behind it wait, so they arrive in order once
 * the receiver is back.
 */
public record RetryPolicy(boolean retries, long initialBackoffMillis, long maxBackoffMillis) {

    /** Every alert is tried once. */
    public static final RetryPolicy NONE = new RetryPolicy(false, 0, 0);

    /** The back-off of the node's webhooks and e-mail: from 250 ms up to 30 s. */
    public static final RetryPolicy DEFAULT_BACKOFF = backoff(250, 30_000);

    public RetryPolicy {
        if (retries && (initialBackoffMillis <= 0 || maxBackoffMillis < initialBackoffMillis)) {
            throw new IllegalArgumentException("back-off must be positive and its maximum not below its start");
        }
    }

    public static RetryPolicy backoff(long initialBackoffMillis, long maxBackoffMillis) {
        return new RetryPolicy(true, initialBackoffMillis, maxBackoffMillis);
    }

    /** The wait after {@code backoffMillis}. */
    long next(long backoffMillis) {
        return Math.min(maxBackoffMillis, backoffMillis * 2);
    }
}
