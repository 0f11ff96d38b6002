package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalProcessesTest {

    @TempDir
    Path tmp;

    @Test
    void portInUseIsNamed() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            int port = s.getLocalPort();
            assertThat(LocalProcesses.isFree("127.0.0.1", port)).isFalse();
            assertThatThrownBy(() -> LocalProcesses.requireFree(List.of(
                    new LocalProcesses.PortUse("127.0.0.1", port, "n2 rpc")), "choose another --base-port"))
                    .isInstanceOf(CliException.class)
                    .hasMessage("port " + port + " (n2 rpc) is already in use on 127.0.0.1; choose another --base-port");
        }
    }

    @Test
    void freePortPasses() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            port = s.getLocalPort();
        }
        assertThat(LocalProcesses.isFree("127.0.0.1", port)).isTrue();
        LocalProcesses.requireFree(List.of(new LocalProcesses.PortUse("127.0.0.1", port, "n1 http")), "");
    }

    @Test
    void clusterStartNamesTheBusyPortAndStartsNothing() throws Exception {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            int busy = s.getLocalPort();
            // with base P, n1's http port is P + 11
            int base = busy - 11;
            Path dir = tmp.resolve("cluster");
            Cli r = Cli.run("cluster", "start", "--nodes", "3", "--dir", dir.toString(),
                    "--base-port", Integer.toString(base));
            if (base + 10 * 3 + 3 > 65535) {
                assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
                return;
            }
            assertThat(r.exit()).as(r.err()).isEqualTo(ExitCodes.ERROR);
            assertThat(r.err()).isEqualTo("pairstep: port " + busy + " (n1 http) is already in use on 127.0.0.1; "
                    + "choose another --base-port or stop what uses it\n");
            assertThat(dir.resolve("cluster.json")).doesNotExist();
        }
    }

    @Test
    void tailShowsTheLastLines() throws Exception {
        Path log = tmp.resolve("node.log");
        Files.writeString(log, IntStream.rangeClosed(1, 50).mapToObj(i -> "line " + i)
                .collect(Collectors.joining("\n", "", "\n")));
        String tail = LocalProcesses.tail(log, 3);
        assertThat(tail).isEqualTo("  | line 48\n  | line 49\n  | line 50");
        assertThat(LocalProcesses.tail(tmp.resolve("none.log"), 3)).startsWith("(cannot read");
        Files.writeString(log, "");
        assertThat(LocalProcesses.tail(log, 3)).contains("is empty");
    }

    @Test
    void nodeProcessesAreRecognisedByTheirArguments() throws Exception {
        Process p = new ProcessBuilder("sleep", "30").start();
        try {
            ClusterFile.Node asNode = new ClusterFile.Node("n1", p.pid(), "127.0.0.1:7111", "127.0.0.1:7112", "/d",
                    List.of());
            // 'sleep 30' is alive but is not 'pairstep node --id n1': a reused pid must not be signalled
            assertThat(LocalProcesses.live(asNode)).isEmpty();
            assertThat(LocalProcesses.alive(p.toHandle())).isTrue();
        } finally {
            p.destroyForcibly().waitFor();
        }
        assertThat(LocalProcesses.alive(p.toHandle())).isFalse();
        assertThat(LocalProcesses.live(new ClusterFile.Node("n1", 0, "h:1", "h:2", "/d", List.of()))).isEmpty();
    }

    @Test
    void launchPrefixRunsThisCliWithTheNodeFlags() {
        List<String> prefix = LocalProcesses.cliLaunchPrefix("-Dfoo=1  -Xlog:gc ");
        assertThat(prefix.get(0)).endsWith("java");
        assertThat(prefix.subList(1, 7)).containsExactly("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC",
                "--enable-native-access=ALL-UNNAMED", "-Dfoo=1", "-Xlog:gc");
        // tests run from target/classes, so the CLI is started by class name rather than -jar
        assertThat(prefix).containsAnyOf("-jar", Main.class.getName());
    }

    @Test
    void shortCommandPrefixStartsASmallJvmWithTheCliFlagsAfterItsOwn() {
        List<String> prefix = LocalProcesses.shortCommandPrefix(" -XX:SharedArchiveFile=/t/cli.jsa  -Xlog:disable");
        assertThat(prefix.get(0)).endsWith("java");
        assertThat(prefix.subList(1, 6)).containsExactly("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED", "-XX:SharedArchiveFile=/t/cli.jsa", "-Xlog:disable");
        assertThat(LocalProcesses.shortCommandPrefix(null).subList(1, 4)).containsExactly("-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED");
        assertThat(LocalProcesses.shortCommandPrefix(null).get(4)).isIn("-jar", "-cp");
    }
}
