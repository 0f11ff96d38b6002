package io.pairstep.avail.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.avail.Metric;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reloader looks only when ticked. Each write sets the modification time explicitly, so the
 * test does not depend on the file system's timestamp resolution.
 */
class ConfigReloaderTest {

    @TempDir
    Path dir;

    private final List<String> problems = new ArrayList<>();
    private long modifiedMillis = 1_000_000;

    @Test
    void takesAGoodFileAndKeepsTheLastGoodOneWhenTheNextIsBad() throws Exception {
        Path file = dir.resolve("availability.yaml");
        write(file, "thresholds: [{metric: node.cpu, fire: 0.9, duration: 1s}]");
        ConfigReloader reloader = new ConfigReloader(file, problems::add);

        assertThat(reloader.tick()).isTrue();
        assertThat(reloader.current().thresholds()).extracting(ThresholdConfig::metric).containsExactly(Metric.NODE_CPU);
        assertThat(reloader.tick()).as("unchanged").isFalse();

        write(file, "thresholds: [{metric: node.cpux, fire: 0.9, duration: 1s}]");
        assertThat(reloader.tick()).isFalse();
        assertThat(reloader.current().thresholds()).extracting(ThresholdConfig::metric).containsExactly(Metric.NODE_CPU);
        assertThat(problems).singleElement().asString()
                .startsWith(file + ": thresholds[0].metric: unknown metric \"node.cpux\"")
                .endsWith("(keeping the last good configuration)");
        assertThat(reloader.tick()).isFalse();
        assertThat(problems).as("reported once, not at every tick").hasSize(1);

        write(file, "thresholds: [{metric: node.open.files, fire: 900, duration: 1s}]");
        assertThat(reloader.tick()).isTrue();
        assertThat(reloader.current().thresholds()).extracting(ThresholdConfig::metric).containsExactly(Metric.NODE_OPEN_FILES);
    }

    @Test
    void startsEmptyWhenTheFirstFileIsBadAndTakesItOnceFixed() throws Exception {
        Path file = dir.resolve("availability.yaml");
        write(file, "thresholds: [{metric: node.cpu, fire: abc, duration: 1s}]");
        ConfigReloader reloader = new ConfigReloader(file, problems::add);

        assertThat(reloader.tick()).isFalse();
        assertThat(reloader.current()).isEqualTo(AvailabilityConfig.EMPTY);
        assertThat(problems).singleElement().asString().contains("thresholds[0].fire: not a number: \"abc\"")
                .endsWith("(keeping the empty configuration)");

        write(file, "thresholds: [{metric: node.cpu, fire: 0.5, duration: 1s}]");
        assertThat(reloader.tick()).isTrue();
        assertThat(reloader.current().thresholds()).hasSize(1);
    }

    @Test
    void aRemovedFileMeansNoThresholdsAndAReturningOneIsRead() throws Exception {
        Path file = dir.resolve("availability.yaml");
        ConfigReloader reloader = new ConfigReloader(file, problems::add);
        assertThat(reloader.tick()).as("no file yet: still empty").isFalse();
        assertThat(problems).isEmpty();

        write(file, "thresholds: [{metric: node.cpu, fire: 0.9, duration: 1s}]");
        assertThat(reloader.tick()).isTrue();

        Files.delete(file);
        assertThat(reloader.tick()).isTrue();
        assertThat(reloader.current()).isEqualTo(AvailabilityConfig.EMPTY);
        assertThat(problems).singleElement().asString().contains("removed");
    }

    @Test
    void aRewriteWithTheSameContentIsNoChange() throws Exception {
        Path file = dir.resolve("availability.yaml");
        write(file, "thresholds: [{metric: node.cpu, fire: 0.9, duration: 1s}]");
        ConfigReloader reloader = new ConfigReloader(file, problems::add);
        reloader.tick();

        write(file, "thresholds:  [{metric: node.cpu, fire: 0.90, duration: 1000ms}]");
        assertThat(reloader.tick()).isFalse();
    }

