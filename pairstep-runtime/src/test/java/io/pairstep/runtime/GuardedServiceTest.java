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

    private final ServiceWatchdog watchdog = new ServiceWatchdog("watchdog-test");

    @AfterEach
    void releaseTheSpinner() {
        release.set(true);
        watchdog.close();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void commandsRunOnTheCallersThreadAndFailuresReachItAsTheyWere() throws Exception {
        GuardedService guarded = new GuardedService(service, "svc-test", 2000, 20, watchdog, now -> {}, reason -> {});
        assertThat(watchdog.size()).isEqualTo(1);
        assertThat(new String(guarded.apply(bytes("hello"), null), StandardCharsets.UTF_8))
                .isEqualTo("ran on " + Thread.currentThread().getName());
        assertThatThrownBy(() -> guarded.apply(bytes("refuse"), null)).isInstanceOf(ApplicationException.class).hasMessage("refused");
        assertThatThrownBy(() -> guarded.apply(bytes("bug"), null)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> guarded.apply(bytes("overflow"), null)).isInstanceOf(StackOverflowError.class);
        // None of these counted against the watchdog: the next command runs as before.
        assertThat(guarded.apply(bytes("again"), null)).isNotEmpty();
        assertThat(guarded.abandoned()).isFalse();
        guarded.close();
        assertThat(watchdog.size()).as("a closed service is no longer watched").isZero();
    }

    @Test
    void aCommandPastTheLimitIsGivenUpItsThreadAbandonedAndItsPartnersKeptInformedMeanwhile() throws Exception {
        AtomicInteger keepAlives = new AtomicInteger();
        AtomicReference<String> expired = new AtomicReference<>();
        AtomicReference<Thread> expiredOn = new AtomicReference<>();
        GuardedService guarded = new GuardedService(service, "svc-spin", 300, 20, watchdog, now -> keepAlives.incrementAndGet(), reason -> {
            expiredOn.set(Thread.currentThread());
            expired.set(reason);
        });
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                guarded.apply(bytes("spin"), null);
            } catch (Throwable t) {
                outcome.set(t);
            }
        }, "agent-under-test");
        caller.start();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while ((expired.get() == null || watchdog.size() > 0) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(expired.get()).as("the watchdog reported the command").contains("watchdog limit of 300 ms");
        assertThat(expiredOn.get()).as("on its own thread, not the stuck one").isNotSameAs(caller);
        assertThat(keepAlives.get()).as("the partners were told the replica is alive while the command ran").isGreaterThan(3);
        assertThat(guarded.abandoned()).isTrue();
        assertThat(caller.isAlive()).as("a thread in an endless loop cannot be stopped").isTrue();
        assertThat(caller.getName()).isEqualTo("pairstep-abandoned-agent-under-test");
        assertThat(caller.getPriority()).isEqualTo(Thread.MIN_PRIORITY);
        assertThat(watchdog.size()).as("an abandoned service is no longer watched").isZero();
        // Should the command end after all, it does not return a result as if nothing happened.
        release.set(true);
        caller.join(5000);
        assertThat(outcome.get()).isInstanceOf(GuardedService.WatchdogExpired.class);
        assertThatThrownBy(() -> guarded.apply(bytes("hello"), null))
                .as("an abandoned service runs nothing more").isInstanceOf(GuardedService.WatchdogExpired.class);
    }

    @Test
    void aLongCommandWithinTheLimitEndsNormallyAndOnlyKeepsItsPartnersInformed() throws Exception {
        AtomicInteger keepAlives = new AtomicInteger();
        AtomicReference<String> expired = new AtomicReference<>();
        GuardedService guarded = new GuardedService(service, "svc-long", 5000, 20, watchdog, now -> keepAlives.incrementAndGet(), expired::set);
        Thread releaser = new Thread(() -> {
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            release.set(true);
        });
        releaser.start();
        assertThat(guarded.apply(bytes("spin"), null)).isEmpty();
        assertThat(keepAlives.get()).isGreaterThan(3);
        assertThat(expired.get()).isNull();
        assertThat(guarded.abandoned()).isFalse();
        assertThat(new String(guarded.apply(bytes("hello"), null), StandardCharsets.UTF_8)).startsWith("ran on ");
    }

    @Test
    void withoutALimitNothingWatchesTheService() throws Exception {
        GuardedService guarded = new GuardedService(service, "svc-free", 0, 20, watchdog, now -> {}, reason -> {});
        assertThat(watchdog.size()).isZero();
        assertThat(guarded.apply(bytes("hello"), null)).isNotEmpty();
    }
}
