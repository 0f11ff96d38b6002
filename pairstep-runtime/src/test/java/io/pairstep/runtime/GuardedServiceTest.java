package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GuardedServiceTest {

    /** Lets the test release the thread that "loops forever", so that it does not outlive the test. */
    private final AtomicBoolean release = new AtomicBoolean();
    private final AtomicReference<Thread> spinner = new AtomicReference<>();

    private final Service service = new Service() {
        @Override
        public byte[] apply(byte[] command, Context context) throws ApplicationException {
            switch (new String(command, StandardCharsets.UTF_8)) {
                case "overflow" -> {
                    return apply(command, context);
                }
                case "refuse" -> throw new ApplicationException("refused");
                case "bug" -> throw new IllegalStateException("bug");
                case "spin" -> {
                    spinner.set(Thread.currentThread());
                    while (!release.get()) {
                        Thread.onSpinWait(); // ignores interrupts, as an endless loop does
                    }
                    return new byte[0];
                }
                default -> {
                    return ("ran on " + Thread.currentThread().getName()).getBytes(StandardCharsets.UTF_8);
                }
            }
        }

        @Override
        public byte[] snapshot() {
            return new byte[0];
        }

        @Override
        public void restore(byte[] snapshot) {}
    };

    @AfterEach
    void releaseTheSpinner() {
        release.set(true);
    }

    @Test
    void commandsRunOnTheServiceThreadAndFailuresReachTheCallerAsTheyWere() throws Exception {
        GuardedService guarded = new GuardedService(service, "svc-test", 2000, 20, now -> {});
        assertThat(new String(guarded.apply("hello".getBytes(StandardCharsets.UTF_8), null), StandardCharsets.UTF_8))
                .isEqualTo("ran on svc-test");
        assertThatThrownBy(() -> guarded.apply("refuse".getBytes(StandardCharsets.UTF_8), null)).isInstanceOf(ApplicationException.class)
                .hasMessage("refused");
        assertThatThrownBy(() -> guarded.apply("bug".getBytes(StandardCharsets.UTF_8), null)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> guarded.apply("overflow".getBytes(StandardCharsets.UTF_8), null)).isInstanceOf(StackOverflowError.class);
        // A stack overflow unwinds its thread, which serves the next command.
        assertThat(guarded.apply("again".getBytes(StandardCharsets.UTF_8), null)).isNotEmpty();
        guarded.close();
    }

    @Test
    void aBackupRunsCommandsOnItsOwnThreadAndAPromotedOneUnderTheWatchdogAgain() throws Exception {
        GuardedService guarded = new GuardedService(service, "svc-backup", 2000, 20, now -> {});
        String caller = Thread.currentThread().getName();
        guarded.runInline(true);
        assertThat(new String(guarded.apply("hello".getBytes(StandardCharsets.UTF_8), null), StandardCharsets.UTF_8)).isEqualTo("ran on " + caller);
        assertThatThrownBy(() -> guarded.apply("overflow".getBytes(StandardCharsets.UTF_8), null)).isInstanceOf(StackOverflowError.class);
        guarded.runInline(false);
        assertThat(new String(guarded.apply("hello".getBytes(StandardCharsets.UTF_8), null), StandardCharsets.UTF_8)).isEqualTo("ran on svc-backup");
        guarded.close();
    }

    @Test
    void aCommandPastTheLimitIsGivenUpItsThreadAbandonedAndTheCallerKeptAliveMeanwhile() {
        AtomicInteger keepAlives = new AtomicInteger();
        GuardedService guarded = new GuardedService(service, "svc-spin", 300, 20, now -> keepAlives.incrementAndGet());
        assertThatThrownBy(() -> guarded.apply("spin".getBytes(StandardCharsets.UTF_8), null))
                .isInstanceOf(GuardedService.WatchdogExpired.class)
                .hasMessageContaining("watchdog limit of 300 ms");
        assertThat(keepAlives.get()).as("the waiting caller kept its partners informed").isGreaterThan(1);
        Thread stuck = spinner.get();
        assertThat(stuck.isAlive()).isTrue();
        assertThat(stuck.getName()).startsWith("pairstep-abandoned-");
        assertThat(stuck.getPriority()).isEqualTo(Thread.MIN_PRIORITY);
        assertThatThrownBy(() -> guarded.apply("hello".getBytes(StandardCharsets.UTF_8), null))
                .as("an abandoned service runs nothing more").isInstanceOf(GuardedService.WatchdogExpired.class);
    }
}
