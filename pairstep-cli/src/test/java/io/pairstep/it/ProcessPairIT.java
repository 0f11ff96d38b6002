package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.client.ClientOptions;
import io.pairstep.client.PairstepClient;
import io.pairstep.client.PairstepException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Process pairs with real JVM processes: primaries' nodes are killed with SIGKILL, paused with
 * SIGSTOP, and the whole system is stopped and started, while clients work. Every acknowledged
 * command must be applied exactly once and no client may see an error.
 */
class ProcessPairIT {

    private static final int ACCOUNTS = 8;
    private static final long OPENING_BALANCE = 1_000;

    @TempDir
    Path dir;

    @Test
    void killingPrimariesUnderLoadLosesAndDuplicatesNothing() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("ProcessPairIT seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        Random random = new Random(seed);
        try (LocalCluster cluster = LocalCluster.start(dir, 3)) {
            cluster.cli("deploy", "kv", "--example", "kv", "--partitions", "4", "--dir", dir.toString());
            cluster.cli("deploy", "bank", "--example", "bank", "--dir", dir.toString());
            try (PairstepClient client = PairstepClient.connect(options(cluster))) {
                for (int i = 0; i < ACCOUNTS; i++) {
                    call(client, "bank", "", "{\"op\":\"open\",\"account\":\"a" + i + "\",\"balance\":" + OPENING_BALANCE + "}");
                }
                Load load = new Load(client, 8, seed);
                load.start();
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(25);
                int kills = 0;
                while (System.nanoTime() < end) {
                    Thread.sleep(2000 + random.nextInt(1000));
                    // A primary's node, once the previous victim is back: one node down at a time.
                    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                            .until(() -> cluster.status().get("nodes").valueStream().allMatch(n -> n.get("state").asString().equals("up")));
                    String service = random.nextBoolean() ? "bank" : "kv";
                    String victim = cluster.primaryOf(service, service.equals("kv") ? random.nextInt(4) : 0);
                    cluster.kill(victim);
                    kills++;
                    Thread.sleep(500);
                    cluster.cli("cluster", "start-node", "--dir", dir.toString(), "--id", victim);
                }
                load.stop();
                System.out.printf("ProcessPairIT: %d kills, %d commands acknowledged, %d client-visible errors%n",
                        kills, load.acknowledged.get(), load.errors.size());
                assertThat(load.errors).as("client-visible errors").isEmpty();
                assertThat(load.acknowledged.get()).as("commands acknowledged").isGreaterThan(100);
                load.checkLedgers(client);
                assertThat(total(client)).as("money is conserved").isEqualTo(ACCOUNTS * OPENING_BALANCE);
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(cluster::fullyProtected);
            }
        }
    }

