package io.pairstep.avail.alert;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

/**
 * Runs a {@link Delivery} on a thread of its own behind a bounded queue, so {@link #offer} never
 * waits for the network, a mail server or a program. When the queue is full the newest alert is
 * dropped and reported: the node's hot path matters more than a backlog of alerts. Alerts are
 * delivered one at a time, in order; under a retrying {@link RetryPolicy} a failed alert is tried
 * again until it goes through, and the alerts behind it wait for it.
 *
 * <p>Problems go to the problem sink: the result of the start-up {@link Delivery#check()}, the first
 * failure of a run of failures and the recovery after it (not every retry), each alert given up,
 * and drops.
 */
public final class QueuedAction implements AlertAction {

    private static final long CLOSE_WAIT_MILLIS = 2_000;

    private final Delivery delivery;
    private final RetryPolicy retry;
    private final Consumer<String> problems;
    private final BlockingQueue<Alert> queue;
    private final AtomicBoolean dropping = new AtomicBoolean();
    private final Thread worker;
    private volatile boolean closed;
    private volatile Alert inFlight;

    /**
     * Starts the delivery thread.
     *
     * @param capacity how many alerts may wait; more are dropped
     */
    public QueuedAction(Delivery delivery, int capacity, RetryPolicy retry, Consumer<String> problems) {
        this.delivery = delivery;
        this.retry = retry;
        this.problems = problems;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.worker = Thread.ofPlatform().daemon().name("pairstep-alert " + delivery.describe()).start(this::run);
    }

    @Override
    public void offer(Alert alert) {
        if (closed) {
            return;
        }
        if (queue.offer(alert)) {
            dropping.set(false);
        } else if (dropping.compareAndSet(false, true)) {
            problems.accept(describe() + ": queue full (" + (queue.size() + queue.remainingCapacity())
                    + " alerts waiting), dropping new alerts, first " + alert.id());
        }
    }

    @Override
    public String describe() {
        return delivery.describe();
    }

    /** How many alerts wait for delivery, the one being tried included; for metrics and tests. */
    public int queued() {
        return queue.size() + (inFlight == null ? 0 : 1);
    }

    @Override
    public void close() {
        closed = true;
        worker.interrupt();
        try {
            worker.join(CLOSE_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        delivery.close();
        int undelivered = queued();
        if (undelivered > 0) {
            problems.accept(describe() + ": closed with " + undelivered + " alerts undelivered");
        }
    }

    private void run() {
        try {
            delivery.check();
        } catch (Exception e) {
            problems.accept(describe() + ": not reachable at start: " + reason(e) + " (alerts are kept and retried)");
        }
        try {
            while (!closed) {
                inFlight = queue.take();
                deliverWithRetry(inFlight);
                inFlight = null;
            }
        } catch (InterruptedException e) {
            // Closed: the undelivered alerts are reported by close().
        }
    }

    private void deliverWithRetry(Alert alert) throws InterruptedException {
        long backoffMillis = retry.initialBackoffMillis();
        int failures = 0;
        while (!closed) {
            try {
                delivery.deliver(alert);
                if (failures > 0) {
                    problems.accept(describe() + ": delivering again after " + failures + " failed attempts");
                }
                return;
            } catch (InterruptedException e) {
                throw e;
            } catch (Exception e) {
                failures++;
                if (!retry.retries()) {
                    problems.accept(describe() + ": alert " + alert.id() + " not delivered: " + reason(e));
                    return;
                }
                if (failures == 1) {
                    problems.accept(describe() + ": failing: " + reason(e) + "; retrying alert " + alert.id()
                            + " with back-off up to " + retry.maxBackoffMillis() + " ms");
                }
                Thread.sleep(backoffMillis);
                backoffMillis = retry.next(backoffMillis);
            }
        }
    }

    private static String reason(Throwable e) {
        String message = e.getMessage();
        Throwable cause = e.getCause();
        while ((message == null || message.isBlank()) && cause != null) {
            message = cause.getMessage();
            cause = cause.getCause();
        }
        return e.getClass().getSimpleName() + (message == null || message.isBlank() ? "" : ": " + message);
    }
}
