package io.pairstep.avail.alert;

/**
 * Somewhere alerts go. {@link #offer} is called on the node's own threads, so it never blocks and
 * never throws: an action that does I/O queues the alert and delivers it on a thread of its own
 * ({@link QueuedAction}), and reports failures to the problem sink it was built with.
 */
public interface AlertAction extends AutoCloseable {

    /** Hands over an alert without waiting for its delivery. */
    void offer(Alert alert);

    /** What this action is, for problem reports, e.g. {@code webhook http://ops/alerts}. */
    String describe();

    /** Stops delivering; alerts still queued are reported as undelivered. */
    @Override
    void close();
}
