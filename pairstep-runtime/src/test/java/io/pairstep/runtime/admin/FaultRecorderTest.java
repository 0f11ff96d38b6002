package io.pairstep.runtime.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.FaultRecord;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The recorder that puts injected faults into the controller: retries, refusals, bounds. */
class FaultRecorderTest {

    private final ControllerState state = new ControllerState();
    private final List<FaultRecorder> recorders = new CopyOnWriteArrayList<>();

    FaultRecorderTest() {
        state.apply(new ControlCommand.Bootstrap("s"));
        state.apply(new ControlCommand.RegisterNode("n1", "h", "r", 1, 1));
    }

    @AfterEach
    void close() {
        recorders.forEach(FaultRecorder::close);
    }

    private FaultRecorder recorder(java.util.function.Function<ControlCommand, CompletableFuture<ControlResult>> propose) {
        FaultRecorder recorder = new FaultRecorder(propose);
        recorders.add(recorder);
        return recorder;
    }

    private CompletableFuture<ControlResult> apply(ControlCommand command) {
        synchronized (state) {
            return CompletableFuture.completedFuture(state.apply(command));
        }
    }

    private static FaultRecord pause(String id, String node) {
        return FaultRecord.ofNode(id, FaultRecord.PAUSE_NODE, node, "SIGSTOP", "n1", 1);
    }

    @Test
    void aRecordTheControllerCannotTakeYetIsRetriedUntilItIsTakenOnce() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        // The first two attempts fail as a submit fails while the controller elects a leader; the
        // second of them even went through before it failed, so the third is a retry of a kept record.
        FaultRecorder recorder = recorder(command -> {
            int attempt = attempts.incrementAndGet();
            if (attempt == 2) {
                apply(command);
            }
            return attempt <= 2 ? CompletableFuture.failedFuture(new IllegalStateException("no leader")) : apply(command);
        });

        CompletableFuture<Boolean> recorded = recorder.record(pause("f1", "n1"));

        assertThat(recorded.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(attempts.get()).isEqualTo(3);
        assertThat(state.faults()).singleElement().extracting(FaultRecord::faultId).isEqualTo("f1");
        assertThat(recorder.pending()).isZero();
    }

    @Test
    void aRefusedRecordIsNotRetried() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        FaultRecorder recorder = recorder(command -> {
            attempts.incrementAndGet();
            return apply(command);
        });

        assertThat(recorder.record(pause("f1", "n9")).get(5, TimeUnit.SECONDS)).isFalse();
        Thread.sleep(3 * FaultRecorder.BACKOFF_FIRST_MILLIS);
        assertThat(attempts.get()).isEqualTo(1);
        assertThat(state.faults()).isEmpty();
        assertThat(recorder.pending()).isZero();
    }

    @Test
    void recordingNeverWaitsAndAtMostPendingMaxWaitAtOnce() throws Exception {
        // A controller that never answers: every record stays pending.
        FaultRecorder recorder = recorder(command -> new CompletableFuture<>());
        long start = System.nanoTime();
        for (int i = 0; i < FaultRecorder.PENDING_MAX; i++) {
            assertThat(recorder.record(pause("f" + i, "n1"))).isNotDone();
        }
        CompletableFuture<Boolean> dropped = recorder.record(pause("one-too-many", "n1"));

        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(dropped).isCompletedWithValue(false);
        assertThat(recorder.pending()).isEqualTo(FaultRecorder.PENDING_MAX);
    }

    @Test
    void recordAndWaitGivesUpWaitingAfterItsLimit() {
        FaultRecorder silent = recorder(command -> new CompletableFuture<>());
        long start = System.nanoTime();
        assertThat(silent.recordAndWait(pause("f1", "n1"), 300)).isFalse();
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isBetween(Duration.ofMillis(300), Duration.ofSeconds(3));

        assertThat(recorder(this::apply).recordAndWait(pause("f2", "n1"), 300)).isTrue();
        assertThat(FaultRecorder.NONE.recordAndWait(pause("f3", "n1"), 300)).isFalse();
        assertThat(state.faults()).extracting(FaultRecord::faultId).containsExactly("f2");
    }

    @Test
    void aProposeThatThrowsIsRetriedLikeAFailedOne() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        FaultRecorder recorder = recorder(command -> {
            if (attempts.incrementAndGet() == 1) {
                throw new IllegalStateException("closing");
            }
            return apply(command);
        });
        assertThat(recorder.record(pause("f1", "n1")).get(5, TimeUnit.SECONDS)).isTrue();
        assertThat(attempts.get()).isEqualTo(2);
    }
}
