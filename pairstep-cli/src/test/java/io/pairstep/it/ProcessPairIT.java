package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Process pairs with real JVM processes: primaries' nodes are killed with SIGKILL, paused with
 * SIGSTOP, and the whole system is stopped and started, while clients work. Every acknowledged
 * command must be applied exactly once and no client may see an error. The methods share one system
 * of three nodes (see {@link SharedSystem}), each with services of its own; they run in an order
 * that gives each the system nearest to a fresh one: the stop of all nodes first, the kills last,
 * after which the kill test's 40 s of load leaves the most state behind.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProcessPairIT {

    private static final int ACCOUNTS = 8;
    private static final long OPENING_BALANCE = 1_000;

    /** Static: a field of the instance would be a new directory, deleted after each method, even with one instance. */
    @TempDir
    static Path dir;

    @RegisterExtension
    static final SharedSystem shared = new SharedSystem(() -> dir, 3);

    private LocalSystem system() {
        return shared.get();
    }



    static PairstepClient connect(LocalSystem system) {
        return PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)));
    }

    static String call(PairstepClient client, String service, String key, String command) {
        return LedgerLoad.call(client, service, key, command);
    }

    @Test
    @Order(3)
    void killingPrimariesUnderLoadLosesAndDuplicatesNothing() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("ProcessPairIT seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        Random random = new Random(seed);
        LocalSystem system = system();
        // LedgerLoad's services: kv and bank.
        system.deploy("kv", "kv", "pair", 4);
        system.deploy("bank", "bank", "pair", 1);
        try (PairstepClient client = connect(system)) {
            LedgerLoad load = new LedgerLoad(client, 8, ACCOUNTS, seed);
            long before = load.openAccounts(OPENING_BALANCE);
            load.start();
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            int kills = 0;
            Thread restart = null;
            while (System.nanoTime() < end) {
                Thread.sleep(1500 + random.nextInt(1000));
                // A primary's node, once the previous victim is back: one node down at a time.
                if (restart != null) {
                    restart.join();
                }
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                        .until(() -> system.status().get("nodes").valueStream().allMatch(n -> n.get("state").asString().equals("up")));
                String service = random.nextBoolean() ? "bank" : "kv";
                String victim = system.primaryOf(service, service.equals("kv") ? random.nextInt(4) : 0);
                system.kill(victim);
                kills++;
                restart = new Thread(() -> {
                    LocalSystemPause.sleep(300);
                    system.restart(victim);
                });
                restart.start();
            }
            if (restart != null) {
                restart.join();
            }
            load.stop();
            System.out.printf("ProcessPairIT: %d kills, %d commands acknowledged, %d client-visible errors%n",
                    kills, load.acknowledged(), load.errors().size());
            assertThat(load.errors()).as("client-visible errors").isEmpty();
            assertThat(load.acknowledged()).as("commands acknowledged").isGreaterThan(100);
            assertThat(load.verify().mismatches()).as("counters that differ from their clients' ledgers").isEmpty();
            assertThat(load.total()).as("money is conserved").isEqualTo(before);
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("every group back to two replicas in sync").isTrue();
        }
    }

    @Test
    @Order(2)
    void pausedPrimaryIsReplacedAndRejoinsAsBackup() throws Exception {
        LocalSystem system = system();
        String cluster = system.dir().toString();
        String kv = "kv-paused";
        system.deploy(kv, "kv", "pair", 1);
        try (PairstepClient client = connect(system)) {
            call(client, kv, "x", "{\"op\":\"put\",\"key\":\"x\",\"value\":1}");
            String paused = system.primaryOf(kv, 0);
            system.cli("fault", "pause-node", paused, "--dir", cluster);
            try {
                long start = System.nanoTime();
                assertThat(call(client, kv, "x", "{\"op\":\"incr\",\"key\":\"x\",\"by\":1}")).isEqualTo("{\"value\":2}");
                System.out.printf("ProcessPairIT: a command stalled %d ms across a SIGSTOP takeover%n",
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                assertThat(system.primaryOf(kv, 0)).as("the backup took over").isNotEqualTo(paused);
            } finally {
                system.cli("fault", "resume-node", paused, "--dir", cluster);
            }
            // The old primary wakes in an epoch nobody acknowledges: it cannot answer, and the
            // group heals (a new backup, on it or on the third node; rebalancing may later hand
            // it the primary role again).
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(30))).isTrue();
            assertThat(call(client, kv, "x", "{\"op\":\"get\",\"key\":\"x\"}")).isEqualTo("{\"value\":2}");
            // The CLI sent both signals itself and had another node record them: both are events on every node.
            String witness = system.clusterFile().nodes().stream().map(n -> n.id()).filter(n -> !n.equals(paused)).findFirst()
                    .orElseThrow();
            List<JsonNode> faults = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .until(() -> CrashReplicaIT.faultEvents(system, witness), f -> f.size() >= 2);
            assertThat(faults).extracting(f -> f.get("fields").get("kind").asString()).containsExactly("pause-node", "resume-node");
            assertThat(faults).allSatisfy(f -> {
                assertThat(f.get("node").asString()).isEqualTo(paused);
                assertThat(f.get("component").asString()).isEqualTo(paused);
                assertThat(f.get("fields").get("requestedBy").asString()).isNotEqualTo(paused);
            });
            assertThat(faults.getFirst().get("message").asString()).contains("SIGSTOP sent by pairstep fault pause-node to pid");
        }
    }

    @Test
    @Order(1)
    void everyAcknowledgedCommandSurvivesAStopOfAllNodes() throws Exception {
        LocalSystem system = system();
        String kv = "kv-stopped";
        system.deploy(kv, "kv", "pair", 4);
        try (PairstepClient client = connect(system)) {
            for (int i = 0; i < 200; i++) {
                call(client, kv, "k" + i, "{\"op\":\"put\",\"key\":\"k" + i + "\",\"value\":" + i + "}");
            }
        }
        system.cli("cluster", "stop", "--dir", system.dir().toString());
        List<Thread> starts = List.of("n1", "n2", "n3").stream().map(id -> new Thread(() -> system.restart(id))).toList();
        starts.forEach(Thread::start);
        for (Thread thread : starts) {
            thread.join();
        }
        assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
        try (PairstepClient client = connect(system)) {
            for (int i = 0; i < 200; i++) {
                assertThat(call(client, kv, "k" + i, "{\"op\":\"get\",\"key\":\"k" + i + "\"}")).isEqualTo("{\"value\":" + i + "}");
            }
        }
    }

    /** Sleeping without a checked exception, for lambdas. */
    static final class LocalSystemPause {
        static void sleep(long millis) {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
