package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FaultCommandTest {

    @TempDir
    Path dir;

    @Test
    void unknownNodeIdListsTheKnownIds() {
        ClusterFileTest.sample(dir).write(dir);
        for (String fault : List.of("kill-node", "pause-node", "resume-node")) {
            Cli r = Cli.run("fault", fault, "n9", "--dir", dir.toString());
            assertThat(r.exit()).as(r.err()).isEqualTo(ExitCodes.ERROR);
            assertThat(r.err()).isEqualTo("pairstep: unknown node 'n9'; known nodes: n1, n2, n3\n");
        }
    }

    @Test
    void aNodeThatIsNotRunningIsAClearError() throws Exception {
        Process p = new ProcessBuilder("true").start();
        p.waitFor();
        new ClusterFile("s", List.of(new ClusterFile.Node("n1", p.pid(), "127.0.0.1:7111", "127.0.0.1:7112", "/d",
                List.of()))).write(dir);
        Cli r = Cli.run("fault", "kill-node", "n1", "--dir", dir.toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).isEqualTo("pairstep: n1 is not running (pid " + p.pid() + " is gone)\n");
    }

    @Test
    void missingNodeIdIsAUsageError() {
        Cli r = Cli.run("fault", "kill-node", "--dir", dir.toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(r.err()).contains("Missing required parameter: 'ID'");
        assertThat(Cli.run("fault").exit()).isEqualTo(ExitCodes.USAGE);
    }

    @Test
    void slowNeedsADelayInRangeAndSendsNothingOtherwise() {
        ClusterFileTest.sample(dir).write(dir);
        Cli missing = Cli.run("fault", "slow", "kv", "--node", "n1", "--dir", dir.toString());
        assertThat(missing.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(missing.err()).contains("Missing required option: '--ms=N'");
        for (String ms : List.of("-1", "60001")) {
            Cli r = Cli.run("fault", "slow", "kv", "--node", "n1", "--ms", ms, "--dir", dir.toString());
            assertThat(r.exit()).as(r.err()).isEqualTo(ExitCodes.USAGE);
            assertThat(r.err()).isEqualTo("pairstep fault slow: --ms must be between 0 and 60000, got " + ms
                    + " (see 'pairstep fault slow --help')\n");
        }
        Cli crash = Cli.run("fault", "crash-replica", "kv", "--dir", dir.toString());
        assertThat(crash.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(crash.err()).contains("Missing required option: '--node=ID'");
    }

    @Test
    void clusterStopToleratesDeadPids() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        Process other = new ProcessBuilder("sleep", "30").start();
        try {
            new ClusterFile("s", List.of(
                    new ClusterFile.Node("n1", gone.pid(), "127.0.0.1:7111", "127.0.0.1:7112", "/d", List.of()),
                    new ClusterFile.Node("n2", other.pid(), "127.0.0.1:7121", "127.0.0.1:7122", "/d", List.of()),
                    new ClusterFile.Node("n3", 0, "127.0.0.1:7131", "127.0.0.1:7132", "/d", List.of()))).write(dir);
            // a dead pid, a pid that runs something else (reused), and no pid at all: nothing is signalled
            Cli r = Cli.run("cluster", "stop", "--dir", dir.toString());
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).isEqualTo("n1 was not running\nn2 was not running\nn3 was not running\n");
            assertThat(other.isAlive()).isTrue();
            assertThat(dir.resolve("cluster.json")).exists();
        } finally {
            other.destroyForcibly().waitFor();
        }
    }

    @Test
    void startNodeRefusesAnUnknownId() {
        ClusterFileTest.sample(dir).write(dir);
        Cli r = Cli.run("cluster", "start-node", "--dir", dir.toString(), "--id", "n4");
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).isEqualTo("pairstep: unknown node 'n4'; known nodes: n1, n2, n3\n");
    }
}