    @Test
    void aFileNamingAnSmtpServerThatCannotBeReachedIsRefusedByActionAndAddress() throws Exception {
        Path file = dir.resolve("availability.yaml");
        write(file, "thresholds: [{metric: node.cpu, fire: 0.9, duration: 1s}]");
        ConfigReloader reloader = new ConfigReloader(file, problems::add);
        assertThat(reloader.tick()).isTrue();
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }

        write(file, "thresholds: [{metric: node.cpu, fire: 0.5, duration: 1s}]\nactions:\n"
                + "  - {type: webhook, url: \"http://127.0.0.1:1/alerts\"}\n"
                + "  - {type: email, host: 127.0.0.1, port: " + closedPort + ", from: a@example.com, to: b@example.com}\n");
        long started = System.nanoTime();
        assertThat(reloader.tick()).isFalse();
        System.out.printf("refused in %d ms%n", (System.nanoTime() - started) / 1_000_000);

        assertThat(reloader.current().thresholds()).singleElement().satisfies(t -> assertThat(t.rule().fireLevel()).isEqualTo(0.9));
        assertThat(reloader.current().actions()).isEmpty();
        assertThat(problems).singleElement().asString()
                .startsWith(file + ": actions[1]: email via smtp 127.0.0.1:" + closedPort + ": not reachable: ")
                .contains("refused")
                .endsWith("(keeping the last good configuration)");

        // The server is up now; the file is read again once it changes.
        try (ServerSocket smtp = new ServerSocket(closedPort, 1, InetAddress.getLoopbackAddress())) {
            write(file, "thresholds: [{metric: node.cpu, fire: 0.5, duration: 1s}]\nactions:\n"
                    + "  - {type: email, host: 127.0.0.1, port: " + closedPort + ", from: a@example.com, to: b@example.com}\n");
            assertThat(reloader.tick()).isTrue();
            assertThat(reloader.current().actions()).singleElement().isInstanceOf(ActionConfig.Email.class);
        }
    }

    @Test
    void anUnknownSmtpHostIsRefusedAndTheFirstFileLeavesTheEmptyConfiguration() throws Exception {
        Path file = dir.resolve("availability.yaml");
        write(file, "actions: [{type: email, host: no-such-host.invalid, port: 25, from: a@example.com, to: b@example.com}]");
        ConfigReloader reloader = new ConfigReloader(file, problems::add);

        assertThat(reloader.tick()).isFalse();
        assertThat(reloader.current()).isEqualTo(AvailabilityConfig.EMPTY);
        assertThat(problems).singleElement().asString()
                .contains("actions[0]: email via smtp no-such-host.invalid:25: not reachable: unknown host no-such-host.invalid")
                .endsWith("(keeping the empty configuration)");
    }

    @Test
    void anEmailActionAlreadyInForceIsNotProbedAgain() throws Exception {
        Path file = dir.resolve("availability.yaml");
        String email = "{type: email, host: mail.example.com, port: 25, from: a@example.com, to: b@example.com}";
        List<String> probed = new ArrayList<>();
        boolean[] reachable = {true};
        ConfigReloader reloader = new ConfigReloader(file, problems::add, e -> {
            probed.add(e.host());
            return reachable[0] ? null : "Connection refused";
        });
        write(file, "actions: [" + email + "]");
        assertThat(reloader.tick()).isTrue();

        // The server goes away; a new threshold next to the same e-mail action is still taken.
        reachable[0] = false;
        write(file, "thresholds: [{metric: node.cpu, fire: 0.9, duration: 1s}]\nactions: [" + email + "]");
        assertThat(reloader.tick()).isTrue();
        assertThat(probed).containsExactly("mail.example.com");
        assertThat(problems).isEmpty();
    }

    private void write(Path file, String text) throws Exception {
        Files.writeString(file, text);
        modifiedMillis += 1_000;
        Files.setLastModifiedTime(file, FileTime.fromMillis(modifiedMillis));
    }
}
