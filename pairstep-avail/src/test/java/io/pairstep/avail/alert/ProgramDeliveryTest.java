package io.pairstep.avail.alert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.avail.config.ActionConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProgramDeliveryTest {

    @TempDir
    Path dir;

    private final Alerts.Problems problems = new Alerts.Problems();

    @Test
    void runsTheProgramWithTheAlertInItsEnvironment() throws Exception {
        Path out = dir.resolve("env.txt");
        Path script = script("record-env", """
                env | grep '^PAIRSTEP_ALERT_' | sort > "$1.tmp"
                echo "args: $*" >> "$1.tmp"
                mv "$1.tmp" "$1"
                """);
        try (QueuedAction action = action(script, List.of(out.toString(), "--urgent"), 10_000)) {
            assertThat(Alerts.offerMillis(action, Alerts.nodeBroken("n1-3"))).isLessThan(200);
            await().until(() -> Files.exists(out));
        }

        assertThat(Files.readAllLines(out)).contains(
                "PAIRSTEP_ALERT_ID=n1-3",
                "PAIRSTEP_ALERT_KIND=component.broken",
                "PAIRSTEP_ALERT_NODE=n1",
                "PAIRSTEP_ALERT_COMPONENT_TYPE=node",
                "PAIRSTEP_ALERT_COMPONENT_ID=n2",
                "PAIRSTEP_ALERT_PREVIOUS_STATE=up",
                "PAIRSTEP_ALERT_STATE=broken",
                "PAIRSTEP_ALERT_REASON=connection closed; lease expired",
                "args: " + out + " --urgent");
        assertThat(problems.messages()).isEmpty();
    }

    @Test
    void killsAProgramAndItsChildrenAtTheTimeLimit() throws Exception {
        Path base = dir.resolve("sleeper");
        Path script = script("sleeper", """
                echo $$ > "$1.pid"
                sleep 60 &
                echo $! > "$1.child"
                wait
                touch "$1.finished"
                """);
        try (QueuedAction action = action(script, List.of(base.toString()), 500)) {
            assertThat(Alerts.offerMillis(action, Alerts.diskLow("n1-4"))).isLessThan(200);
            await().until(() -> !problems.messages().isEmpty());
        }

        assertThat(problems.messages()).containsExactly(
                "program " + script + ": alert n1-4 not delivered: IOException: killed after its time limit of 500 ms");
        long parent = Long.parseLong(Files.readString(Path.of(base + ".pid")).trim());
        long child = Long.parseLong(Files.readString(Path.of(base + ".child")).trim());
        await().until(() -> ProcessHandle.of(parent).map(p -> !p.isAlive()).orElse(true)
                && ProcessHandle.of(child).map(p -> !p.isAlive()).orElse(true));
        assertThat(Path.of(base + ".finished")).doesNotExist();
    }

    @Test
    void reportsAFailingExitStatus() throws Exception {
        Path script = script("fails", "exit 3\n");
        try (QueuedAction action = action(script, List.of(), 10_000)) {
            action.offer(Alerts.diskLow("n1-5"));
            await().until(() -> !problems.messages().isEmpty());
        }

        assertThat(problems.messages()).containsExactly(
                "program " + script + ": alert n1-5 not delivered: IOException: exited with status 3");
    }

    private QueuedAction action(Path script, List<String> args, long timeoutMillis) {
        return new QueuedAction(new ProgramDelivery(new ActionConfig.Program(script, args, timeoutMillis)), 10,
                RetryPolicy.NONE, problems);
    }

    private Path script(String name, String body) throws Exception {
        Path file = dir.resolve(name + ".sh");
        Files.writeString(file, "#!/bin/sh\n" + body);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
        return file;
    }
}
