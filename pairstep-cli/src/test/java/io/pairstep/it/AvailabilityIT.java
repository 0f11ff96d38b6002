package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LocalSystem;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The availability manager wired into real nodes: a 3-node system started with
 * {@code --availability FILE} whose only action sends SNMP v2c traps to a real net-snmp
 * {@code snmptrapd} on loopback. SIGKILL of a node must bring a NODE "broken" trap, and its restart
 * a "fixed" trap; every node serves {@code /metrics} in Prometheus text. Waits are generous and the
 * times are printed, not asserted: timing belongs to the benchmarks.
 */
class AvailabilityIT {

    private static final String HINT = "run scripts/install-test-deps (Debian packages snmp and snmptrapd)";

    @TempDir
    Path dir;

    private final List<String> received = new CopyOnWriteArrayList<>();
    private Process trapd;

    @AfterEach
    void stopTrapd() throws InterruptedException {
        if (trapd != null) {
            trapd.destroy();
            trapd.waitFor();
        }
    }

    @Test
    void aKilledNodeSendsABrokenTrapAndItsRestartAFixedOneAndEveryNodeServesMetrics() throws Exception {
        int trapPort = startTrapd();
        Path availability = dir.resolve("availability.yaml");
        Files.writeString(availability, """
                thresholds:
                  - {metric: node.heap.used.ratio, fire: 0.99, clear: 0.9, duration: 10s}
                actions:
                  - {type: snmp, target: "127.0.0.1:%d", version: v2c, community: public}
                """.formatted(trapPort));
        try (LocalSystem system = LocalSystem.start(dir.resolve("system"), 3, LocalSystem.freeBasePort(), "always", false,
                List.of("--availability", availability.toString()))) {
            // Every node got the file, and start-node will give it again (it reuses the stored command).
            assertThat(system.clusterFile().nodes()).allSatisfy(node ->
                    assertThat(node.command()).containsSubsequence("--availability", availability.toString()));
            system.deploy("kv", "kv", "pair", 2);
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("kv fully protected").isTrue();

            HttpClient http = HttpClient.newHttpClient();
            for (String address : system.httpAddresses()) {
                HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create("http://" + address + "/metrics"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(metrics.statusCode()).as(address + " /metrics").isEqualTo(200);
                assertThat(metrics.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
                assertThat(metrics.body()).as(address + " /metrics").contains("# TYPE jvm_memory_used_bytes gauge",
                        "pairstep_nodes_up 3", "pairstep_groups 2", "pairstep_groups_fully_protected",
                        "pairstep_controller_state_version", "pairstep_controller_leader");
            }

            // A node that does not lead the controller: the leader is the one that reports.
            String leader = system.status().get("controllerLeader").asString();
            String victim = List.of("n3", "n2", "n1").stream().filter(n -> !n.equals(leader)).findFirst().orElseThrow();
            System.out.printf("AvailabilityIT: controller leader %s, killing %s%n", leader, victim);

            long killed = System.nanoTime();
            system.kill(victim);
            String broken = awaitTrap("pairstepComponentBroken", victim, Duration.ofSeconds(30));
            System.out.printf("AvailabilityIT: broken trap for %s %d ms after SIGKILL%n", victim, (System.nanoTime() - killed) / 1_000_000);
            assertThat(broken).contains("PAIRSTEP-MIB::pairstepComponentType.0 = INTEGER: node(1)",
                    "PAIRSTEP-MIB::pairstepPreviousState.0 = INTEGER: up(1)");

            long restarting = System.nanoTime();
            system.restart(victim);
            String fixed = awaitTrap("pairstepComponentFixed", victim, Duration.ofSeconds(60));
            System.out.printf("AvailabilityIT: fixed trap for %s %d ms after the restart began%n", victim,
                    (System.nanoTime() - restarting) / 1_000_000);
            assertThat(fixed).contains("PAIRSTEP-MIB::pairstepComponentType.0 = INTEGER: node(1)");

            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("kv fully protected again").isTrue();
            Thread.sleep(2_000);
            long brokenNodeTraps = received.stream().filter(line -> line.contains("pairstepComponentBroken")
                    && containsId(line, "pairstepComponentId.0 = STRING: " + victim)).count();
            System.out.printf("AvailabilityIT: %d traps in all, %d node-broken traps for %s%n",
                    received.stream().filter(line -> line.contains("pairstepAlertId")).count(), brokenNodeTraps, victim);
            received.stream().filter(line -> line.contains("pairstepAlertId"))
                    .forEach(line -> System.out.println("AvailabilityIT trap: " + line));
        }
    }

    /** The line of the first trap of {@code notification} about component {@code component}. */
    private String awaitTrap(String notification, String component, Duration within) {
        String id = "pairstepComponentId.0 = STRING: " + component;
        await().atMost(within).pollInterval(Duration.ofMillis(20)).until(() -> received.stream()
                .anyMatch(line -> line.contains("OID: PAIRSTEP-MIB::" + notification) && containsId(line, id)));
        return received.stream().filter(line -> line.contains("OID: PAIRSTEP-MIB::" + notification) && containsId(line, id))
                .findFirst().orElseThrow();
    }

    /** True when the line names exactly this component (n1 must not match n1x or kv/0@n1). */
    private static boolean containsId(String line, String id) {
        int at = line.indexOf(id);
        if (at < 0) {
            return false;
        }
        int end = at + id.length();
        return end == line.length() || !Character.isLetterOrDigit(line.charAt(end)) && line.charAt(end) != '/';
    }

    /** Starts snmptrapd with PAIRSTEP-MIB on a free loopback port and waits until it listens. */
    private int startTrapd() throws Exception {
        Path mibs = Path.of("..", "pairstep-avail", "src", "main", "resources", "mib").toAbsolutePath().normalize();
        assertThat(mibs.resolve("PAIRSTEP-MIB.txt")).exists();
        Path config = dir.resolve("snmptrapd.conf");
        Files.writeString(config, "disableAuthorization yes\n");
        int port;
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        ProcessBuilder builder = new ProcessBuilder(tool("snmptrapd"), "-f", "-Lo", "-C", "-c", config.toString(),
                "-M", "+" + mibs, "-m", "PAIRSTEP-MIB", "udp:127.0.0.1:" + port).redirectErrorStream(true);
        builder.environment().put("SNMP_PERSISTENT_DIR", dir.resolve("snmp-persist").toString());
        trapd = builder.start();
        Thread.ofPlatform().daemon().start(this::readTrapd);
        await().atMost(Duration.ofSeconds(10)).until(() -> received.stream().anyMatch(line -> line.startsWith("NET-SNMP version")));
        return port;
    }

    private void readTrapd() {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(trapd.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                received.add(line);
            }
        } catch (IOException e) {
            // snmptrapd stopped.
        }
    }

    private static String tool(String name) {
        for (String dirName : List.of("/usr/sbin", "/usr/bin")) {
            Path candidate = Path.of(dirName, name);
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return fail("net-snmp's " + name + " is not installed: " + HINT);
    }
}
