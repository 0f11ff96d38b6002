package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Node lifecycle under load, with real node processes: a node is drained (its primaries and
 * backups move away while every group stays protected), stopped and removed; started again, it
 * joins as a new node and takes its share of replicas back. Clients see none of it.
 */
class DrainIT {

    private static final int ACCOUNTS = 8;
    private static final long OPENING_BALANCE = 1_000;

    @TempDir
    Path dir;

    @Test
    void aDrainedNodeIsEmptiedRemovedAndAddedBackUnderLoadWithNoClientVisibleError() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("DrainIT seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        try (LocalSystem system = LocalSystem.start(dir, 4, LocalSystem.freeBasePort(), "always", false)) {
            system.deploy("kv", "kv", "pair", 6);
            system.deploy("bank", "bank", "pair", 1);
            // TMR on three of the four nodes: wherever n4 hosts a member, its drain moves it.
            system.deploy("votes", "kv", "tmr", 1);
            // DMR: a member on n4 moves make-before-break (a third member joins elsewhere, then it leaves).
            system.deploy("pairs", "kv", "dmr", 2);
            assertThat(replicasOn(system.status(), "n4")).as("placement uses n4").isPositive();
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                LedgerLoad load = new LedgerLoad(client, 6, ACCOUNTS, seed);
                long before = load.openAccounts(OPENING_BALANCE);
                load.start();
                KvModelLoad votes = new KvModelLoad(client, "votes", 2, seed);
                votes.start();
                KvModelLoad pairs = new KvModelLoad(client, "pairs", 1, seed + 1);
                pairs.start();
                System.out.println("DrainIT: n4 hosts " + replicasOf(system.status(), "n4", "dmr") + " DMR member(s)");
                System.out.println("DrainIT: n4 hosts " + replicasOn(system.status(), "n4") + " replica(s) before its drain, "
                        + "TMR member included: " + (replicasOn(system.status(), "n4") > replicasOf(system.status(), "n4", "pair")));
                Thread.sleep(1000);

                String drained = system.cli("node", "drain", "n4", "--wait", "60", "--dir", system.dir().toString());
                assertThat(drained).contains("n4 is drained");
                assertThat(replicasOn(system.status(), "n4")).isZero();
                // A voter that is up and not drained stays (a drained one would hand its vote to another node).
                assertThatThrownBy(() -> system.cli("node", "remove", "n1", "--dir", system.dir().toString()))
                        .hasMessageContaining("is up: drain it first");

                system.kill("n4");
                assertThat(system.cli("node", "remove", "n4", "--dir", system.dir().toString())).contains("n4 removed");
                assertThat(system.status().get("nodes").valueStream().map(n -> n.get("id").asString())).doesNotContain("n4");
                Thread.sleep(1000);

                system.restart("n4");
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                        .until(() -> replicasOn(system.status(), "n4") > 0 && system.fullyProtected());
                Thread.sleep(1000);
                load.stop();
                votes.stop();
                pairs.stop();
                assertThat(votes.errors).as("client-visible errors of the tmr service").isEmpty();
                assertThat(votes.wrong).as("tmr results that differ from the model").isEmpty();
                assertThat(pairs.errors).as("client-visible errors of the dmr service").isEmpty();
                assertThat(pairs.wrong).as("dmr results that differ from the model").isEmpty();
                System.out.printf("DrainIT: tmr %d and dmr %d commands acknowledged%n", votes.acknowledged.get(), pairs.acknowledged.get());
                System.out.printf("DrainIT: %d commands acknowledged, %d client-visible errors%n", load.acknowledged(), load.errors().size());
                assertThat(load.errors()).as("client-visible errors").isEmpty();
                assertThat(load.acknowledged()).as("commands acknowledged").isGreaterThan(100);
                assertThat(load.verify().mismatches()).as("counters that differ from their clients' ledgers").isEmpty();
                assertThat(load.total()).as("money is conserved").isEqualTo(before);
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("every group back to two replicas in sync").isTrue();
            }
        }
    }

    private static int replicasOf(JsonNode status, String node, String mode) {
        int count = 0;
        for (JsonNode group : status.get("groups")) {
            for (JsonNode replica : group.get("replicas")) {
                count += group.get("mode").asString().equals(mode) && replica.get("node").asString().equals(node) ? 1 : 0;
            }
        }
        return count;
    }

    private static int replicasOn(JsonNode status, String node) {
        int count = 0;
        for (JsonNode group : status.get("groups")) {
            for (JsonNode replica : group.get("replicas")) {
                count += replica.get("node").asString().equals(node) ? 1 : 0;
            }
        }
        return count;
    }
}
