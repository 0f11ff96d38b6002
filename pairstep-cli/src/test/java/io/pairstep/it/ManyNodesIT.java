package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A system of five nodes: the first three vote in the controller, the other two follow its log as
 * listeners, and all five host replicas. Killing a listener that hosts primaries must cost clients
 * nothing, exactly as for a voter.
 */
class ManyNodesIT {

    private static final int ACCOUNTS = 8;
    private static final long OPENING_BALANCE = 1_000;

    @TempDir
    Path dir;

    @Test
    void nodesBeyondTheControllerHostPrimariesAndSurviveKillsUnderLoad() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("ManyNodesIT seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        Random random = new Random(seed);
        try (LocalSystem system = LocalSystem.start(dir, 5, LocalSystem.freeBasePort(), "always", false)) {
            system.deploy("kv", "kv", "pair", 8);
            system.deploy("bank", "bank", "pair", 1);
            List<String> listenersWithPrimaries = primaryHosts(system.status(), List.of("n4", "n5"));
            assertThat(listenersWithPrimaries).as("placement uses the nodes beyond the controller").isNotEmpty();
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                LedgerLoad load = new LedgerLoad(client, 6, ACCOUNTS, seed);
                long before = load.openAccounts(OPENING_BALANCE);
                load.start();
                for (int kill = 0; kill < 3; kill++) {
                    Thread.sleep(1500 + random.nextInt(1000));
                    List<String> candidates = primaryHosts(system.status(), List.of("n4", "n5"));
                    if (candidates.isEmpty()) {
                        candidates = primaryHosts(system.status(), List.of("n1", "n2", "n3", "n4", "n5"));
                    }
                    String victim = candidates.get(random.nextInt(candidates.size()));
                    system.kill(victim);
                    Thread.sleep(300);
                    system.restart(victim);
                    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                            .until(() -> system.status().get("nodes").valueStream().allMatch(n -> n.get("state").asString().equals("up")));
                }
                Thread.sleep(1000);
                load.stop();
                System.out.printf("ManyNodesIT: %d commands acknowledged, %d client-visible errors%n",
                        load.acknowledged(), load.errors().size());
                assertThat(load.errors()).as("client-visible errors").isEmpty();
                assertThat(load.acknowledged()).as("commands acknowledged").isGreaterThan(100);
                assertThat(load.verify().mismatches()).as("counters that differ from their clients' ledgers").isEmpty();
                assertThat(load.total()).as("money is conserved").isEqualTo(before);
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("every group back to two replicas in sync").isTrue();
            }
        }
    }

    /** The nodes among {@code nodes} that host a primary now. */
    private static List<String> primaryHosts(JsonNode status, List<String> nodes) {
        List<String> hosts = new ArrayList<>();
        for (JsonNode group : status.get("groups")) {
            for (JsonNode replica : group.get("replicas")) {
                String node = replica.get("node").asString();
                if (replica.get("role").asString().equals("primary") && nodes.contains(node) && !hosts.contains(node)) {
                    hosts.add(node);
                }
            }
        }
        return hosts;
    }
}
