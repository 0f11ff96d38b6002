package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.cli.LocalSystem;
import io.pairstep.core.wire.Partitioner;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * Deploy once, run everywhere, with real node processes: a jar that exists only in this test's
 * directory is uploaded once and runs on every node, reaches a node that was down at deploy time,
 * and replaces a copy damaged on a node's disk; bad jars are refused and change nothing.
 */
class ArtifactsIT {

    private static final int PARTITIONS = 4;
    private static final String STARTUP_WAIT_SECONDS = "180";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void aJarUploadedOnceRunsOnEveryNodeIncludingOnesThatJoinLaterOrLoseIt() throws Exception {
        Path jars = Files.createDirectories(dir.resolve("jars"));
        Path jar = ServiceJars.build(jars, "Tally", ServiceJars.TALLY);
        byte[] bytes = Files.readAllBytes(jar);
        String digest = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        Path cluster = dir.resolve("system");
        // Generous start-up waits: this test is about where jars go, not about how fast a loaded machine starts nodes.
        try (LocalSystem system = LocalSystem.start(cluster, 3, LocalSystem.freeBasePort(), "always", false,
                List.of("--wait", STARTUP_WAIT_SECONDS))) {
            String dirOption = cluster.toString();
            // n3 is down while the jar is uploaded and deployed: it must fetch the jar when it returns.
            system.kill("n3");
            awaitNodeState(system, "n3", "down");

            String out = system.cli("deploy", "tally", "--jar", jar.toString(), "--class", "it.artifacts.Tally",
                    "--partitions", Integer.toString(PARTITIONS), "--dir", dirOption);
            assertThat(out).contains("deployed tally: mode pair, 4 partitions, artifact sha256:" + digest);
            for (String node : List.of("n1", "n2")) {
                assertThat(Files.readAllBytes(artifact(system, node, digest))).as(node).isEqualTo(bytes);
            }
            assertThat(artifact(system, "n3", digest)).doesNotExist();
            List<String> keys = keyPerPartition();
            callEveryPartition(system, keys, 5);

            // Bad jars and classes: clear errors, nothing stored, nothing deployed.
            Path garbage = jars.resolve("garbage.jar");
            byte[] noise = new byte[4096];
            new Random(42).nextBytes(noise);
            Files.write(garbage, noise);
            assertThatThrownBy(() -> system.cli("deploy", "broken", "--jar", garbage.toString(), "--class", "it.artifacts.Tally",
                    "--dir", dirOption)).hasMessageContaining("not a jar");
            assertThatThrownBy(() -> system.cli("deploy", "wrong", "--jar", jar.toString(), "--class", "it.artifacts.Nope",
                    "--dir", dirOption)).hasMessageContaining("class it.artifacts.Nope not found in the jar");
            Path plain = ServiceJars.build(jars, "Plain", ServiceJars.PLAIN);
            assertThatThrownBy(() -> system.cli("deploy", "plain", "--jar", plain.toString(), "--class", "it.artifacts.Plain",
                    "--dir", dirOption)).hasMessageContaining("does not implement io.pairstep.api.Service");
            assertThatThrownBy(() -> system.cli("deploy", "tally", "--jar", jar.toString(), "--class", "it.artifacts.Tally",
                    "--dir", dirOption)).hasMessageContaining("already deployed");
            for (String node : List.of("n1", "n2")) {
                try (var files = Files.list(artifact(system, node, digest).getParent())) {
                    assertThat(files.map(p -> p.getFileName().toString())).as(node).containsExactly(digest + ".jar");
                }
            }
            assertThat(services(system)).extracting(s -> s.get("name").asString()).containsExactly("tally");

            // n3 returns: it fetches the jar from a peer, checks it, and hosts replicas of it.
            restart(system, "n3");
            awaitHostsInSync(system, "n3");
            assertThat(Files.readAllBytes(artifact(system, "n3", digest))).isEqualTo(bytes);
            assertThat(Files.readString(cluster.resolve("n3/node.log"))).contains("artifact sha256:" + digest + " fetched from");

            // n2's copy is damaged on disk while it is down: it is refused and replaced before n2 hosts anything.
            system.kill("n2");
            awaitNodeState(system, "n2", "down");
            Path copy = artifact(system, "n2", digest);
            byte[] damaged = bytes.clone();
            damaged[damaged.length / 2] ^= 1;
            Files.write(copy, damaged);
            restart(system, "n2");
            awaitHostsInSync(system, "n2");
            assertThat(Files.readAllBytes(copy)).isEqualTo(bytes);
            assertThat(Files.readString(cluster.resolve("n2/node.log"))).contains("damaged on disk, deleted and refused");

            // Every partition kept its state through all of it, and the catalog shows the digest.
            callEveryPartition(system, keys, 10);
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
            JsonNode tally = services(system).get(0);
            assertThat(tally.get("digest").asString()).isEqualTo(digest);
            assertThat(tally.get("artifact").asString()).isEqualTo("sha256:" + digest);
            assertThat(tally.get("version").asLong()).isEqualTo(1);
            assertThat(tally.get("mode").asString()).isEqualTo("pair");
            assertThat(tally.get("partitions").asInt()).isEqualTo(PARTITIONS);
            assertThat(tally.get("health").asString()).isEqualTo("ok");
            assertThat(system.cli("services", "--dir", dirOption)).contains("tally", "ok", "sha256:" + digest);
        }
    }

