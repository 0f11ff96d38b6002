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
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * {@code pairstep upgrade} with real node processes, under load from several clients checked
 * against a model: version 1 to a version 2 that writes its state in another format (and reads
 * version 1's), then to a deliberately broken version 3 that rolls back by itself, then to a
 * version 3 that fails only on one command sent after every primary moved, which rolls back through
 * the old primaries kept as backups. Zero client-visible errors, nothing lost or run twice.
 */
class UpgradeIT {

    private static final int CLIENTS = 4;
    private static final int PARTITIONS = 3;

    @TempDir
    Path dir;

    @Test
    void upgradeUnderLoadThenABrokenVersionRollsBackByItself() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("UpgradeIT: seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        Path jars = Files.createDirectories(dir.resolve("jars"));
        Path v1 = ServiceJars.build(jars, "counters-1", "Counters", ServiceJars.counters(1, false, false));
        Path v2 = ServiceJars.build(jars, "counters-2", "Counters", ServiceJars.counters(2, false, false));
        Path skewed = ServiceJars.build(jars, "counters-3-skewed", "Counters", ServiceJars.counters(3, false, true));
        Path broken = ServiceJars.build(jars, "counters-3", "Counters", ServiceJars.counters(3, true, false));
        Path explodes = ServiceJars.build(jars, "counters-3-explodes", "Counters", ServiceJars.counters(3, false, false, true));
        try (LocalSystem system = LocalSystem.start(dir.resolve("cluster"), 3, LocalSystem.freeBasePort(), "always", false)) {
            String cluster = system.dir().toString();
            System.out.println("UpgradeIT: " + system.cli("deploy", "counters", "--jar", v1.toString(), "--class", "it.artifacts.Counters",
                    "--partitions", Integer.toString(PARTITIONS), "--dir", cluster).strip());
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                assertThat(versionsAnswered(client)).containsOnly(1L);
                KvModelLoad load = new KvModelLoad(client, "counters", CLIENTS, seed);
                load.start();
                awaitMoreAcknowledged(load, 300);

                // A shadow run first: version 2 answers as version 1 does, so the upgrade goes on.
                String upgraded = system.cli("upgrade", "counters", "--jar", v2.toString(), "--shadow", "100", "--timeout", "180",
                        "--dir", cluster);
                System.out.println("UpgradeIT: " + upgraded.strip());
                assertThat(upgraded).contains("upgrading counters from version 1 to 2", "first 100 commands in shadow mode",
                        "counters now runs version 2");
                assertThat(replicaVersions(system)).as("every replica runs version 2").containsOnly(2L);
                assertThat(service(system).get("upgrade").get("state").asString()).isEqualTo("done");
                awaitMoreAcknowledged(load, 200);
                assertThat(versionsAnswered(client)).containsOnly(2L);

                // A service in mode none, under a load of its own: its replica hands over to a
                // version 2 replica that synced on another node, which then serves alone.
                System.out.println("UpgradeIT: " + system.cli("deploy", "single", "--jar", v1.toString(), "--class", "it.artifacts.Counters",
                        "--mode", "none", "--dir", cluster).strip());
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                KvModelLoad single = new KvModelLoad(client, "single", 2, seed + 1);
                single.start();
                awaitMoreAcknowledged(single, 100);
                String singleUpgraded = system.cli("upgrade", "single", "--jar", v2.toString(), "--timeout", "180", "--dir", cluster);
                System.out.println("UpgradeIT: " + singleUpgraded.strip());
                assertThat(singleUpgraded).contains("single now runs version 2");
                java.util.List<JsonNode> singleGroups = groups(system, "single");
                assertThat(singleGroups).hasSize(1);
                assertThat(singleGroups.getFirst().get("replicas")).hasSize(1);
                assertThat(singleGroups.getFirst().get("replicas").get(0).get("version").asLong()).isEqualTo(2);
                awaitMoreAcknowledged(single, 100);
                single.stop();
                assertThat(single.wrong).as("results that differ from the model").isEmpty();
                assertThat(single.errors).as("client-visible errors").isEmpty();

                // A version that answers differently is caught in shadow mode, and nothing is switched.
                assertThatThrownBy(() -> system.cli("upgrade", "counters", "--jar", skewed.toString(), "--shadow", "100", "--timeout", "180",
                        "--dir", cluster))
                        .hasMessageContaining("the upgrade of counters to version 3 stopped")
                        .hasMessageContaining("answered differently");
                JsonNode stopped = service(system).get("upgrade");
                System.out.println("UpgradeIT: after the shadow run of a skewed version " + stopped);
                assertThat(stopped.get("state").asString()).isEqualTo("shadow-differed");
                assertThat(stopped.get("differences").get(0).asString()).contains("\"op\":\"incr\"", "the new version answered");
                assertThat(replicaVersions(system)).as("nothing switched").containsOnly(2L);
                assertThat(versionsAnswered(client)).containsOnly(2L);

                // Version 3 reads no state and crashes on every command: its first backup fails,
                // and the upgrade turns back before any primary moved.
                assertThatThrownBy(() -> system.cli("upgrade", "counters", "--jar", broken.toString(), "--timeout", "180", "--dir", cluster))
                        .hasMessageContaining("the upgrade of counters to version 3 rolled back")
                        .hasMessageContaining("version 3 failed on");
                JsonNode service = service(system);
                System.out.println("UpgradeIT: after the broken upgrade " + service);
                assertThat(service.get("version").asLong()).isEqualTo(2);
                assertThat(service.get("upgrade").get("state").asString()).isEqualTo("rolled-back");
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                assertThat(replicaVersions(system)).as("every replica runs version 2 again").containsOnly(2L);
                awaitMoreAcknowledged(load, 200);
                assertThat(versionsAnswered(client)).containsOnly(2L);
                assertThat(system.cli("events", "--dir", cluster)).contains("no output differed in shadow mode",
                        "upgrade from version 1 to 2 done", "upgrade from version 2 to 3 stopped",
                        "upgrade from version 2 to 3 rolls back", "upgrade from version 2 to 3 rolled back");

                // Version 3 runs the load fine but crashes on a command none of the others crashes on,
                // first sent once every primary runs version 3. The bake keeps each old primary, on
                // version 2 with its own state, as its group's backup: it takes over, the command is
                // quarantined, the other primaries hand back, and the upgrade rolls back.
                System.out.println("UpgradeIT: " + system.cli("upgrade", "counters", "--jar", explodes.toString(), "--bake", "300",
                        "--no-wait", "--dir", cluster).strip());
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                        .until(() -> service(system).get("upgrade").get("state").asString().equals("baking"));
                java.util.List<JsonNode> baking = groups(system);
                System.out.println("UpgradeIT: baking " + baking);
                for (JsonNode group : baking) {
                    for (JsonNode replica : group.get("replicas")) {
                        assertThat(replica.get("version").asLong()).as("%s", group)
                                .isEqualTo(replica.get("role").asString().equals("primary") ? 3 : 2);
                        assertThat(replica.get("state").asString()).as("%s", group).isEqualTo("ok");
                    }
                }
                awaitMoreAcknowledged(load, 200);
                assertThat(versionsAnswered(client)).containsOnly(3L);
                assertThatThrownBy(() -> LedgerLoad.call(client, "counters", "bomb", "{\"op\":\"explode\",\"key\":\"bomb\"}"))
                        .hasMessageContaining("quarantined");
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200))
                        .until(() -> service(system).get("upgrade").get("state").asString().equals("rolled-back"));
                JsonNode rolledBack = service(system);
                System.out.println("UpgradeIT: after the late rollback " + rolledBack);
                assertThat(rolledBack.get("version").asLong()).isEqualTo(2);
                assertThat(rolledBack.get("upgrade").get("reason").asString()).contains("version 3 failed on", "StackOverflowError");
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                assertThat(replicaVersions(system)).as("every replica runs version 2 again").containsOnly(2L);
                awaitMoreAcknowledged(load, 200);
                assertThat(versionsAnswered(client)).containsOnly(2L);
                assertThat(LedgerLoad.call(client, "counters", "after", "{\"op\":\"explode\",\"key\":\"after\"}"))
                        .as("version 2 answers the command that crashed version 3").isEqualTo("{\"exploded\":false}");

                load.stop();
                System.out.printf("UpgradeIT: %d acknowledged, %d wrong, %d errors%n", load.acknowledged.get(), load.wrong.size(),
                        load.errors.size());
                assertThat(load.wrong).as("results that differ from the model").isEmpty();
                assertThat(load.errors).as("client-visible errors").isEmpty();
                for (Map.Entry<String, Long> entry : load.model.entrySet()) {
                    assertThat(LedgerLoad.call(client, "counters", entry.getKey(), "{\"op\":\"get\",\"key\":\"" + entry.getKey() + "\"}"))
                            .as(entry.getKey()).isEqualTo("{\"value\":" + entry.getValue() + "}");
                }
            }
        }
    }

    private static void awaitMoreAcknowledged(KvModelLoad load, long more) {
        long from = load.acknowledged.get();
        await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= from + more);
        assertThat(load.errors).as("client-visible errors").isEmpty();
        assertThat(load.wrong).as("results that differ from the model").isEmpty();
    }

    /** The versions that answer, over keys that reach every partition. */
    private static java.util.Set<Long> versionsAnswered(PairstepClient client) {
        java.util.Set<Long> versions = new java.util.TreeSet<>();
        for (int i = 0; i < 8 * PARTITIONS; i++) {
            String answer = LedgerLoad.call(client, "counters", "probe" + i, "{\"op\":\"version\"}");
            versions.add(Long.parseLong(answer.replaceAll("[^0-9]", "")));
        }
        return versions;
    }

    private static java.util.List<Long> replicaVersions(LocalSystem system) {
        return system.status().get("groups").valueStream().filter(g -> g.get("service").asString().equals("counters"))
                .flatMap(g -> g.get("replicas").valueStream()).map(r -> r.get("version").asLong()).toList();
    }

    private static java.util.List<JsonNode> groups(LocalSystem system) {
        return groups(system, "counters");
    }

    private static java.util.List<JsonNode> groups(LocalSystem system, String service) {
        return system.status().get("groups").valueStream().filter(g -> g.get("service").asString().equals(service)).toList();
    }

    private static JsonNode service(LocalSystem system) {
        return system.status().get("services").valueStream().filter(s -> s.get("name").asString().equals("counters")).findFirst()
                .orElseThrow();
    }
}
