package io.pairstep.avail.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.pairstep.avail.Metric;
import io.pairstep.avail.threshold.Direction;
import io.pairstep.avail.threshold.ThresholdRule;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigParserTest {

    @TempDir
    Path dir;

    @Test
    void readsEveryKindOfEntry() throws Exception {
        Path program = executable("notify");
        String yaml = """
                thresholds:
                  - metric: node.cpu
                    fire: 0.9
                    clear: 0.7
                    duration: 30s
                  - metric: node.disk.free.bytes
                    direction: below
                    fire: 1.0e9
                    clear: "2e9"
                    duration: 2m
                    subject: /var/lib/pairstep
                  - metric: partition.latency.p99.ms
                    fire: 250
                    duration: 500ms
                  - {metric: partition.queue.depth, fire: 100, duration: 5s, service: kv, partition: 3}
                  - {metric: partition.replica.syncing, fire: 1, duration: 1m, service: bank}
                actions:
                  - {type: email, host: smtp.example.com, port: 587, tls: starttls, from: ps@example.com, to: [a@example.com, b@example.com], user: ps, password: secret}
                  - {type: webhook, url: "http://127.0.0.1:8080/alerts", timeout: 2s}
                  - {type: program, path: "%s", args: [--urgent, "two words"], timeout: 1h}
                  - {type: snmp, target: "127.0.0.1:1162", version: v2c, community: ops}
                  - {type: snmp, target: nms.example.com, version: v3, user: pairstep, auth: sha256,
                     authPassphrase: authpass123, privPassphrase: privpass123, engineId: "0x8000000001020304"}
                """.formatted(program);

        AvailabilityConfig config = ConfigParser.parse(yaml, "availability.yaml");

        assertThat(config.thresholds()).containsExactly(
                new ThresholdConfig(Metric.NODE_CPU, null, new ThresholdRule(Direction.ABOVE, 0.9, 0.7, 30_000)),
                new ThresholdConfig(Metric.NODE_DISK_FREE_BYTES, "/var/lib/pairstep",
                        new ThresholdRule(Direction.BELOW, 1e9, 2e9, 120_000)),
                new ThresholdConfig(Metric.PARTITION_LATENCY_P99_MS, null, new ThresholdRule(Direction.ABOVE, 250, 250, 500)),
                new ThresholdConfig(Metric.PARTITION_QUEUE_DEPTH, null, "kv", 3, new ThresholdRule(Direction.ABOVE, 100, 100, 5_000)),
                new ThresholdConfig(Metric.PARTITION_REPLICA_SYNCING, null, "bank", null,
                        new ThresholdRule(Direction.ABOVE, 1, 1, 60_000)));
        assertThat(config.actions()).containsExactly(
                new ActionConfig.Email("smtp.example.com", 587, ActionConfig.Tls.STARTTLS, "ps@example.com",
                        List.of("a@example.com", "b@example.com"), "ps", "secret", 10_000),
                new ActionConfig.Webhook(URI.create("http://127.0.0.1:8080/alerts"), 2_000),
                new ActionConfig.Program(program, List.of("--urgent", "two words"), 3_600_000),
                new ActionConfig.Snmp("127.0.0.1", 1162, "ops", null),
                new ActionConfig.Snmp("nms.example.com", 162, null, new ActionConfig.SnmpV3("pairstep",
                        ActionConfig.AuthProtocol.SHA256, "authpass123", "privpass123", "0x8000000001020304")));
    }

    @Test
    void callHomeIsAUrlOrAUrlWithATimeoutAndAWrongOneIsNamed() throws Exception {
        assertThat(ConfigParser.parse("callHome: \"https://support.example.com/incidents\"\n", "a.yaml").callHome())
                .isEqualTo(new ActionConfig.Webhook(URI.create("https://support.example.com/incidents"), 5_000));
        assertThat(ConfigParser.parse("callHome: {url: \"http://127.0.0.1:9/x\", timeout: 2s}\n", "a.yaml").callHome())
                .isEqualTo(new ActionConfig.Webhook(URI.create("http://127.0.0.1:9/x"), 2_000));
        assertThat(ConfigParser.parse("actions: []\n", "a.yaml").callHome()).isNull();

        ConfigException wrong = catchThrowableOfType(ConfigException.class,
                () -> ConfigParser.parse("callHome: \"mailto:ops@example.com\"\n", "a.yaml"));
        assertThat(wrong.problems()).containsExactly("callHome: not an http or https URL: \"mailto:ops@example.com\"");
        ConfigException field = catchThrowableOfType(ConfigException.class,
                () -> ConfigParser.parse("callHome: {url: \"http://h/x\", retries: 3}\n", "a.yaml"));
        assertThat(field.problems()).containsExactly("callHome.retries: unknown field (known here: url, timeout)");
    }

    @Test
    void snmpAgentIsAListenAddressWithACommunityAndAWrongOneIsNamed() throws Exception {
        assertThat(ConfigParser.parse("snmpAgent: {listen: \"0.0.0.0:1161\", community: ops}", "a.yaml").snmpAgent())
                .isEqualTo(new SnmpAgentConfig("0.0.0.0", 1161, "ops"));
        assertThat(ConfigParser.parse("snmpAgent: {listen: \"127.0.0.1:1161\"}", "a.yaml").snmpAgent().community()).isEqualTo("public");
        assertThat(ConfigParser.parse("thresholds: []", "a.yaml").snmpAgent()).isNull();
        assertThat(problems("snmpAgent: {listen: \"127.0.0.1\"}")).containsExactly("snmpAgent.listen: expected host:port, got \"127.0.0.1\"");
        assertThat(problems("snmpAgent: {listen: \"h:99999\", port: 1}")).containsExactly(
                "snmpAgent.port: unknown field (known here: listen, community)",
                "snmpAgent.listen: not a port number (1 to 65535) in \"h:99999\"");
        assertThat(problems("snmpAgent: {listen: \"h:161\", community: \"\"}")).containsExactly("snmpAgent.community: expected text, got \"\"");
    }

    @Test
    void anEmptyFileIsAnEmptyConfiguration() throws Exception {
        assertThat(ConfigParser.parse("", "a.yaml")).isEqualTo(AvailabilityConfig.EMPTY);
        assertThat(ConfigParser.parse("# nothing yet\n", "a.yaml")).isEqualTo(AvailabilityConfig.EMPTY);
    }

    @Test
    void namesAnUnknownMetricAndListsTheKnownOnes() {
        String yaml = """
                thresholds:
                  - {metric: node.cpu, fire: 0.9, duration: 1s}
                  - {metric: node.open.files, fire: 900, duration: 1s}
                  - {metric: node.cpux, fire: 0.9, duration: 1s}
                """;

        assertThat(problems(yaml)).containsExactly("thresholds[2].metric: unknown metric \"node.cpux\" (known: "
                + "node.cpu, node.heap.used.ratio, node.gc.pause.ms, node.disk.free.bytes, node.open.files, "
                + "partition.throughput, partition.latency.p99.ms, partition.queue.depth, partition.replication.lag, "
                + "partition.progress.age.ms, partition.replica.syncing)");
    }

    @Test
    void namesASelectorThatDoesNotFitItsMetric() {
        String yaml = """
                thresholds:
                  - {metric: node.cpu, fire: 0.9, duration: 1s, service: kv}
                  - {metric: partition.throughput, direction: below, fire: 10, duration: 1s, subject: kv/0}
                  - {metric: partition.queue.depth, fire: 10, duration: 1s, service: kv, partition: -1}
                  - {metric: partition.queue.depth, fire: 10, duration: 1s, partition: two}
                  - {metric: partition.queue.depth, fire: 10, duration: 1s, shard: 2}
                """;

        assertThat(problems(yaml)).containsExactly(
                "thresholds[0].service: only partition.* metrics have a service, not node.cpu",
                "thresholds[1].subject: partition.throughput is a partition metric: select with service: and partition:",
                "thresholds[2].partition: not a partition number (0 or more): -1",
                "thresholds[3].partition: not a partition number (0 or more): \"two\"",
                "thresholds[4].shard: unknown field (known here: metric, direction, fire, clear, duration, subject, service, partition)");
    }

    @Test
    void partitionSelectorsNarrowWhatAThresholdWatches() throws Exception {
        List<ThresholdConfig> thresholds = ConfigParser.parse("""
                thresholds:
                  - {metric: partition.queue.depth, fire: 10, duration: 1s}
                  - {metric: partition.queue.depth, fire: 10, duration: 1s, service: kv}
                  - {metric: partition.queue.depth, fire: 10, duration: 1s, partition: 1}
                  - {metric: partition.queue.depth, fire: 10, duration: 1s, service: kv, partition: 1}
                """, "a.yaml").thresholds();
        List<String> subjects = List.of("kv/0", "kv/1", "kv/10", "bank/1", "kvx/1");

        assertThat(watched(thresholds.get(0), subjects)).containsExactlyElementsOf(subjects);
        assertThat(watched(thresholds.get(1), subjects)).containsExactly("kv/0", "kv/1", "kv/10");
        assertThat(watched(thresholds.get(2), subjects)).containsExactly("kv/1", "bank/1", "kvx/1");
        assertThat(watched(thresholds.get(3), subjects)).containsExactly("kv/1");
        assertThat(thresholds.get(0).watches(Metric.PARTITION_THROUGHPUT, "kv/0")).isFalse();
    }

    private static List<String> watched(ThresholdConfig threshold, List<String> subjects) {
        return subjects.stream().filter(subject -> threshold.watches(Metric.PARTITION_QUEUE_DEPTH, subject)).toList();
    }

    @Test
    void namesALevelThatIsNotANumber() {
        assertThat(problems("thresholds: [{metric: node.cpu, fire: abc, duration: 1s}]"))
                .containsExactly("thresholds[0].fire: not a number: \"abc\"");
        assertThat(problems("thresholds: [{metric: node.cpu, fire: 1, clear: [1], duration: 1s}]"))
                .containsExactly("thresholds[0].clear: not a number: [1]");
    }

    @Test
    void reportsEveryWrongEntryAtOnce() {
        String yaml = """
                thresholds:
                  - {metric: node.cpu, fire: 0.7, clear: 0.9, duration: 1s}
                  - {metric: node.cpu, direction: sideways, fire: 1, duration: soon}
                  - {metric: node.cpu, fier: 1, duration: 1s}
                  - just a string
                actions:
                  - {type: pager}
                  - {type: webhook, url: "ftp://example.com/x"}
                  - {type: email, host: h, port: 70000, from: a@b}
                  - {type: program, path: relative/script}
                  - {type: snmp, target: "h:162", version: v1}
                  - {type: snmp, target: "h:x", version: v3, user: u, authPassphrase: short, privPassphrase: longenough, engineId: zz}
                  - {type: snmp, target: "h:162", community: c, user: u}
                """;

        assertThat(problems(yaml)).containsExactly(
                "thresholds[0].clear: must not be above fire (0.7) for direction above",
                "thresholds[1].direction: unknown value \"sideways\" (known: above, below)",
                "thresholds[1].duration: not a duration: \"soon\" (use e.g. 500ms, 30s, 5m, 1h)",
                "thresholds[2].fier: unknown field (known here: metric, direction, fire, clear, duration, subject, service, partition)",
                "thresholds[2].fire: missing",
                "thresholds[3]: expected a mapping, got \"just a string\"",
                "actions[0].type: unknown action \"pager\" (known: email, webhook, program, snmp)",
                "actions[1].url: not an http or https URL: \"ftp://example.com/x\"",
                "actions[2].port: not a port number (1 to 65535) in \"70000\"",
                "actions[2].to: missing",
                "actions[3].path: not an executable file given by its absolute path: \"relative/script\"",
                "actions[4].version: unknown SNMP version \"v1\" (known: v2c, v3)",
                "actions[5].target: not a port number (1 to 65535) in \"h:x\"",
                "actions[5].authPassphrase: must have at least 8 characters (RFC 3414)",
                "actions[5].engineId: expected 5 to 32 bytes in hex, got \"zz\"",
                "actions[6].user: unknown field (known here: type, target, version, community)");
    }

    @Test
    void reportsBrokenYamlWithItsPosition() {
        ConfigException refused = catchThrowableOfType(ConfigException.class,
                () -> ConfigParser.parse("thresholds:\n  - metric: [node.cpu\n", "a.yaml"));

        assertThat(refused.getMessage()).startsWith("a.yaml: not valid YAML: ").contains("line ");
    }

    @Test
    void refusesAnUnreadableFileNamingIt() {
        Path missing = dir.resolve("absent.yaml");
        assertThatThrownBy(() -> ConfigParser.read(missing))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith(missing + ": cannot read: ");
    }

    private static List<String> problems(String yaml) {
        return catchThrowableOfType(ConfigException.class, () -> ConfigParser.parse(yaml, "a.yaml")).problems();
    }

    private Path executable(String name) throws Exception {
        Path file = dir.resolve(name);
        Files.writeString(file, "#!/bin/sh\nexit 0\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
        return file;
    }
}
