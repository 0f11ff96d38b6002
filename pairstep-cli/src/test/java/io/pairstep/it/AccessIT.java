package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.cli.ClusterFile;
import io.pairstep.cli.LocalSystem;
import io.pairstep.runtime.access.AccessToken;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The access token of a real system: made once by {@code cluster start}, kept owner-only in the
 * system's directory and in every node's data directory, the same on every node and across a
 * restart, and found by the CLI in the system's directory or in {@code PAIRSTEP_TOKEN}.
 */
class AccessIT {

    @TempDir
    Path dir;

    /** What a {@code pairstep} command printed and how it exited. */
    record Run(int exit, String output) {}

    /** Runs {@code pairstep ARGS} with extra environment variables, as an operator's shell would. */
    private static Run pairstep(Map<String, String> environment, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                System.getProperty("pairstep.jar")));
        command.addAll(List.of(arguments));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("PAIRSTEP_TOKEN");
        builder.environment().putAll(environment);
        Process process = builder.start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(process.exitValue(), output);
    }

    private static String permissions(Path file) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
    }

    @Test
    void oneTokenPerSystemOwnerOnlyOnEveryNodeAndTheCliFindsIt() throws Exception {
        try (LocalSystem system = LocalSystem.start(dir, 3, LocalSystem.freeBasePort(), "none", false, List.of("--wait", "240"))) {
            Path systemToken = ClusterFile.tokenFile(dir);
            assertThat(permissions(systemToken)).isEqualTo("rw-------");
            AccessToken token = AccessToken.read(systemToken);
            for (ClusterFile.Node node : system.clusterFile().nodes()) {
                Path nodeToken = Path.of(node.data()).resolve(AccessToken.FILE_NAME);
                assertThat(permissions(nodeToken)).as(node.id()).isEqualTo("rw-------");
                assertThat(AccessToken.read(nodeToken)).as(node.id()).isEqualTo(token);
            }
            String cluster = String.join(",", system.httpAddresses());

            // --dir reads DIR/token.
            Run withDir = pairstep(Map.of(), "deploy", "kv", "--example", "kv", "--dir", dir.toString());
            assertThat(withDir.exit()).as(withDir.output()).isZero();

            // --cluster with no token: refused, with where the CLI looks for one; nothing deployed.
            Run without = pairstep(Map.of(), "deploy", "kv2", "--example", "kv", "--cluster", cluster);
            assertThat(without.exit()).as(without.output()).isEqualTo(1);
            assertThat(without.output()).contains("needs the system's access token", "PAIRSTEP_TOKEN", "--token-file");
            Run wrong = pairstep(Map.of("PAIRSTEP_TOKEN", AccessToken.generate().text()), "status", "--cluster", cluster);
            assertThat(wrong.exit()).isEqualTo(1);
            assertThat(wrong.output()).contains("wrong access token");
            Run malformed = pairstep(Map.of("PAIRSTEP_TOKEN", "short"), "status", "--cluster", cluster);
            assertThat(malformed.exit()).isEqualTo(2);
            assertThat(malformed.output()).contains("PAIRSTEP_TOKEN", "16 to 512 characters");

            // --cluster with the token in the environment.
            Run withEnvironment = pairstep(Map.of("PAIRSTEP_TOKEN", token.text()), "status", "--json", "--cluster", cluster);
            assertThat(withEnvironment.exit()).as(withEnvironment.output()).isZero();
            assertThat(withEnvironment.output()).contains("\"kv\"").doesNotContain("kv2");

            // A restarted node keeps the system's token: the CLI still works through it alone.
            system.kill("n3");
            system.restart("n3");
            ClusterFile.Node n3 = system.clusterFile().node("n3");
            assertThat(AccessToken.read(Path.of(n3.data()).resolve(AccessToken.FILE_NAME))).isEqualTo(token);
            Run throughRestarted = pairstep(Map.of(), "status", "--cluster", n3.http(), "--token-file", systemToken.toString());
            assertThat(throughRestarted.exit()).as(throughRestarted.output()).isZero();
        }
    }
}
