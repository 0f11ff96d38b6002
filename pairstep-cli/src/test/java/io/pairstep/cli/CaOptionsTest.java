package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the CLI finds the authority certificate of a TLS system, which turns it to HTTPS. */
class CaOptionsTest {

    @TempDir
    Path tmp;

    private static SystemOptions options(String cluster, Path dir, Path ca, Map<String, String> environment) {
        SystemOptions options = new SystemOptions(cluster, dir);
        options.authorityFile = ca;
        options.environment = environment::get;
        return options;
    }

    /** A local system's directory whose nodes were started with (or without) {@code --tls-ca}. */
    private Path localSystem(String name, Path ca) {
        Path dir = tmp.resolve(name);
        List<String> command = ca == null ? List.of("java", "node", "--id", "n1")
                : List.of("java", "node", "--id", "n1", "--tls-ca", ca.toString());
        new ClusterFile("s", List.of(new ClusterFile.Node("n1", 0, "127.0.0.1:7111", "127.0.0.1:7112", dir.resolve("n1").toString(),
                command))).write(dir);
        return dir;
    }

    @Test
    void theAuthorityComesFromTheFlagElseTheSystemsDirectoryElseTheEnvironment() throws Exception {
        Path flag = Files.writeString(tmp.resolve("flag.pem"), "x");
        Path recorded = Files.writeString(tmp.resolve("recorded.pem"), "x");
        Path fromEnvironment = Files.writeString(tmp.resolve("env.pem"), "x");
        Map<String, String> environment = Map.of(SystemOptions.CA_ENV, fromEnvironment.toString());
        Path tls = localSystem("tls", recorded);
        Path plain = localSystem("plain", null);

        assertThat(options(null, tls, flag, environment).authority()).isEqualTo(flag);
        assertThat(options(null, tls, null, environment).authority()).isEqualTo(recorded);
        // A local system without TLS stays plain HTTP even when the environment names an authority.
        assertThat(options(null, plain, null, environment).authority()).isNull();
        assertThat(options("127.0.0.1:7111", null, null, environment).authority()).isEqualTo(fromEnvironment);
        assertThat(options("127.0.0.1:7111", null, flag, environment).authority()).isEqualTo(flag);
        assertThat(options("127.0.0.1:7111", null, null, Map.of()).authority()).isNull();
        assertThat(new ClusterFile("s", ClusterFile.read(tls).nodes()).authority()).isEqualTo(recorded);
    }

    @Test
    void anUnreadableAuthorityIsAUsageErrorNamingWhereItCameFrom() {
        Path missing = tmp.resolve("missing.pem");
        assertThatThrownBy(() -> options("127.0.0.1:7111", null, missing, Map.of()).authority())
                .isInstanceOf(CliException.class).hasMessage("--ca " + missing + ", which cannot be read");
        assertThatThrownBy(() -> options("127.0.0.1:7111", null, null, Map.of(SystemOptions.CA_ENV, missing.toString())).authority())
                .hasMessage(SystemOptions.CA_ENV + " names " + missing + ", which cannot be read");
        assertThatThrownBy(() -> options(null, localSystem("gone", missing), null, Map.of()).authority())
                .hasMessage(ClusterFile.FILE_NAME + " names " + missing + ", which cannot be read");
    }

    @Test
    void aFileThatIsNotACertificateIsRefusedByName() throws Exception {
        Path junk = Files.writeString(tmp.resolve("junk.pem"), "not a certificate");
        Cli run = Cli.run("status", "--cluster", "127.0.0.1:1", "--ca", junk.toString());
        assertThat(run.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(run.err()).contains(junk.toString()).contains("not a certificate").doesNotContain("Exception");
    }
}
