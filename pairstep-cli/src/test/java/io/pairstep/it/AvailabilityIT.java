package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.cli.LocalSystem;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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

    @TempDir
    Path dir;

    private SnmpTrapReceiver trapd;

    @AfterEach
    void stopTrapd() throws InterruptedException {
        if (trapd != null) {
            trapd.close();
        }
    }

    @Test
    void aKilledNodeSendsABrokenTrapAndItsRestartAFixedOneAndEveryNodeServesMetrics() throws Exception {
        trapd = SnmpTrapReceiver.start(dir);
        int trapPort = trapd.port();
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
            String broken = trapd.awaitTrap("pairstepComponentBroken", victim, Duration.ofSeconds(30));
            System.out.printf("AvailabilityIT: broken trap for %s %d ms after SIGKILL%n", victim, (System.nanoTime() - killed) / 1_000_000);
            assertThat(broken).contains("PAIRSTEP-MIB::pairstepComponentType.0 = INTEGER: node(1)",
                    "PAIRSTEP-MIB::pairstepPreviousState.0 = INTEGER: up(1)");

            long restarting = System.nanoTime();
            system.restart(victim);
            String fixed = trapd.awaitTrap("pairstepComponentFixed", victim, Duration.ofSeconds(60));
            System.out.printf("AvailabilityIT: fixed trap for %s %d ms after the restart began%n", victim,
                    (System.nanoTime() - restarting) / 1_000_000);
            assertThat(fixed).contains("PAIRSTEP-MIB::pairstepComponentType.0 = INTEGER: node(1)");

            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("kv fully protected again").isTrue();
            Thread.sleep(2_000);
            long brokenNodeTraps = trapd.lines().stream().filter(line -> line.contains("pairstepComponentBroken")
                    && SnmpTrapReceiver.containsId(line, "pairstepComponentId.0 = STRING: " + victim)).count();
            System.out.printf("AvailabilityIT: %d traps in all, %d node-broken traps for %s%n",
                    trapd.lines().stream().filter(line -> line.contains("pairstepAlertId")).count(), brokenNodeTraps, victim);
            trapd.lines().stream().filter(line -> line.contains("pairstepAlertId"))
                    .forEach(line -> System.out.println("AvailabilityIT trap: " + line));
        }
    }
}
