package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static io.pairstep.it.CrashReplicaIT.group;
import static io.pairstep.it.CrashReplicaIT.nodes;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * {@code pairstep dump} with real JVM processes under load from several kv clients checked against
 * a model: the dump comes from a backup (a non-ordering voter in tmr), names the epoch and index it
 * reflects, holds every write acknowledged before it was asked for and only values the keys really
 * took (a consistent prefix), costs the clients no error, and {@code --inspect} prints the kv
 * entries as JSON. The methods share one system of three nodes (see {@link SharedSystem}), each
 * with a kv service of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DumpIT {

    private static final int CLIENTS = 4;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Static: a field of the instance would be a new directory, deleted after each method, even with one instance. */
    @TempDir
    static Path dir;

    @RegisterExtension
    static final SharedSystem shared = new SharedSystem(() -> dir, 3);



    @Test
    void pairDumpComesFromTheBackupAsAConsistentPrefixUnderLoad() throws Exception {
        dumpUnderLoad("pair");
    }

    @Test
    void tmrDumpComesFromAVoterThatDoesNotOrder() throws Exception {
        dumpUnderLoad("tmr");
    }

    private void dumpUnderLoad(String mode) throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("DumpIT " + mode + ": seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        LocalSystem system = shared.get();
        String cluster = system.dir().toString();
        String kv = "kv-" + mode;
        system.deploy(kv, "kv", mode, 1);
        assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
        try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
            KvModelLoad load = new KvModelLoad(client, kv, CLIENTS, seed);
            load.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= 300);

            JsonNode group = group(system, kv);
            String primary = system.primaryOf(kv, 0);
            Map<String, Long> acknowledgedBefore = new HashMap<>(load.model);
            Path file = dir.resolve(kv + ".dump");
            String said = system.cli("dump", kv, "--partition", "0", "--out", file.toString(), "--dir", cluster);
            System.out.println("DumpIT: " + said.strip());
            long acknowledged = load.acknowledged.get();
            await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= acknowledged + 100);
            load.stop();
            System.out.printf("DumpIT %s: %d acknowledged, %d wrong, %d errors%n", mode, load.acknowledged.get(), load.wrong.size(),
                    load.errors.size());
            assertThat(load.errors).as("client-visible errors").isEmpty();
            assertThat(load.wrong).as("results that differ from the model").isEmpty();

            Map<String, String> header = header(Files.readAllLines(file, StandardCharsets.UTF_8));
            assertThat(said).contains("written to " + file);
            assertThat(header.get("role")).isEqualTo("backup");
            assertThat(header.get("node")).as("not the primary, which orders").isNotEqualTo(primary);
            assertThat(nodes(group)).contains(header.get("node"));
            assertThat(Long.parseLong(header.get("epoch"))).as("the epoch the group was in")
                    .isBetween(group.get("epoch").asLong(), group(system, kv).get("epoch").asLong());
            long index = Long.parseLong(header.get("index"));
            assertThat(index).as("at least the writes acknowledged before the dump").isGreaterThanOrEqualTo(acknowledgedBefore.size());
            assertThat(header.get("state.index")).as("the state reflects the index the dump names").isEqualTo(header.get("index"));

            JsonNode entries = JSON.readTree(inspectedState(system, file, kv)).get("entries");
            assertThat(entries).as("kv entries as JSON").isNotNull();
            for (Map.Entry<String, Long> before : acknowledgedBefore.entrySet()) {
                JsonNode value = entries.get(before.getKey());
                assertThat(value).as("%s was acknowledged before the dump", before.getKey()).isNotNull();
                assertThat(value.asLong()).as(before.getKey()).isGreaterThanOrEqualTo(before.getValue());
            }
            for (Map.Entry<String, JsonNode> entry : entries.properties()) {
                List<Long> took = load.history.get(entry.getKey());
                assertThat(took).as("a key the clients wrote").isNotNull();
                assertThat(took).as("%s holds a value it really took, none from the future", entry.getKey())
                        .contains(entry.getValue().asLong());
            }

            // Quiet now: a dump of every member, each restored into a fresh replica by --inspect,
            // gives the same state at the same index, whichever node it came from.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                Map<String, String> restored = new HashMap<>();
                for (String node : nodes(group(system, kv))) {
                    Path member = dir.resolve(kv + "-" + node + ".dump");
                    system.cli("dump", kv, "--node", node, "--out", member.toString(), "--dir", cluster);
                    String line = system.cli("dump", "--inspect", member.toString()).lines()
                            .filter(l -> l.startsWith("restored:")).findFirst().orElseThrow();
                    restored.put(node, line.substring("restored:".length()).strip());
                }
                System.out.println("DumpIT: every member restored: " + restored);
                assertThat(restored.values()).allMatch(line -> line.startsWith("restores into a fresh example:kv replica at index"));
                assertThat(restored.values().stream().distinct()).as("the same state on every member: %s", restored).hasSize(1);
            });

            // Bad input changes nothing and says what is wrong.
            assertThatThrownBy(() -> system.cli("dump", "nosuch", "--dir", cluster)).hasMessageContaining("unknown service nosuch");
            assertThatThrownBy(() -> system.cli("dump", kv, "--partition", "3", "--dir", cluster))
                    .hasMessageContaining("partition 3 is out of range: " + kv + " has 1 partition");
        }
    }

    /** The state {@code pairstep dump --inspect} prints: the lines after "state:" up to the closing brace. */
    private static String inspectedState(LocalSystem system, Path file, String service) {
        String inspected = system.cli("dump", "--inspect", file.toString());
        System.out.println("DumpIT: --inspect printed " + inspected.lines().count() + " lines; it begins:\n"
                + inspected.lines().limit(20).reduce("", (a, b) -> a + b + "\n"));
        assertThat(inspected).contains("service:               " + service, "role:                  backup");
        String state = inspected.substring(inspected.indexOf("state:\n") + "state:\n".length());
        return state.substring(0, state.lastIndexOf('}') + 1);
    }

    private static Map<String, String> header(List<String> lines) {
        Map<String, String> header = new HashMap<>();
        for (String line : lines) {
            int colon = line.indexOf(": ");
            if (colon > 0 && !line.startsWith("entry ")) {
                header.put(line.substring(0, colon), line.substring(colon + 2));
            }
        }
        return header;
    }
}