    @Test
    void pausedPrimaryIsReplacedAndRejoinsAsBackup() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(dir, 3)) {
            cluster.cli("deploy", "kv", "--example", "kv", "--dir", dir.toString());
            try (PairstepClient client = PairstepClient.connect(options(cluster))) {
                call(client, "kv", "x", "{\"op\":\"put\",\"key\":\"x\",\"value\":1}");
                String paused = cluster.primaryOf("kv", 0);
                cluster.cli("fault", "pause-node", paused, "--dir", dir.toString());
                try {
                    long start = System.nanoTime();
                    assertThat(call(client, "kv", "x", "{\"op\":\"incr\",\"key\":\"x\",\"by\":1}")).isEqualTo("{\"value\":2}");
                    System.out.printf("ProcessPairIT: a command stalled %d ms across a SIGSTOP takeover%n",
                            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
                    assertThat(cluster.primaryOf("kv", 0)).as("the backup took over").isNotEqualTo(paused);
                } finally {
                    cluster.cli("fault", "resume-node", paused, "--dir", dir.toString());
                }
                // The old primary wakes in an epoch nobody acknowledges: it rejoins as a backup.
                await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(cluster::fullyProtected);
                assertThat(cluster.primaryOf("kv", 0)).isNotEqualTo(paused);
                assertThat(call(client, "kv", "x", "{\"op\":\"get\",\"key\":\"x\"}")).isEqualTo("{\"value\":2}");
            }
        }
    }

    @Test
    void everyAcknowledgedCommandSurvivesAStopOfAllNodes() throws Exception {
        try (LocalCluster cluster = LocalCluster.start(dir, 3)) {
            cluster.cli("deploy", "kv", "--example", "kv", "--partitions", "4", "--dir", dir.toString());
            try (PairstepClient client = PairstepClient.connect(options(cluster))) {
                for (int i = 0; i < 200; i++) {
                    call(client, "kv", "k" + i, "{\"op\":\"put\",\"key\":\"k" + i + "\",\"value\":" + i + "}");
                }
            }
            cluster.cli("cluster", "stop", "--dir", dir.toString());
            for (String id : List.of("n1", "n2", "n3")) {
                new Thread(() -> {
                    try {
                        cluster.cli("cluster", "start-node", "--dir", dir.toString(), "--id", id);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }).start();
            }
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions().until(cluster::fullyProtected);
            try (PairstepClient client = PairstepClient.connect(options(cluster))) {
                for (int i = 0; i < 200; i++) {
                    assertThat(call(client, "kv", "k" + i, "{\"op\":\"get\",\"key\":\"k" + i + "\"}")).isEqualTo("{\"value\":" + i + "}");
                }
            }
        }
    }

    private static ClientOptions options(LocalCluster cluster) throws Exception {
        List<InetSocketAddress> seeds = new ArrayList<>();
        for (String address : cluster.rpcAddresses()) {
            int colon = address.lastIndexOf(':');
            seeds.add(new InetSocketAddress(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))));
        }
        return ClientOptions.of(seeds).withCallTimeout(Duration.ofSeconds(30));
    }

    static String call(PairstepClient client, String service, String key, String command) {
        return new String(client.callSync(service, key, command.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }

    private static long total(PairstepClient client) {
        JsonNode answer = LocalCluster.JSON.readTree(call(client, "bank", "", "{\"op\":\"total\"}"));
        return answer.get("total").asLong();
    }

    /**
     * Clients that increment their own kv counters (a ledger of acknowledged increments per key)
     * and move money between bank accounts.
     */
    private static final class Load {
        final PairstepClient client;
        final int clients;
        final long seed;
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicLong acknowledged = new AtomicLong();
        final List<String> errors = new CopyOnWriteArrayList<>();
        final Map<String, AtomicLong> ledger = new ConcurrentHashMap<>();
        final ExecutorService threads;
        final List<Future<?>> futures = new ArrayList<>();

        Load(PairstepClient client, int clients, long seed) {
            this.client = client;
            this.clients = clients;
            this.seed = seed;
            this.threads = Executors.newFixedThreadPool(clients);
        }

        void start() {
            for (int i = 0; i < clients; i++) {
                int id = i;
                futures.add(threads.submit(() -> run(id)));
            }
        }

        private void run(int id) {
            Random random = new Random(seed * 31 + id);
            while (running.get()) {
                try {
                    if (random.nextBoolean()) {
                        String key = "c" + id + "-" + random.nextInt(5);
                        call(client, "kv", key, "{\"op\":\"incr\",\"key\":\"" + key + "\",\"by\":1}");
                        ledger.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
                    } else {
                        int from = random.nextInt(ACCOUNTS);
                        int to = (from + 1 + random.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
                        try {
                            call(client, "bank", "", "{\"op\":\"transfer\",\"from\":\"a" + from + "\",\"to\":\"a" + to
                                    + "\",\"amount\":" + (1 + random.nextInt(50)) + "}");
                        } catch (PairstepException e) {
                            if (!"APPLICATION_ERROR".equals(e.code())) {
                                throw e;
                            }
                        }
                    }
                    acknowledged.incrementAndGet();
                } catch (RuntimeException e) {
                    errors.add(e.toString());
                }
            }
        }

        void stop() throws Exception {
            running.set(false);
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
            threads.shutdown();
        }

        /** Each counter holds exactly the increments its client saw acknowledged: none lost, none twice. */
        void checkLedgers(PairstepClient client) {
            for (Map.Entry<String, AtomicLong> entry : ledger.entrySet()) {
                String value = call(client, "kv", entry.getKey(), "{\"op\":\"get\",\"key\":\"" + entry.getKey() + "\"}");
                assertThat(value).as("counter %s", entry.getKey()).isEqualTo("{\"value\":" + entry.getValue().get() + "}");
            }
        }
    }
}
