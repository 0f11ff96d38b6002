package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * Lockstep groups with real JVM processes: {@code kv} in TMR and DMR under load from several clients, and
 * a fault injected into one member through the CLI and the admin API. Every result a client gets
 * is checked against a model of kv (each client owns its keys, so the model is exact): there must
 * be no wrong result and no client-visible error, the damaged member must be isolated (the epoch
 * rises), dumped and replaced, and the group must be back to full strength, in sync. A DMR disagreement
 * that no self-check settles is settled by a referee, a third member that executes the entry again.
 * The methods share one system of three nodes (see {@link SharedSystem}): each deploys a kv service
 * of its own, injects its faults into that service's group alone and checks that group.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LockstepIT {

    private static final int CLIENTS = 4;

    /** Static: a field of the instance would be a new directory, deleted after each method, even with one instance. */
    @TempDir
    static Path dir;

    @RegisterExtension
    static final SharedSystem shared = new SharedSystem(() -> dir, 3);
    private int services;

    private LocalSystem system() {
        return shared.get();
    }

    /** A service name no other method of this class uses. */
    private String newService() {
        return "kv" + ++services;
    }



    @Test
    void corruptedTmrMemberIsOutvotedIsolatedDumpedAndReplaced() throws Exception {
        faultsIn("tmr", "corrupt backup");
    }

    @Test
    void divergentTmrMemberIsOutvotedIsolatedDumpedAndReplaced() throws Exception {
        faultsIn("tmr", "diverge backup");
    }

    /** The orderer itself is damaged first: it is outvoted, steps down, and another member orders. */
    @Test
    void corruptedOrdererThenADivergentMemberOnAnotherNodeAreEachIsolatedAndReplaced() throws Exception {
        faultsIn("tmr", "corrupt primary", "diverge other");
    }

    /**
     * A crash rather than a silent fault: the orderer's node is SIGKILLed under load and started
     * again. Another member must take over ordering with no wrong result and no client error, and
     * the restarted node must get a fresh member, so the group is back to three in sync.
     */
    @Test
    void tmrOrdererKilledUnderLoadIsReplacedWithoutAWrongResult() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("LockstepIT tmr kill orderer: seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        LocalSystem system = system();
        String kv = newService();
        system.deploy(kv, "kv", "tmr", 1);
        assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
        try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
            KvModelLoad load = new KvModelLoad(client, kv, CLIENTS, seed);
            load.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= 300);
            long epochBefore = group(system, kv).get("epoch").asLong();
            String victim = system.primaryOf(kv, 0);
            system.kill(victim);
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                    .until(() -> group(system, kv).get("epoch").asLong() > epochBefore && !victim.equals(system.primaryOf(kv, 0)));
            long ackedAtTakeover = load.acknowledged.get();
            await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= ackedAtTakeover + 200);
            system.restart(victim);
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("back to three members in sync").isTrue();
            long ackedAtHeal = load.acknowledged.get();
            await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= ackedAtHeal + 200);
            load.stop();
            System.out.printf("LockstepIT tmr kill of %s: epoch %d -> %d, %d acknowledged, %d wrong, %d errors%n", victim, epochBefore,
                    group(system, kv).get("epoch").asLong(), load.acknowledged.get(), load.wrong.size(), load.errors.size());
            assertThat(load.wrong).as("results that differ from the model").isEmpty();
            assertThat(load.errors).as("client-visible errors").isEmpty();
            for (Map.Entry<String, Long> entry : load.model.entrySet()) {
                assertThat(LedgerLoad.call(client, kv, entry.getKey(), "{\"op\":\"get\",\"key\":\"" + entry.getKey() + "\"}"))
                        .as(entry.getKey()).isEqualTo("{\"value\":" + entry.getValue() + "}");
            }
        }
    }

    /**
     * In DMR the member whose own self-check failed is the faulty one: it is removed, the group runs
     * on one member, and heals back to two, with no client error.
     */
    @Test
    void dmrMemberThatFailsItsSelfCheckIsIsolatedAndReplaced() throws Exception {
        faultsIn("dmr", "self-check backup", "self-check primary");
    }

    /**
     * DMR has no majority of its own: when its two members disagree and no self-check shows which
     * is wrong, a referee rebuilt from a state both agreed on executes the entry again and the
     * member it disagrees with is isolated, dumped and replaced, with no wrong result and no client
     * error. First the orderer's output differs, then a partner's state is corrupted.
     */
    @Test
    void dmrDisagreementsAreSettledByARefereeWithoutAWrongResult() throws Exception {
        faultsIn("dmr", "diverge primary", "corrupt other");
    }

    /**
     * Each step is "FAULT WHO": FAULT is corrupt or diverge, WHO is primary (the orderer), backup
     * (a member that does not order, chosen from the seed) or other (a member on another node than
     * the previous step's victim, chosen from the seed). Each step waits for the group to heal.
     */
    private void faultsIn(String mode, String... steps) throws Exception {
        int members = mode.equals("tmr") ? 3 : 2;
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("LockstepIT " + mode + " " + String.join(", ", steps) + ": seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        Random random = new Random(seed);
        LocalSystem system = system();
        String kv = newService();
        String cluster = system.dir().toString();
        // A short digest interval in TMR, the default in DMR: the members must all use the deployed one.
        long digestEvery = mode.equals("tmr") ? 16 : 64;
        system.cli("deploy", kv, "--example", "kv", "--mode", mode, "--digest-every", Long.toString(digestEvery), "--dir", cluster);
        JsonNode service = new ObjectMapper().readTree(system.cli("services", "--json", "--dir", cluster)).valueStream()
                .filter(s -> s.get("name").asString().equals(kv)).findFirst().orElseThrow();
        assertThat(service.get("digestEvery").asLong()).as("the digest interval of %s", service).isEqualTo(digestEvery);
        assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("kv in %s with %d members in sync", mode, members).isTrue();
        try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
            KvModelLoad load = new KvModelLoad(client, kv, CLIENTS, seed);
            load.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= 300);
            String previous = null;
            for (String step : steps) {
                String fault = step.substring(0, step.indexOf(' '));
                String who = step.substring(step.indexOf(' ') + 1);
                JsonNode before = group(system, kv);
                long epochBefore = before.get("epoch").asLong();
                String victim = victim(before, who, previous, random);
                previous = victim;
                Path dumps = Path.of(system.clusterFile().node(victim).data()).resolve("dumps");
                int dumpsBefore = dumpFiles(dumps, kv).size();
                String answer = system.cli("fault", fault, kv, "--partition", "0", "--node", victim, "--dir", cluster);
                System.out.println("LockstepIT: " + answer.strip());
                long ackedAtFault = load.acknowledged.get();

                // Isolated: the controller removes the member (the epoch rises), then adds a fresh one.
                await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                        .until(() -> group(system, kv).get("epoch").asLong() > epochBefore);
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("back to %d members in sync after %s", members, step)
                        .isTrue();
                JsonNode after = group(system, kv);
                assertThat(after.has("halted")).as("the group did not halt: %s", after).isFalse();
                assertThat(after.get("replicas")).hasSize(members);
                if (who.equals("primary")) {
                    assertThat(primary(after)).as("the outvoted orderer no longer orders").isNotEqualTo(victim);
                }
                List<Path> files = dumpFiles(dumps, kv);
                assertThat(files).as("a dump of the isolated member in %s", dumps).hasSizeGreaterThan(dumpsBefore);
                String dump = Files.readString(files.get(files.size() - 1), StandardCharsets.UTF_8);
                System.out.println("LockstepIT: dump " + files.get(files.size() - 1) + "\n"
                        + dump.lines().limit(10).reduce("", (a, b) -> a + "  " + b + "\n"));
                assertThat(dump).contains("reason: ", "node: " + victim, "epoch: ", "index: ", "state.service.text: ", "entry index=");

                // The healed group keeps serving.
                long ackedAtHeal = load.acknowledged.get();
                await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= ackedAtHeal + 200);
                System.out.printf("LockstepIT %s on %s: epoch %d -> %d, %d acknowledged before the fault, %d now; %d wrong, %d errors%n",
                        step, victim, epochBefore, after.get("epoch").asLong(), ackedAtFault, load.acknowledged.get(),
                        load.wrong.size(), load.errors.size());
            }
            load.stop();
            assertThat(load.wrong).as("results that differ from the model").isEmpty();
            assertThat(load.errors).as("client-visible errors").isEmpty();
            // Every key reads back as the model says, through whichever member orders now.
            for (Map.Entry<String, Long> entry : load.model.entrySet()) {
                assertThat(LedgerLoad.call(client, kv, entry.getKey(), "{\"op\":\"get\",\"key\":\"" + entry.getKey() + "\"}"))
                        .as(entry.getKey()).isEqualTo("{\"value\":" + entry.getValue() + "}");
            }
        }
    }

    private static String victim(JsonNode group, String who, String previous, Random random) {
        List<String> candidates = new ArrayList<>();
        for (JsonNode replica : group.get("replicas")) {
            String node = replica.get("node").asString();
            boolean primary = replica.get("role").asString().equals("primary");
            if (who.equals("primary") ? primary : who.equals("backup") ? !primary : !node.equals(previous)) {
                candidates.add(node);
            }
        }
        Collections.sort(candidates);
        assertThat(candidates).as("members that are %s in %s", who, group).isNotEmpty();
        return candidates.get(random.nextInt(candidates.size()));
    }

    private static String primary(JsonNode group) {
        for (JsonNode replica : group.get("replicas")) {
            if (replica.get("role").asString().equals("primary")) {
                return replica.get("node").asString();
            }
        }
        return null;
    }

    private static JsonNode group(LocalSystem system, String service) {
        for (JsonNode group : system.status().get("groups")) {
            if (group.get("service").asString().equals(service) && group.get("partition").asInt() == 0) {
                return group;
            }
        }
        throw new AssertionError("no group " + service + "/0 in the status");
    }

    /** The dumps of one service's members in a dumps directory, oldest first (file names begin with the service). */
    static List<Path> dumpFiles(Path dumps, String service) throws IOException {
        return dumpFiles(dumps).stream().filter(f -> f.getFileName().toString().startsWith(service + "-")).toList();
    }

    static List<Path> dumpFiles(Path dumps) throws IOException {
        if (!Files.isDirectory(dumps)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dumps)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".dump")).sorted().toList();
        }
    }
}
