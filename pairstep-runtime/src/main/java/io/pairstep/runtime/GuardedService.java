package io.pairstep.runtime;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a service's commands under a watchdog. The command runs on the caller's thread (the
 * replica's agent thread): handing each command to a thread of its own and back cost two thread
 * switches per command, a third of pair throughput. Instead the {@link ServiceWatchdog} of the node
 * looks at every guarded service every few milliseconds. While a command runs longer than
 * {@code waitSliceMillis}, it calls {@code whileWaiting} with the time about that often, so that a
 * long command does not look like a dead replica to its partners; once a command has run
 * {@code limitMillis}, the watchdog gives the service up: it calls {@code onExpired} with the
 * reason (the agent reports its replica crashed, with the command as poison when it is one), and
 * the thread stuck in the command is abandoned.
 *
 * <p>Java cannot stop a thread stuck in an endless loop ({@code Thread.stop} is gone since JDK 20),
 * so the stuck thread is renamed, lowered to the minimum priority and left to spin. It keeps costing
 * a share of a CPU core and whatever memory it holds until the node restarts; the replica is rebuilt
 * on a fresh service instance and thread, so nothing waits for it. Should the command end after all,
 * {@link #apply} throws {@link WatchdogExpired} instead of returning, and an abandoned service runs
 * nothing more.
 *
 * <p>The watchdog calls {@code whileWaiting} and {@code onExpired} from its own thread while the
 * caller's thread is inside the service, and only after claiming the command: the caller cannot
 * return from {@link #apply} until the watchdog is done. So both may read, and {@code whileWaiting}
 * may change, what the caller's thread owns (the protocol core), as if they ran on that thread.
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

    /** No command runs. */
    private static final int IDLE = 0;
    /** A command runs, since {@link #startedNanos}. */
    private static final int RUNNING = 1;
    /** The watchdog looks at the running command; the caller waits for it before it returns. */
    private static final int CHECKING = 2;
    /** The watchdog gave the service up. Final. */
    private static final int ABANDONED = 3;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(GuardedService.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Service service;
    /** Which replica's service this is, for messages. */
    private final String label;
    private final long limitNanos;
    private final long waitSliceNanos;
    private final LongConsumer whileWaiting;
    private final Consumer<String> onExpired;
    private final ServiceWatchdog watchdog;
    @SuppressWarnings("unused") // through STATE
    private volatile int state = IDLE;
    /**
     * When the running command started, and the thread running it. Plain fields: written before
     * {@link #state} turns RUNNING (a volatile write that publishes them), read by the watchdog after
     * it read RUNNING; stable while it holds the claim. Two fewer fences per command.
     */
    private long startedNanos;
    private Thread runner;
    /** When the watchdog last called {@code whileWaiting}; watchdog thread only. */
    private long lastKeepAliveNanos;
    /** Fault injection ({@code fault slow}): how long to wait before each command. */
    private volatile long delayMillis;
    /** True while this replica is a pair backup or a lockstep follower in sync, the only places a shadow runs. */
    private volatile boolean inline;
    /** The new version in shadow mode, on a pair backup or lockstep follower during an upgrade; null otherwise. Agent thread only. */
    private Shadow shadow;

    /** How often a replica whose service is busy with one command tells its partners it is alive. */
    static final long KEEP_ALIVE_MILLIS = 20;

    /**
     * The service of one hosted replica instance under the node's watchdog with a limit of
     * {@code limitMillis}; with a limit of 0 (or no watchdog) nothing watches it.
     */
    static GuardedService guard(Service service, io.pairstep.core.GroupId group, io.pairstep.core.control.ReplicaAssignment identity,
            long limitMillis, ServiceWatchdog watchdog, LongConsumer keepAlive, Consumer<String> onExpired) {
        return new GuardedService(service, group + " (the replica placed in epoch " + identity.sinceEpoch() + ")",
                limitMillis, KEEP_ALIVE_MILLIS, watchdog, keepAlive, onExpired);
    }

    GuardedService(Service service, String label, long limitMillis, long waitSliceMillis, ServiceWatchdog watchdog,
            LongConsumer whileWaiting, Consumer<String> onExpired) {
        if (limitMillis < 0 || waitSliceMillis < 1) {
            throw new IllegalArgumentException("the watchdog limit must be 0 (none) or more, and the wait slice at least 1 ms");
        }
        this.service = service;
        this.label = label;
        this.limitNanos = TimeUnit.MILLISECONDS.toNanos(limitMillis);
        this.waitSliceNanos = TimeUnit.MILLISECONDS.toNanos(waitSliceMillis);
        this.whileWaiting = whileWaiting;
        this.onExpired = onExpired;
        this.watchdog = limitMillis == 0 ? null : watchdog;
        if (this.watchdog != null) {
            this.watchdog.watch(this);
        }
    }

    @Override
    public byte[] apply(byte[] command, Context context) throws ApplicationException {
        if ((int) STATE.getVolatile(this) == ABANDONED) {
            throw expired();
        }
        long delay = delayMillis;
        if (delay > 0) {
            sleep(delay);
        }
        if (watchdog == null) {
            return shadow != null && inline ? applyShadowed(command, context) : service.apply(command, context);
        }
        runner = Thread.currentThread();
        startedNanos = System.nanoTime();
        STATE.setVolatile(this, RUNNING);
        try {
            return shadow != null && inline ? applyShadowed(command, context) : service.apply(command, context);
        } finally {
            finish();
        }
    }

    /** The command returned (or threw): unless the watchdog gave it up meanwhile, the service is idle again. */
    private void finish() {
        while (!STATE.compareAndSet(this, RUNNING, IDLE)) {
            if ((int) STATE.getVolatile(this) == ABANDONED) {
                throw expired();
            }
            Thread.onSpinWait(); // the watchdog is looking at this command; it takes microseconds
        }
    }

    private WatchdogExpired expired() {
        return new WatchdogExpired("the command ran past the watchdog limit of " + TimeUnit.NANOSECONDS.toMillis(limitNanos)
                + " ms in " + label + "; its thread is abandoned");
    }

    /**
     * Called by the watchdog's thread every few milliseconds: keeps a long command's partners
     * informed, and gives up a command that ran past the limit. Returns true once the service is
     * abandoned (the watchdog then forgets it).
     */
    boolean check(long nowNanos) {
        int current = (int) STATE.getVolatile(this);
        if (current == ABANDONED) {
            return true;
        }
        if (current != RUNNING || nowNanos - startedNanos < waitSliceNanos) {
            return false;
        }
        if (!STATE.compareAndSet(this, RUNNING, CHECKING)) {
            return false; // it just ended
        }
        // Claimed: the caller cannot return until this method lets go, and the fields it wrote
        // before RUNNING (and its protocol core) hold still.
        long started = startedNanos;
        if (nowNanos - started >= limitNanos) {
            String reason = expired().toString();
            try {
                onExpired.accept(reason);
            } catch (RuntimeException | Error e) {
                LOG.error("{}: reporting the expired watchdog failed: {}", label, e.toString(), e);
            }
            Thread stuck = runner;
            STATE.setVolatile(this, ABANDONED);
            if (stuck != null) {
                // It cannot be stopped; it can be made to get in the way as little as possible.
                String name = stuck.getName();
                stuck.setName("pairstep-abandoned-" + name);
                stuck.setPriority(Thread.MIN_PRIORITY);
                LOG.error("abandoned the thread {} after {} ms in one command of {}; it keeps running until the node restarts", name,
                        TimeUnit.NANOSECONDS.toMillis(limitNanos), label);
            }
            return true;
        }
        try {
            if (nowNanos - Math.max(started, lastKeepAliveNanos) >= waitSliceNanos) {
                lastKeepAliveNanos = nowNanos;
                whileWaiting.accept(nowNanos);
            }
        } catch (RuntimeException | Error e) {
            LOG.warn("{}: keep-alive during a long command failed: {}", label, e.toString());
        } finally {
            STATE.setVolatile(this, RUNNING);
        }
        return false;
    }

    /** True once the watchdog gave this service up. */
    boolean abandoned() {
        return (int) STATE.getVolatile(this) == ABANDONED;
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
     * From now on each command also runs on {@code shadow}, on the caller's thread, while this is a
     * pair backup or lockstep follower in sync (see {@link #runsAsBackup}); null ends a shadow run
     * without a report.
     */
    void shadow(Shadow shadow) {
        this.shadow = shadow;
    }

    /** Whether this replica is a pair backup (or lockstep follower in sync) now: only there does a shadow run (see {@link #shadow}). */
    void runsAsBackup(boolean inline) {
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

    /** Stops watching when the replica goes away. */
    void close() {
        if (watchdog != null) {
            watchdog.forget(this);
        }
    }

    @Override
    public byte[] snapshot() {
        return service.snapshot();
    }

    @Override
    public void restore(byte[] snapshot) {
        service.restore(snapshot);
        if (shadow != null) {
            // The replica's state was replaced (a snapshot installed): the shadow starts over from
            // it too, or it would compare outputs computed from another state.
            shadow.restart(snapshot);
            if (shadow.finished()) {
                shadow = null;
            }
        }
    }

    @Override
    public String describe(byte[] command) {
        return service.describe(command);
    }
}
