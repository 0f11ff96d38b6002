package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import io.pairstep.examples.Examples;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShadowTest {

    private final List<Shadow.Outcome> outcomes = new ArrayList<>();

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    /** kv, but every put answers something else: a new version that changed an answer. */
    private static Service skewedKv() {
        Service kv = Examples.create("kv");
        return new Service() {
            @Override
            public byte[] apply(byte[] command, Context context) throws ApplicationException {
                byte[] answer = kv.apply(command, context);
                return new String(command, StandardCharsets.UTF_8).contains("\"put\"") ? bytes("{\"ok\":\"yes\"}") : answer;
            }

            @Override
            public byte[] snapshot() {
                return kv.snapshot();
            }

            @Override
            public void restore(byte[] snapshot) {
                kv.restore(snapshot);
            }
        };
    }

    @Test
    void aShadowStartsFromTheBackupsStateAndReportsEachOutputThatDiffersAfterItsLimit() throws Exception {
        GuardedService backup = new GuardedService(Examples.create("kv"), "svc-shadow", 0, 20, null, now -> {}, reason -> {});
        backup.runsAsBackup(true);
        backup.apply(bytes("{\"op\":\"put\",\"key\":\"a\",\"value\":1}"), null);
        backup.shadow(new Shadow(skewedKv(), backup.snapshot(), 3, outcomes::add));

        // Reads the state it started from: same answer.
        assertThat(new String(backup.apply(bytes("{\"op\":\"get\",\"key\":\"a\"}"), null), StandardCharsets.UTF_8)).isEqualTo("{\"value\":1}");
        // The backup's own answer is what the caller gets, whatever the shadow says.
        assertThat(new String(backup.apply(bytes("{\"op\":\"put\",\"key\":\"b\",\"value\":2}"), null), StandardCharsets.UTF_8))
                .isEqualTo("{\"ok\":true}");
        assertThat(outcomes).isEmpty();
        backup.apply(bytes("{\"op\":\"get\",\"key\":\"b\"}"), null);
        assertThat(outcomes).hasSize(1);
        assertThat(outcomes.getFirst().compared()).isEqualTo(3);
        assertThat(outcomes.getFirst().differences()).singleElement().asString()
                .contains("command 2", "\"put\"", "the new version answered {\"ok\":\"yes\"}", "the current one {\"ok\":true}");
        backup.apply(bytes("{\"op\":\"put\",\"key\":\"c\",\"value\":3}"), null);
        assertThat(outcomes).as("reported once").hasSize(1);
    }

    @Test
    void aSnapshotInstalledUnderARunningShadowRestartsItFromThatStateAndACancelledShadowNeverReports() throws Exception {
        GuardedService follower = new GuardedService(Examples.create("kv"), "svc-shadow", 0, 20, null, now -> {}, reason -> {});
        follower.runsAsBackup(true);
        follower.shadow(new Shadow(Examples.create("kv"), follower.snapshot(), 2, outcomes::add));
        // Another member's state is installed (a lockstep member rebuilt by snapshot): were the shadow
        // not restarted from it, its get would answer null where the follower answers 7.
        Service source = Examples.create("kv");
        source.apply(bytes("{\"op\":\"put\",\"key\":\"a\",\"value\":7}"), null);
        follower.restore(source.snapshot());
        follower.apply(bytes("{\"op\":\"get\",\"key\":\"a\"}"), null);
        follower.apply(bytes("{\"op\":\"get\",\"key\":\"a\"}"), null);
        assertThat(outcomes).singleElement().satisfies(o -> {
            assertThat(o.compared()).isEqualTo(2);
            assertThat(o.differences()).isEmpty();
        });

        // A member that stops being a follower in sync gives its run up: nothing is reported.
        outcomes.clear();
        follower.shadow(new Shadow(skewedKv(), follower.snapshot(), 1, outcomes::add));
        follower.shadow(null);
        follower.apply(bytes("{\"op\":\"put\",\"key\":\"b\",\"value\":2}"), null);
        assertThat(outcomes).isEmpty();
    }

    @Test
    void aNewVersionThatCannotReadTheStateDiffersAtOnce() {
        Service unreadable = new Service() {
            @Override
            public byte[] apply(byte[] command, Context context) {
                return command;
            }

            @Override
            public byte[] snapshot() {
                return new byte[0];
            }

            @Override
            public void restore(byte[] snapshot) {
                throw new IllegalStateException("unknown format");
            }
        };
        new Shadow(unreadable, bytes("{}"), 100, outcomes::add);
        assertThat(outcomes).singleElement().satisfies(o -> {
            assertThat(o.compared()).isZero();
            assertThat(o.differences()).singleElement().asString().contains("cannot read the current state", "unknown format");
        });
    }
}