    private static void restart(LocalSystem system, String node) {
        system.cli("cluster", "start-node", "--dir", system.dir().toString(), "--id", node, "--wait", STARTUP_WAIT_SECONDS);
    }

    private static Path artifact(LocalSystem system, String node, String digest) {
        return Path.of(system.clusterFile().node(node).data()).resolve("artifacts").resolve(digest + ".jar");
    }

    /** One key of each partition. */
    private static List<String> keyPerPartition() {
        List<String> keys = new ArrayList<>();
        for (int partition = 0; partition < PARTITIONS; partition++) {
            for (int i = 0; ; i++) {
                if (Partitioner.partition("key" + i, PARTITIONS) == partition) {
                    keys.add("key" + i);
                    break;
                }
            }
        }
        return keys;
    }

    /** Adds 5 to every partition's tally through the gateway of every live node in turn; expects {@code total}. */
    private void callEveryPartition(LocalSystem system, List<String> keys, int total) throws Exception {
        List<String> nodes = new ArrayList<>();
        for (JsonNode node : system.status().get("nodes")) {
            if (node.get("state").asString().equals("up")) {
                nodes.add(node.get("http").asString());
            }
        }
        for (int partition = 0; partition < PARTITIONS; partition++) {
            String node = nodes.get(partition % nodes.size());
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(
                            URI.create("http://" + node + "/v1/services/tally/call?key=" + keys.get(partition)))
                    .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString("5")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("p" + partition + "=" + total);
        }
    }

    private JsonNode services(LocalSystem system) throws Exception {
        String node = system.status().get("nodes").valueStream()
                .filter(n -> n.get("state").asString().equals("up")).findFirst().orElseThrow().get("http").asString();
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://" + node + "/v1/services"))
                .header("Authorization", "Bearer " + system.token().text())
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private static void awaitNodeState(LocalSystem system, String node, String state) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode status = system.status();
            if (status != null && status.get("nodes").valueStream()
                    .anyMatch(n -> n.get("id").asString().equals(node) && n.get("state").asString().equals(state))) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(node + " was not " + state + " within 60 s: " + system.status());
    }

    /** Waits until the system is fully protected with at least one tally replica on {@code node}. */
    private static void awaitHostsInSync(LocalSystem system, String node) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode status = system.status();
            if (status != null && system.fullyProtected() && status.get("groups").valueStream()
                    .anyMatch(g -> g.get("replicas").valueStream().anyMatch(r -> r.get("node").asString().equals(node)))) {
                return;
            }
            Thread.sleep(300);
        }
        throw new AssertionError(node + " hosts no replica in sync within 90 s: " + system.status());
    }
}
