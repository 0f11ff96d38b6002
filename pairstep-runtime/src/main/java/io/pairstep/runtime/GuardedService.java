package io.pairstep.runtime;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a service's commands on a thread of their own, under a watchdog. The replica's agent
 * thread hands each command over and waits for it, at most {@code limitMillis}; a command still
 * running then is given up: {@link #apply} throws {@link WatchdogExpired}, which the protocol core
 * treats like any other {@link Error} from the service (the replica crashed).
 *
 * <p>Java cannot stop a thread stuck in an endless loop ({@code Thread.stop} is gone since JDK 20),
 * so the stuck thread is abandoned: it is renamed, lowered to the minimum priority and left to
 * spin. It keeps costing a share of a CPU core and whatever memory it holds until the node
 * restarts; the replica is rebuilt on a fresh service instance and thread, so nothing waits for
 * it. While a command runs, {@code whileWaiting} is called about every {@code waitSliceMillis}
 * with the time, so that a long command does not look like a dead replica to its partners.
 */
final class GuardedService implements Service {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedService.class);

    /** A command ran past the watchdog limit; its thread is abandoned. */
    static final class WatchdogExpired extends Error {
        private static final long serialVersionUID = 1L;

        WatchdogExpired(String message) {
            super(message, null, false, false);
        }
    }

    private final Service service;
    private final String threadName;
    private final long limitNanos;
    private final long waitSliceNanos;
    private final LongConsumer whileWaiting;
    /** Runs the commands under the watchdog; null when there is none. */
    private final ExecutorService executor;
    /** Fault injection ({@code fault slow}): how long to wait before each command. */
    private volatile long delayMillis;
    /** True while this replica only repeats commands its primary already ran under its own watchdog. */
    private volatile boolean inline;
    /** The new version in shadow mode, on a pair backup during an upgrade; null otherwise. Agent thread only. */
    private Shadow shadow;
    /** The thread that runs the commands, once started; read by the agent thread to abandon it. */
    private volatile Thread worker;
    private boolean abandoned;

    /** How often a replica whose service is busy with one command tells its partners it is alive. */
    static final long KEEP_ALIVE_MILLIS = 20;

    /**
     * The service of one hosted replica instance under a watchdog of {@code limitMillis}; with a
     * limit of 0 (no watchdog) it runs on the caller's thread.
     */
    static GuardedService guard(Service service, io.pairstep.core.GroupId group, io.pairstep.core.control.ReplicaAssignment identity,
            long limitMillis, LongConsumer keepAlive) {
        return new GuardedService(service, "pairstep-service-" + group.service() + "-" + group.partition() + "-e" + identity.sinceEpoch(),
                limitMillis, KEEP_ALIVE_MILLIS, keepAlive);
    }

    GuardedService(Service service, String threadName, long limitMillis, long waitSliceMillis, LongConsumer whileWaiting) {
        if (limitMillis < 0 || waitSliceMillis < 1) {
            throw new IllegalArgumentException("the watchdog limit must be 0 (none) or more, and the wait slice at least 1 ms");
        }
        this.service = service;
        this.threadName = threadName;
        this.limitNanos = TimeUnit.MILLISECONDS.toNanos(limitMillis);
        this.waitSliceNanos = TimeUnit.MILLISECONDS.toNanos(waitSliceMillis);
        this.whileWaiting = whileWaiting;
        this.executor = limitMillis == 0 ? null : Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, threadName);
            thread.setDaemon(true);
            worker = thread;
            return thread;
        });
    }

    @Override
    public byte[] apply(byte[] command, Context context) throws ApplicationException {
        if (abandoned) {
            throw new WatchdogExpired("the service's thread was abandoned by the watchdog; the replica must be rebuilt");
        }
        long delay = delayMillis;
        if (delay > 0) {
            sleep(delay);
        }
        if (shadow != null && inline) {
            return applyShadowed(command, context);
        }
        if (executor == null || inline) {
            return service.apply(command, context);
        }
        long started = System.nanoTime();
        Future<byte[]> result = executor.submit(() -> service.apply(command, context));
        while (true) {
            try {
                return result.get(waitSliceNanos, TimeUnit.NANOSECONDS);
            } catch (TimeoutException stillRunning) {
                long now = System.nanoTime();
                if (now - started >= limitNanos) {
                    abandon();
                    throw new WatchdogExpired("the command ran past the watchdog limit of " + TimeUnit.NANOSECONDS.toMillis(limitNanos)
                            + " ms; its thread " + threadName + " is abandoned");
                }
                whileWaiting.accept(now);
            } catch (ExecutionException failed) {
                throw rethrow(failed.getCause());
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the service ran a command", interrupted);
            }
        }
    }

    private byte[] applyShadowed(byte[] command, Context context) throws ApplicationException {
        byte[] output = null;
        ApplicationException refused = null;
        try {
            output = service.apply(command, context);
        } catch (ApplicationException e) {
            refused = e;
        }
        shadow.compare(command, context, output, refused);
        if (shadow.finished()) {
            shadow = null; // reported: the commands after it pay nothing for it
        }
        if (refused != null) {
            throw refused;
        }
        return output;
    }

    /**
     * From now on each command also runs on {@code shadow}, on the caller's thread. Only for a pair
     * backup, which runs its commands inline anyway (see {@link #runInline}).
     */
    void shadow(Shadow shadow) {
        this.shadow = shadow;
    }

    /**
     * Runs commands on the caller's thread ({@code true}) or under the watchdog. A pair backup
     * applies only commands its primary already ran to the end under its own watchdog, so it skips
     * the hand-off to the service thread and back, which cost a third of pair throughput. Should a
     * backup still hang on one (a non-deterministic service), it stops acknowledging, and its
     * primary drops it after its backup timeout and has it rebuilt.
     */
    void runInline(boolean inline) {
        this.inline = inline;
    }

    /** From now on each command waits {@code millis} before it runs, as on a slow machine; 0 clears it. */
    void delay(long millis) {
        if (millis < 0) {
            throw new IllegalArgumentException("a delay must be >= 0 ms, got " + millis);
        }
        delayMillis = millis;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static RuntimeException rethrow(Throwable cause) throws ApplicationException {
        switch (cause) {
            case ApplicationException refusal -> throw refusal;
            case RuntimeException failure -> throw failure;
            case Error crash -> throw crash;
            default -> throw new IllegalStateException("the service threw " + cause, cause);
        }
    }

    private void abandon() {
        abandoned = true;
        executor.shutdownNow();
        Thread stuck = worker;
        if (stuck != null) {
            // It cannot be stopped; it can be made to get in the way as little as possible.
            stuck.setName("pairstep-abandoned-" + threadName);
            stuck.setPriority(Thread.MIN_PRIORITY);
            LOG.error("abandoned the service thread {} after {} ms; it keeps running until the node restarts", stuck.getName(),
                    TimeUnit.NANOSECONDS.toMillis(limitNanos));
        }
    }

    /** Stops the thread when the replica goes away; an abandoned one stays as it is. */
    void close() {
        if (executor != null) {
            executor.shutdown();
        }
    }

    @Override
    public byte[] snapshot() {
        return service.snapshot();
    }

    @Override
    public void restore(byte[] snapshot) {
        service.restore(snapshot);
    }

    @Override
    public String describe(byte[] command) {
        return service.describe(command);
    }
}
