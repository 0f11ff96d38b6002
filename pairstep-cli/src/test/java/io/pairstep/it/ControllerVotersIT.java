package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.ClusterFile;
import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Retiring a node that votes in the controller, with real node processes: n1 (a seed, so a voter)
 * is drained, SIGKILLed and removed under load; its vote moves to n4, which followed the
 * controller's log as a listener. The new voters keep a majority through the SIGKILL of another
 * voter, keep their roles through a restart of the whole system with the original seeds, and the
 * removed n1 cannot come back on its old data directory (it can on an empty one, as a listener).
 * Clients see none of it.
 */
class ControllerVotersIT {

    private static final int ACCOUNTS = 8;
    private static final long OPENING_BALANCE = 1_000;
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @Test
    void aRemovedVoterHandsItsVoteToAListenerUnderLoadAndTheNewVotersSurviveAKillAndARestart() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("ControllerVotersIT seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        try (LocalSystem system = LocalSystem.start(dir, 4, LocalSystem.freeBasePort(), "always", false)) {
            String cluster = system.dir().toString();
            system.deploy("kv", "kv", "pair", 6);
            system.deploy("bank", "bank", "pair", 1);
            assertThat(voters(system.status())).containsExactly("n1", "n2", "n3");
            assertThat(voterFlags(system.status())).containsExactly("n1", "n2", "n3");
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                LedgerLoad load = new LedgerLoad(client, 6, ACCOUNTS, seed);
                long before = load.openAccounts(OPENING_BALANCE);
                load.start();
                Thread.sleep(1000);

                // A voter that is up and serving is not removed; nor is one whose vote nobody can take.
                assertThatThrownBy(() -> system.cli("node", "remove", "n1", "--dir", cluster)).hasMessageContaining("drain it first");
                assertThat(system.cli("node", "drain", "n1", "--wait", "60", "--dir", cluster)).contains("n1 is drained");
                system.cli("node", "drain", "n4", "--dir", cluster);
                assertThatThrownBy(() -> system.cli("node", "remove", "n1", "--dir", cluster))
                        .hasMessageContaining("no other node can take its vote")
                        .hasMessageContaining("add a node first");
                system.cli("node", "undrain", "n4", "--dir", cluster);
                assertThat(voters(system.status())).containsExactly("n1", "n2", "n3");

                // n1 dies for good; removing it moves its vote to n4.
                system.kill("n1");
                assertThat(system.cli("node", "remove", "n1", "--dir", cluster))
                        .contains("n1 removed; its vote in the controller moved to n4");
                JsonNode status = system.status();
                assertThat(voters(status)).containsExactly("n2", "n3", "n4");
                assertThat(voterFlags(status)).containsExactly("n2", "n3", "n4");
                assertThat(ids(status)).containsExactly("n2", "n3", "n4");
                assertThat(Files.readString(ClusterFile.nodeDir(system.dir(), "n4").resolve("data").resolve("controller-voters")))
                        .contains("n4=").doesNotContain("n1=");

                // Another voter dies: the other two of the new voters are a majority and fail its
                // primaries over; it comes back on its data directory, still a voter.
                String victim = leaderAmong(status, "n2", "n3");
                System.out.println("ControllerVotersIT: SIGKILL of voter " + victim);
                system.kill(victim);
                await().atMost(WAIT).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                        .until(() -> primariesOn(system.status(), victim) == 0);
                system.restart(victim);
                awaitFullyProtected(system, "after the restart of " + victim);
                assertThat(voters(system.status())).containsExactly("n2", "n3", "n4");
                Thread.sleep(1000);

                load.stop();
                System.out.printf("ControllerVotersIT: %d commands acknowledged, %d client-visible errors%n",
                        load.acknowledged(), load.errors().size());
                assertThat(load.errors()).as("client-visible errors").isEmpty();
                assertThat(load.acknowledged()).as("commands acknowledged").isGreaterThan(100);
                assertThat(load.verify().mismatches()).as("counters that differ from their clients' ledgers").isEmpty();
                assertThat(load.total()).as("money is conserved").isEqualTo(before);
            }

