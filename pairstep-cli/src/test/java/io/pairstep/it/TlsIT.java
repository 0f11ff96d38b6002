package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.ClusterFile;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.ClientOptions;
import io.pairstep.client.PairstepClient;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A system started with {@code cluster start --tls}, in real processes: node to node, client to
 * node and the controller speak mutual TLS with the certificates of {@code pairstep certs}. It
 * serves calls end to end (HTTP gateway and Java client); a client without a certificate signed
 * by the system's authority gets no answer, and a node with a certificate of another authority
 * never joins.
 */
class TlsIT {

    @TempDir
    Path dir;

    @Test
    void aTlsSystemServesCallsAndRefusesClientsAndNodesWithoutItsCertificates() throws Exception {
        Path system = dir.resolve("system");
        int basePort = LocalSystem.freeBasePort();
        try (LocalSystem cluster = LocalSystem.start(system, 3, basePort, "none", false, List.of("--tls", "--wait", "240"))) {
            for (String name : List.of("ca", "n1", "n2", "n3", "client")) {
                Path key = system.resolve("certs").resolve(name + ".key");
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).as(name).isEqualTo("rw-------");
            }
            assertThat(cluster.tls()).isTrue();
            cluster.deploy("kv", "kv", "pair", 1);
            assertThat(cluster.awaitFullyProtected(Duration.ofSeconds(60))).as("kv's backup syncs over TLS").isTrue();

            // The HTTP gateway's client and the replication both cross the TLS transport.
            assertThat(cluster.cli("call", "kv", "--key", "a", "{\"op\":\"put\",\"key\":\"a\",\"value\":1}", "--dir", system.toString()))
                    .contains("ok");
            try (PairstepClient client = PairstepClient.connect(cluster.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                byte[] answer = client.call("kv", "a", "{\"op\":\"incr\",\"key\":\"a\",\"by\":5}".getBytes(StandardCharsets.UTF_8))
                        .get(60, TimeUnit.SECONDS);
                assertThat(new String(answer, StandardCharsets.UTF_8)).isEqualTo("{\"value\":6}");
            }

            // Without a certificate, or with one of another authority, a client gets nothing through.
            Path other = dir.resolve("other");
            LocalSystem.run("certs", "--dir", other.toString(), "--nodes", "4");
            List<ClientOptions> strangers = List.of(cluster.clientOptions().withTls(null),
                    cluster.clientOptions().withTls(LocalSystem.clientTls(other)));
            for (ClientOptions stranger : strangers) {
                try (PairstepClient client = PairstepClient.connect(stranger.withCallTimeout(Duration.ofSeconds(3)))) {
                    assertThatThrownBy(() -> client.call("kv", "a", "{\"op\":\"incr\",\"key\":\"a\",\"by\":100}"
                            .getBytes(StandardCharsets.UTF_8)).get(60, TimeUnit.SECONDS)).as("tls " + stranger.tls()).isNotNull();
                }
            }

            // A fourth node with a certificate of the other authority tries to join: every node refuses it.
            List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                    System.getProperty("pairstep.jar"), "node", "--id", "n4", "--data", dir.resolve("n4").toString(),
                    "--http", "127.0.0.1:" + (basePort + 41), "--rpc", "127.0.0.1:" + (basePort + 42),
                    "--system", cluster.clusterFile().system(), "--token-file", ClusterFile.tokenFile(system).toString(),
                    "--tls-cert", other.resolve("certs/n4.pem").toString(), "--tls-key", other.resolve("certs/n4.key").toString(),
                    "--tls-ca", other.resolve("certs/ca.pem").toString()));
            command.add("--seeds");
            command.add(String.join(",", cluster.clusterFile().nodes().stream().map(n -> n.id() + "@" + n.rpc()).toList()));
            Path log = dir.resolve("n4.log");
            Process intruder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(new File("/dev/null")).start();
            try {
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                        .until(() -> Files.readString(log).contains("TLS refused"));
                assertThat(intruder.isAlive()).isTrue();
                JsonNode status = cluster.status();
                assertThat(status.get("nodes").valueStream().map(n -> n.get("id").asString())).containsExactly("n1", "n2", "n3");
                assertThat(Files.readString(log)).doesNotContain("node n4 up");
            } finally {
                intruder.destroyForcibly();
                assertThat(intruder.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }

            // Nothing the strangers sent was applied.
            assertThat(cluster.cli("call", "kv", "--key", "a", "{\"op\":\"get\",\"key\":\"a\"}", "--dir", system.toString()))
                    .contains("{\"value\":6}");
        }
    }
}
