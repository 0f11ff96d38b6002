package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * {@code pairstep upgrade} of lockstep services with real node processes, under load from several
 * clients checked against a model, as {@link UpgradeIT} does for pairs: first a shadow run of a
 * version 2 that answers differently, which reports the differences and switches nothing; then,
 * after a shadow run that finds none, version 1 to a version 2
 * that writes its state in another format (and reads version 1's), so that members of the two
 * versions compare outputs but not state digests while the group mixes them; then a version 3
 * that answers differently, caught by the vote and rolled back; then a version 3 that cannot read
 * the state, rolled back too; then a version 3 that crashes on a command first sent while it bakes
 * as every orderer, rolled back through the members of version 2 the bake kept. Zero client-visible errors (but for that command, refused as poison), nothing lost
 * or run twice, and every group fully protected on version 2 at the end.
 */
class LockstepUpgradeIT {

    private static final int CLIENTS = 4;
    private static final int PARTITIONS = 2;

    @TempDir
    Path dir;

    @Test
    void tmrUpgradesUnderLoadAndAVersionThatAnswersDifferentlyOrCannotReadTheStateRollsBack() throws Exception {
        upgradeUnderLoad("tmr");
    }

    @Test
    void dmrUpgradesUnderLoadAndAVersionThatAnswersDifferentlyOrCannotReadTheStateRollsBack() throws Exception {
        upgradeUnderLoad("dmr");
    }

    private void upgradeUnderLoad(String mode) throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        String name = "LockstepUpgradeIT " + mode;
        System.out.println(name + ": seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        Path jars = Files.createDirectories(dir.resolve("jars"));
        Path v1 = ServiceJars.build(jars, "counters-1", "Counters", ServiceJars.counters(1, false, false));
        Path v2 = ServiceJars.build(jars, "counters-2", "Counters", ServiceJars.counters(2, false, false));
        Path skewed2 = ServiceJars.build(jars, "counters-2-skewed", "Counters", ServiceJars.counters(2, false, true));
        Path skewed = ServiceJars.build(jars, "counters-3-skewed", "Counters", ServiceJars.counters(3, false, true));
        Path broken = ServiceJars.build(jars, "counters-3", "Counters", ServiceJars.counters(3, true, false));
        Path explodes = ServiceJars.build(jars, "counters-3-explodes", "Counters", ServiceJars.counters(3, false, false, true));
        try (LocalSystem system = LocalSystem.start(dir.resolve("cluster"), 3, LocalSystem.freeBasePort(), "always", false)) {
            String cluster = system.dir().toString();
            System.out.println(name + ": " + system.cli("deploy", "counters", "--jar", v1.toString(), "--class", "it.artifacts.Counters",
                    "--partitions", Integer.toString(PARTITIONS), "--mode", mode, "--dir", cluster).strip());
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                assertThat(versionsAnswered(client)).containsOnly(1L);
                KvModelLoad load = new KvModelLoad(client, "counters", CLIENTS, seed);
                load.start();
                awaitMoreAcknowledged(load, 300);

                // A shadow run of a version 2 that answers incr differently, on a follower of each
                // group: every difference is reported, and nothing is switched.
                assertThatThrownBy(() -> system.cli("upgrade", "counters", "--jar", skewed2.toString(), "--shadow", "100", "--timeout",
                        "180", "--dir", cluster))
                        .hasMessageContaining("the upgrade of counters to version 2 stopped")
                        .hasMessageContaining("answered differently");
                JsonNode stopped = service(system).get("upgrade");
                System.out.println(name + ": after the shadow run of a skewed version " + stopped);
                assertThat(stopped.get("state").asString()).isEqualTo("shadow-differed");
                assertThat(stopped.get("shadowed")).hasSize(PARTITIONS);
                assertThat(stopped.get("differences").get(0).asString()).contains("\"op\":\"incr\"", "the new version answered");
                assertThat(replicaVersions(system)).as("nothing switched").containsOnly(1L);
                assertThat(versionsAnswered(client)).containsOnly(1L);
                assertThat(dumps(system)).as("a shadow run finds no member divergent").isEmpty();
                awaitMoreAcknowledged(load, 100);

                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                // Version 2 stores its state in another format: the members of both versions vote
                // on every output meanwhile, and no state digest declares them divergent. A shadow
                // run first finds no difference, and the upgrade goes on.
                String upgraded = system.cli("upgrade", "counters", "--jar", v2.toString(), "--shadow", "100", "--timeout", "240",
                        "--dir", cluster);
                System.out.println(name + ": " + upgraded.strip());
                assertThat(upgraded).contains("upgrading counters from version 1 to 2", "first 100 commands in shadow mode",
                        "counters now runs version 2");
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                assertThat(replicaVersions(system)).as("every member runs version 2").containsOnly(2L)
                        .hasSize(PARTITIONS * (mode.equals("tmr") ? 3 : 2));
                assertThat(service(system).get("upgrade").get("state").asString()).isEqualTo("done");
                awaitMoreAcknowledged(load, 200);
                assertThat(versionsAnswered(client)).containsOnly(2L);
                assertThat(dumps(system)).as("no member was found divergent or crashed, so none left a dump").isEmpty();

                // A version that answers every incr differently is outvoted by the orderer's version,
                // and the upgrade turns back before any orderer moved, in dmr as in tmr: an orderer's
                // role moves to a new member only once it agreed with the old orderer on 64 commands,
                // which an incr among them would not (before that rule, in dmr the role could move as
                // soon as the member was in sync, before any incr reached it: seen once in CI, 2026-12-03).
                assertThatThrownBy(() -> system.cli("upgrade", "counters", "--jar", skewed.toString(), "--timeout", "240", "--dir", cluster))
                        .hasMessageContaining("the upgrade of counters to version 3 rolled back")
                        .hasMessageContaining("version 3 failed on")
                        .hasMessageContaining("answered differently from the orderer's version 2");
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                assertThat(replicaVersions(system)).as("every member runs version 2 again").containsOnly(2L);
                assertThat(dumps(system)).as("the outvoted member of version 3 left a dump").isNotEmpty();
                awaitMoreAcknowledged(load, 200);

                // Version 3 reads no state: its first member fails to restore, and the upgrade turns back.
                assertThatThrownBy(() -> system.cli("upgrade", "counters", "--jar", broken.toString(), "--timeout", "240", "--dir", cluster))
                        .hasMessageContaining("the upgrade of counters to version 3 rolled back")
                        .hasMessageContaining("version 3 failed on");
                JsonNode service = service(system);
                System.out.println(name + ": after the broken upgrade " + service);
                assertThat(service.get("version").asLong()).isEqualTo(2);
                assertThat(service.get("upgrade").get("state").asString()).isEqualTo("rolled-back");
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                assertThat(replicaVersions(system)).as("every member runs version 2 again").containsOnly(2L);
                awaitMoreAcknowledged(load, 200);
                assertThat(versionsAnswered(client)).containsOnly(2L);

                // Version 3 runs the load fine but crashes on a command only it crashes on, first sent
                // once every orderer runs version 3. The bake keeps each group's last member of version
                // 2, in sync with its own state: it takes the orderer's role back, the command is
                // quarantined, the other orderers hand their roles back, and the upgrade rolls back.
                // Under load: each orderer hands over before its role moves, so that the member of
                // version 2 holds no entry the next orderer lacks (before hand-overs, one group in
                // four lost it to a rebuild in version 3 here, and the way back closed).
                System.out.println(name + ": " + system.cli("upgrade", "counters", "--jar", explodes.toString(), "--bake", "300",
                        "--no-wait", "--dir", cluster).strip());
                await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200))
                        .until(() -> service(system).get("upgrade").get("state").asString().equals("baking"));
                List<JsonNode> baking = groups(system);
                System.out.println(name + ": baking " + baking);
                if (baking.stream().anyMatch(g -> g.get("replicas").valueStream().noneMatch(r -> r.get("version").asLong() == 2))) {
                    // For the diagnosis of the assertion below: what happened to the old member.
                    System.out.println(name + ": events " + system.cli("events", "--dir", cluster));
                }
                for (JsonNode group : baking) {
                    List<JsonNode> members = group.get("replicas").valueStream().toList();
                    assertThat(members).as("the orderer runs version 3 in %s", group)
                            .anyMatch(r -> r.get("role").asString().equals("primary") && r.get("version").asLong() == 3);
                    assertThat(members).as("a member of version 2 stays in sync in %s", group)
                            .anyMatch(r -> r.get("role").asString().equals("backup") && r.get("version").asLong() == 2
                                    && r.get("state").asString().equals("ok"));
                }
                // (Not the version probe here: members of two versions would answer it differently.)
                awaitMoreAcknowledged(load, 200);
                assertThatThrownBy(() -> LedgerLoad.call(client, "counters", "bomb", "{\"op\":\"explode\",\"key\":\"bomb\"}"))
                        .hasMessageContaining("quarantined");
                await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofMillis(200))
                        .until(() -> service(system).get("upgrade").get("state").asString().equals("rolled-back"));
                JsonNode late = service(system);
                System.out.println(name + ": after the late rollback " + late);
                assertThat(late.get("version").asLong()).isEqualTo(2);
                assertThat(late.get("upgrade").get("reason").asString()).contains("version 3 failed on", "StackOverflowError");
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                assertThat(replicaVersions(system)).as("every member runs version 2 again").containsOnly(2L);
                awaitMoreAcknowledged(load, 200);
                assertThat(versionsAnswered(client)).containsOnly(2L);
                assertThat(LedgerLoad.call(client, "counters", "after", "{\"op\":\"explode\",\"key\":\"after\"}"))
                        .as("version 2 answers the command that crashed version 3").isEqualTo("{\"exploded\":false}");

                assertThat(system.cli("events", "--dir", cluster)).contains("upgrade from version 1 to 2 stopped",
                        "no output differed in shadow mode", "upgrade from version 1 to 2 done",
                        "the members other than the orderer first, then the orderers", "upgrade from version 2 to 3 rolls back",
                        "upgrade from version 2 to 3 rolled back");

                load.stop();
                System.out.printf("%s: %d acknowledged, %d wrong, %d errors%n", name, load.acknowledged.get(), load.wrong.size(),
                        load.errors.size());
                assertThat(load.wrong).as("results that differ from the model").isEmpty();
                assertThat(load.errors).as("client-visible errors").isEmpty();
                for (Map.Entry<String, Long> entry : load.model.entrySet()) {
                    assertThat(LedgerLoad.call(client, "counters", entry.getKey(), "{\"op\":\"get\",\"key\":\"" + entry.getKey() + "\"}"))
                            .as(entry.getKey()).isEqualTo("{\"value\":" + entry.getValue() + "}");
                }
                assertThat(system.fullyProtected()).isTrue();
            }
        }
    }

    private static void awaitMoreAcknowledged(KvModelLoad load, long more) {
        long from = load.acknowledged.get();
        await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= from + more);
        assertThat(load.errors).as("client-visible errors").isEmpty();
        assertThat(load.wrong).as("results that differ from the model").isEmpty();
    }

    /** The versions that answer, over keys that reach every partition; only while no group mixes versions. */
    private static Set<Long> versionsAnswered(PairstepClient client) {
        Set<Long> versions = new TreeSet<>();
        for (int i = 0; i < 8 * PARTITIONS; i++) {
            String answer = LedgerLoad.call(client, "counters", "probe" + i, "{\"op\":\"version\"}");
            versions.add(Long.parseLong(answer.replaceAll("[^0-9]", "")));
        }
        return versions;
    }

    /** The dump files members left under every node's data directory. */
    private static List<Path> dumps(LocalSystem system) throws java.io.IOException {
        try (java.util.stream.Stream<Path> files = Files.walk(system.dir())) {
            return files.filter(f -> Files.isRegularFile(f) && f.getParent().getFileName().toString().equals("dumps")).toList();
        }
    }

    private static List<JsonNode> groups(LocalSystem system) {
        return system.status().get("groups").valueStream().filter(g -> g.get("service").asString().equals("counters")).toList();
    }

    private static List<Long> replicaVersions(LocalSystem system) {
        return system.status().get("groups").valueStream().filter(g -> g.get("service").asString().equals("counters"))
                .flatMap(g -> g.get("replicas").valueStream()).map(r -> r.get("version").asLong()).toList();
    }

    private static JsonNode service(LocalSystem system) {
        return system.status().get("services").valueStream().filter(s -> s.get("name").asString().equals("counters")).findFirst()
                .orElseThrow();
    }
}