            // The whole system stops and starts again with its original seeds (n1 among them, gone):
            // the voters stay n2, n3, n4.
            system.cli("cluster", "stop", "--dir", cluster);
            // Together, on threads of their own (the common pool may have one thread on a small
            // machine): no voter is ready before two of them run.
            List<CompletableFuture<Void>> starts = new ArrayList<>();
            java.util.concurrent.ExecutorService starters = java.util.concurrent.Executors.newFixedThreadPool(3);
            for (String id : List.of("n2", "n3", "n4")) {
                starts.add(CompletableFuture.runAsync(() -> system.restart(id), starters));
            }
            starters.shutdown();
            try {
                CompletableFuture.allOf(starts.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
            } catch (Exception e) {
                printLogs(system, "n2", "n3", "n4");
                throw e;
            }
            awaitFullyProtected(system, "after the restart of the whole system");
            assertThat(voters(system.status())).containsExactly("n2", "n3", "n4");
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                LedgerLoad load = new LedgerLoad(client, 2, ACCOUNTS, seed + 1);
                load.start();
                Thread.sleep(1000);
                load.stop();
                assertThat(load.errors()).as("client-visible errors after the restart").isEmpty();
                assertThat(load.acknowledged()).isPositive();
            }

            // The removed voter, started on its old data directory, is refused with the reason.
            assertThatThrownBy(() -> system.restart("n1"))
                    .hasMessageContaining("node n1 no longer votes in the controller")
                    .hasMessageContaining("empty data directory");
            assertThat(voters(system.status())).containsExactly("n2", "n3", "n4");

            // On an empty data directory the same n1, with the same seeds (itself among them, gone),
            // finds the controller through n2 or n3 and joins as a new node that listens.
            Path data = ClusterFile.nodeDir(system.dir(), "n1").resolve("data");
            Files.move(data, data.resolveSibling("data.removed"));
            system.restart("n1");
            JsonNode after = system.status();
            assertThat(voters(after)).containsExactly("n2", "n3", "n4");
            assertThat(ids(after)).contains("n1");
            assertThat(voterFlags(after)).containsExactly("n2", "n3", "n4");
        }
    }

    /** Waits until every node is up and every group has its replicas in sync; else prints why not and fails. */
    private static void awaitFullyProtected(LocalSystem system, String when) throws java.io.IOException {
        if (!system.awaitFullyProtected(Duration.ofSeconds(120))) {
            System.out.println("ControllerVotersIT: not fully protected " + when + ": " + system.status());
            printLogs(system, "n2", "n3", "n4");
            throw new AssertionError("not every group fully protected 120 s " + when);
        }
    }

    /** The end of each node's log, to see why a start failed. */
    private static void printLogs(LocalSystem system, String... ids) throws java.io.IOException {
        for (String id : ids) {
            List<String> lines = Files.readAllLines(ClusterFile.logFile(system.dir(), id));
            System.out.println("---- last lines of " + id + "'s log ----");
            List<String> shown = lines.stream().filter(line -> !line.startsWith("\tat ")).toList();
            shown.subList(Math.max(0, shown.size() - 80), shown.size()).forEach(System.out::println);
        }
    }

    private static List<String> voters(JsonNode status) {
        List<String> voters = new ArrayList<>();
        status.get("controllerVoters").forEach(v -> voters.add(v.asString()));
        return voters;
    }

    private static List<String> voterFlags(JsonNode status) {
        List<String> voters = new ArrayList<>();
        for (JsonNode node : status.get("nodes")) {
            if (node.get("voter").asBoolean()) {
                voters.add(node.get("id").asString());
            }
        }
        return voters;
    }

    private static List<String> ids(JsonNode status) {
        List<String> ids = new ArrayList<>();
        status.get("nodes").forEach(n -> ids.add(n.get("id").asString()));
        return ids;
    }

    /** The controller leader if it is one of {@code choices}, else the first of them. */
    private static String leaderAmong(JsonNode status, String... choices) {
        String leader = status.path("controllerLeader").asString("");
        return List.of(choices).contains(leader) ? leader : choices[0];
    }

    private static int primariesOn(JsonNode status, String node) {
        int count = 0;
        for (JsonNode group : status.get("groups")) {
            for (JsonNode replica : group.get("replicas")) {
                count += replica.get("node").asString().equals(node) && replica.get("role").asString().equals("primary") ? 1 : 0;
            }
        }
        return count;
    }
}
