package io.pairstep.runtime.admin;

import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.FaultRecord;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts injected faults into the cluster-wide event log: each one goes to the controller as a {@link
 * ControlCommand.RecordFault}, and every node's event log then shows it as a {@code fault-injected}
 * event. The event log is derived from controller states on every node, so this is the one way a
 * fault carried out on one node appears on all of them.
 *
 * <p>A fault must never wait for, or fail because of, its record: a fault is most useful exactly
 * when the controller is busy electing a leader or has lost one. So {@link #record} only starts the
 * first attempt and returns; failed attempts are retried with back-off on a thread of this recorder
 * (at most {@link #ATTEMPTS_MAX} of them), and a retry after a submission that went through changes
 * nothing because the controller recognises the fault id. A refusal is final (the record is
 * invalid, or names a node the controller does not know): it is logged, not retried. At most
 * {@link #PENDING_MAX} records are in flight; more are dropped and logged, never queued without end.
 */
public final class FaultRecorder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FaultRecorder.class);

    /** Records waiting for the controller at once; a storm of faults beyond it loses records, not memory. */
    static final int PENDING_MAX = 100;
    /** Attempts per record: with the back-off below, about four minutes of trying. */
    static final int ATTEMPTS_MAX = 60;
    static final long BACKOFF_FIRST_MILLIS = 200;
    static final long BACKOFF_MAX_MILLIS = 5_000;
    /** Longer than the controller's own submit timeout, which ends every attempt first. */
    static final long ATTEMPT_TIMEOUT_MILLIS = 20_000;

    /** Records nothing: for an admin API without a controller (tests). */
    public static final FaultRecorder NONE = new FaultRecorder(null);

    private final Function<ControlCommand, CompletableFuture<ControlResult>> propose;
    private final ScheduledThreadPoolExecutor retries;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile boolean closed;

    /** @param propose submits a command to the controller; its future completes with the controller's answer */
    public FaultRecorder(Function<ControlCommand, CompletableFuture<ControlResult>> propose) {
        this.propose = propose;
        // The one thread starts with the first retry and ends when idle: a recorder that never
        // retries costs no thread.
        this.retries = new ScheduledThreadPoolExecutor(1, runnable -> Thread.ofPlatform().daemon().name("pairstep-fault-recorder")
                .unstarted(runnable));
        retries.setKeepAliveTime(30, TimeUnit.SECONDS);
        retries.allowCoreThreadTimeOut(true);
        retries.setRemoveOnCancelPolicy(true);
    }

    /**
     * Starts recording {@code fault} and returns at once. The future completes with true once the
     * controller took the record (or already had it), with false when it refused it, the recorder
     * gave up, or too many records were pending; it never completes exceptionally.
     */
    public CompletableFuture<Boolean> record(FaultRecord fault) {
        Objects.requireNonNull(fault, "fault");
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        if (propose == null || closed) {
            done.complete(false);
            return done;
        }
        if (pending.incrementAndGet() > PENDING_MAX) {
            pending.decrementAndGet();
            LOG.warn("fault {} ({} on {}) not recorded in the event log: {} records are waiting for the controller already",
                    fault.faultId(), fault.kind(), fault.node(), PENDING_MAX);
            done.complete(false);
            return done;
        }
        attempt(new ControlCommand.RecordFault(fault), 1, BACKOFF_FIRST_MILLIS, done);
        return done;
    }

    /**
     * Records {@code fault} and waits at most {@code waitMillis} for the controller to take it: for a
     * node about to kill itself, which has no later to retry in. True when it was taken in time.
     */
    public boolean recordAndWait(FaultRecord fault, long waitMillis) {
        return await(record(fault), waitMillis);
    }

    /** True when {@code recorded} completes with true within {@code waitMillis}. */
    static boolean await(CompletableFuture<Boolean> recorded, long waitMillis) {
        try {
            return recorded.get(waitMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** How many records wait for the controller; for tests. */
    int pending() {
        return pending.get();
    }

    private void attempt(ControlCommand.RecordFault command, int attempt, long backoffMillis, CompletableFuture<Boolean> done) {
        CompletableFuture<ControlResult> answer;
        try {
            answer = propose.apply(command);
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        answer.orTimeout(ATTEMPT_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS).whenComplete((result, error) -> {
            FaultRecord fault = command.fault();
            if (error == null && result.accepted()) {
                if (attempt > 1) {
                    LOG.info("fault {} recorded in the event log after {} attempts", fault.faultId(), attempt);
                }
                finish(done, true);
                return;
            }
            if (error == null) {
                LOG.warn("fault {} ({} on {}) not recorded in the event log: the controller refused it: {}", fault.faultId(),
                        fault.kind(), fault.node(), result.reason());
                finish(done, false);
                return;
            }
            if (closed || attempt >= ATTEMPTS_MAX) {
                LOG.warn("fault {} ({} on {}) not recorded in the event log after {} attempts: {}", fault.faultId(), fault.kind(),
                        fault.node(), attempt, error.toString());
                finish(done, false);
                return;
            }
            if (attempt == 1) {
                LOG.info("fault {} not recorded yet ({}); retrying with back-off up to {} ms", fault.faultId(), error.toString(),
                        BACKOFF_MAX_MILLIS);
            }
            try {
                retries.schedule(() -> attempt(command, attempt + 1, Math.min(BACKOFF_MAX_MILLIS, backoffMillis * 2), done),
                        backoffMillis, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException closing) {
                finish(done, false);
            }
        });
    }

    private void finish(CompletableFuture<Boolean> done, boolean recorded) {
        pending.decrementAndGet();
        done.complete(recorded);
    }

    /** Stops retrying; records still waiting are not recorded (they go with the node). */
    @Override
    public void close() {
        closed = true;
        retries.shutdownNow();
    }
}
