package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.runtime.NodeConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Local validation: every usage error is one line on stderr and exit code 2, before any network use. */
class ArgumentValidationTest {

    // nothing listens here; validation must fail before anything is sent
    private static final String NOWHERE = "127.0.0.1:1";

    @TempDir
    Path tmp;

    private static void assertUsage(Cli r, String message) {
        assertThat(r.exit()).as(r.err()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).contains(message);
        assertThat(r.err().strip().lines()).hasSize(1);
        assertThat(r.err()).doesNotContain("Exception", "\tat ");
        assertThat(r.out()).isEmpty();
    }

    @Test
    void noCommandIsAUsageError() {
        assertUsage(Cli.run(), "missing command");
        assertUsage(Cli.run("frobnicate"), "frobnicate");
    }

    @Test
    void helpListsExitCodes() {
        Cli r = Cli.run("--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("Exit codes:", "3   call: the service refused the command (HTTP 422");
        assertThat(Cli.run("call", "--help").out()).contains("3   the service refused the command (HTTP 422");
    }

    @Test
    void benchRejectsAnUnknownAlertsModeBeforeStartingAnything() {
        assertUsage(Cli.run("bench", "--alerts", "sometimes"), "--alerts must be off, healthy, down or slow, was sometimes");
        assertUsage(Cli.run("bench", "--alerts", "slow", "--webhook-delay", "-5"), "--webhook-delay must be at least 0, was -5");
    }

    @Test
    void benchRejectsFaultMeasurementsThatCannotRunBeforeStartingAnything() {
        assertUsage(Cli.run("bench", "--dump", "--takeover"), "choose one of --takeover, --dump and --repair");
        assertUsage(Cli.run("bench", "--repair"), "--repair needs --mode dmr or tmr, --faults >= 1 and --fault corrupt, diverge or self-check");
        assertUsage(Cli.run("bench", "--repair", "--mode", "tmr", "--fault", "melt"),
                "--repair needs --mode dmr or tmr, --faults >= 1 and --fault corrupt, diverge or self-check");
        assertUsage(Cli.run("bench", "--repair", "--mode", "dmr", "--faults", "0"),
                "--repair needs --mode dmr or tmr, --faults >= 1 and --fault corrupt, diverge or self-check");
    }

    @Test
    void rollingRestartRejectsBadWaitsBeforeTouchingTheCluster() {
        assertUsage(Cli.run("rolling-restart", "--dir", tmp.toString(), "--wait-ms", "0"), "--wait-ms must be >= 1, got 0");
        assertUsage(Cli.run("rolling-restart", "--dir", tmp.toString(), "--grace-ms", "-1"), "--grace-ms must be >= 0, got -1");
    }

    @Test
    void deployRejectsZeroPartitions() {
        assertUsage(Cli.run("deploy", "kv", "--example", "kv", "--partitions", "0", "--cluster", NOWHERE),
                "pairstep deploy: --partitions must be >= 1, got 0");
    }

    @Test
    void deployRejectsAMissingJar() {
        Path jar = tmp.resolve("missing.jar");
        assertUsage(Cli.run("deploy", "orders", "--jar", jar.toString(), "--class", "com.example.Orders",
                "--cluster", NOWHERE), "--jar: no such file: " + jar.toAbsolutePath());
    }

    @Test
    void deployRejectsADirectoryAsJar() {
        assertUsage(Cli.run("deploy", "orders", "--jar", tmp.toString(), "--class", "com.example.Orders",
                "--cluster", NOWHERE), "--jar: not a file");
    }

    @Test
    void deployRejectsBothExampleAndJar() throws IOException {
        Path jar = Files.writeString(tmp.resolve("s.jar"), "x");
        assertUsage(Cli.run("deploy", "kv", "--example", "kv", "--jar", jar.toString(), "--class", "A",
                "--cluster", NOWHERE), "give either --example or --jar with --class, not both");
    }

    @Test
    void deployNeedsSomethingToDeployAndAClassWithTheJar() throws IOException {
        Path jar = Files.writeString(tmp.resolve("s.jar"), "x");
        assertUsage(Cli.run("deploy", "kv", "--cluster", NOWHERE), "say what to deploy");
        assertUsage(Cli.run("deploy", "kv", "--jar", jar.toString(), "--cluster", NOWHERE), "--jar needs --class");
        assertUsage(Cli.run("deploy", "kv", "--class", "A", "--cluster", NOWHERE), "--class needs --jar");
        assertUsage(Cli.run("deploy", "kv", "--example", "kv", "--mode", "triple", "--cluster", NOWHERE),
                "--mode: expected pair, dmr, tmr or none");
    }

    @Test
    void deployBuildsTheDocumentedRequest() throws IOException {
        Path jar = Files.writeString(tmp.resolve("orders.jar"), "x");
        DeployCommand d = new DeployCommand();
        new CommandLine(d).parseArgs("orders", "--jar", jar.toString(), "--class", "com.example.Orders",
                "--partitions", "3", "--mode", "none", "--cluster", NOWHERE);
        // The jar is named by the SHA-256 of its bytes ("x"), not by a path the nodes would need to share.
        assertThat(d.request().toString()).isEqualTo("{\"name\":\"orders\","
                + "\"digest\":\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\","
                + "\"class\":\"com.example.Orders\",\"mode\":\"none\",\"partitions\":3}");

        DeployCommand e = new DeployCommand();
        new CommandLine(e).parseArgs("kv", "--example", "kv", "--cluster", NOWHERE);
        assertThat(e.request().toString())
                .isEqualTo("{\"name\":\"kv\",\"example\":\"kv\",\"mode\":\"pair\",\"partitions\":1}");

        DeployCommand f = new DeployCommand();
        new CommandLine(f).parseArgs("votes", "--example", "kv", "--mode", "tmr", "--digest-every", "16", "--cluster", NOWHERE);
        assertThat(f.request().toString())
                .isEqualTo("{\"name\":\"votes\",\"example\":\"kv\",\"mode\":\"tmr\",\"partitions\":1,\"digestEvery\":16}");
    }

    @Test
    void deployTakesADigestIntervalForLockstepModesOnly() {
        assertUsage(Cli.run("deploy", "kv", "--example", "kv", "--mode", "tmr", "--digest-every", "0", "--cluster", NOWHERE),
                "pairstep deploy: --digest-every must be >= 1 (commands between state digest comparisons), got 0");
        assertUsage(Cli.run("deploy", "kv", "--example", "kv", "--digest-every", "8", "--cluster", NOWHERE),
                "--digest-every applies to --mode dmr or tmr only (their members compare state digests), not pair");
    }

    @Test
    void systemCommandsNeedExactlyOneOfClusterAndDir() {
        assertUsage(Cli.run("status"), "say which system: --cluster HOST:PORT[,HOST:PORT...] or --dir DIR");
        assertUsage(Cli.run("status", "--cluster", NOWHERE, "--dir", tmp.toString()),
                "give either --cluster or --dir, not both");
        assertUsage(Cli.run("status", "--cluster", "localhost"), "--cluster: expected HOST:PORT, got 'localhost'");
        assertUsage(Cli.run("call", "kv", "{}", "--cluster", "h:99999"), "port 99999 is out of range");
    }

    @Test
    void clusterStartChecksItsNumbers() {
        String dir = tmp.resolve("c").toString();
        assertUsage(Cli.run("cluster", "start", "--nodes", "0", "--dir", dir), "--nodes must be between 1 and 99");
        assertUsage(Cli.run("cluster", "start", "--nodes", "100", "--dir", dir), "--nodes must be between 1 and 99");
        assertUsage(Cli.run("cluster", "start", "--nodes", "3", "--dir", dir, "--base-port", "65510"),
                "--base-port 65510 does not fit 3 nodes (ports up to 65543); use 1 to 65502");
        assertUsage(Cli.run("cluster", "start", "--nodes", "3", "--dir", dir, "--fsync", "sometimes"),
                "--fsync: expected always, interval or none");
        assertThat(Files.exists(tmp.resolve("c"))).isFalse();
    }

    @Test
    void clusterStartRefusesADirectoryThatHoldsACluster() {
        new ClusterFile("s", List.of(new ClusterFile.Node("n1", 0, "127.0.0.1:7111", "127.0.0.1:7112", "/d",
                List.of()))).write(tmp);
        Cli r = Cli.run("cluster", "start", "--nodes", "1", "--dir", tmp.toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).contains("already holds a cluster");
    }

    @Test
    void clusterPortLayoutFollowsTheBasePort() {
        List<ClusterStartCommand.Layout> l = ClusterStartCommand.layout(3, 7100);
        assertThat(l).extracting(x -> x.id() + " " + x.http() + " " + x.rpc() + " " + x.controllerPort())
                .containsExactly("n1 127.0.0.1:7111 127.0.0.1:7112 7113",
                        "n2 127.0.0.1:7121 127.0.0.1:7122 7123",
                        "n3 127.0.0.1:7131 127.0.0.1:7132 7133");
    }

    @Test
    void nodeChecksItsOptions() {
        String d = tmp.resolve("data").toString();
        assertUsage(Cli.run("node", "--id", "n1", "--data", d, "--http", "127.0.0.1:7111", "--rpc", "127.0.0.1:7112",
                "--seeds", "n1"), "--seeds: expected ID@HOST:RPCPORT, got 'n1'");
        assertUsage(Cli.run("node", "--id", "n1", "--data", d, "--http", "127.0.0.1:7111", "--rpc", "127.0.0.1:7112",
                "--seeds", "n1@127.0.0.1:7112,n1@127.0.0.1:7122"), "node n1 is listed twice");
        assertUsage(Cli.run("node", "--id", "n1", "--data", d, "--http", "127.0.0.1:7111", "--rpc", "127.0.0.1:7112",
                "--seeds", "n1@127.0.0.1:7112", "--fsync", "sometimes"), "--fsync: expected always, interval or none");
        assertUsage(Cli.run("node", "--id", "n 1", "--data", d, "--http", "127.0.0.1:7111", "--rpc", "127.0.0.1:7112",
                "--seeds", "n1@127.0.0.1:7112"), "--id: a node id is letters, digits");
        assertUsage(Cli.run("node", "--id", "n1", "--data", d, "--http", "127.0.0.1:7113", "--rpc", "127.0.0.1:7112",
                "--seeds", "n1@127.0.0.1:7112"), "collides with the rpc port");
        assertUsage(Cli.run("node", "--id", "n1", "--data", d, "--http", "127.0.0.1:7111", "--rpc", "127.0.0.1:7112",
                "--seeds", "n1@127.0.0.1:7112", "--max-command-bytes", "0"), "--max-command-bytes must be >= 1");
        assertUsage(Cli.run("node", "--id", "n1", "--data", d, "--http", "127.0.0.1:7111", "--rpc", "127.0.0.1:7112"),
                "Missing required option: '--seeds");
    }

    @Test
    void nodeBuildsItsConfig() {
        NodeCommand n = new NodeCommand();
        Path data = tmp.resolve("n2").resolve("data");
        new CommandLine(n).parseArgs("--id", "n2", "--data", data.toString(), "--http", "127.0.0.1:7121",
                "--rpc", "127.0.0.1:7122", "--seeds", "n1@127.0.0.1:7112,n2@127.0.0.1:7122,n3@localhost:7132",
                "--system", "sys-1", "--fsync", "INTERVAL", "--availability", "avail.yaml");
        NodeConfig c = n.config();
        assertThat(c.availabilityFile()).isEqualTo(Path.of("avail.yaml").toAbsolutePath());
        assertThat(c.id()).isEqualTo("n2");
        assertThat(c.dataDirectory()).isEqualTo(data.toAbsolutePath()).isDirectory();
        assertThat(c.http().getPort()).isEqualTo(7121);
        assertThat(c.http().isUnresolved()).isFalse();
        assertThat(c.rpc().getPort()).isEqualTo(7122);
        assertThat(c.seeds()).extracting(s -> s.id() + "@" + s.rpc().getHostString() + ":" + s.rpc().getPort())
                .containsExactly("n1@127.0.0.1:7112", "n2@127.0.0.1:7122", "n3@localhost:7132");
        assertThat(c.systemId()).isEqualTo("sys-1");
        assertThat(c.fsyncPolicy()).isEqualTo("interval");
        assertThat(c.maxCommandBytes()).isEqualTo(1 << 20);

        NodeCommand defaults = new NodeCommand();
        new CommandLine(defaults).parseArgs("--id", "n1", "--data", data.toString(), "--http", "127.0.0.1:7111",
                "--rpc", "127.0.0.1:7112", "--seeds", "n1@127.0.0.1:7112");
        assertThat(defaults.config().systemId()).isNull();
        assertThat(defaults.config().fsyncPolicy()).isEqualTo("always");
        assertThat(defaults.config().availabilityFile()).as("no availability manager by default").isNull();
    }

    @Test
    void hostPortParsing() {
        assertThat(HostPort.parse("127.0.0.1:7111", "x")).isEqualTo(new HostPort("127.0.0.1", 7111));
        assertThat(HostPort.parse("[::1]:7111", "x").authority()).isEqualTo("[::1]:7111");
        assertThatThrownBy(() -> HostPort.parse("::1:7111", "--cluster")).isInstanceOf(CliException.class)
                .hasMessageContaining("IPv6");
        assertThatThrownBy(() -> HostPort.parse("host:", "--cluster")).hasMessageContaining("expected HOST:PORT");
        assertThatThrownBy(() -> HostPort.parse("host:abc", "--cluster")).hasMessageContaining("not a number");
    }

    @Test
    void urlEncoding() {
        assertThat(CallCommand.path("kv", null)).isEqualTo("/v1/services/kv/call");
        assertThat(CallCommand.path("my svc", "a b&c=d/é"))
                .isEqualTo("/v1/services/my%20svc/call?key=a%20b%26c%3Dd%2F%C3%A9");
    }
}
