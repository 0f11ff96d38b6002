package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.pairstep.runtime.access.AccessToken;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the CLI finds the access token, and that it sends it; against an in-process fake node. */
class TokenOptionsTest {

    @TempDir
    Path tmp;

    private final AccessToken token = AccessToken.generate();
    private final List<String> authorizations = new CopyOnWriteArrayList<>();
    private HttpServer server;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            String authorization = exchange.getRequestHeaders().getFirst("Authorization");
            authorizations.add(String.valueOf(authorization));
            boolean good = ("Bearer " + token.text()).equals(authorization);
            byte[] body = (good ? "[]" : "{\"error\":\"wrong access token: it is not this system's token\",\"code\":\"UNAUTHORIZED\"}")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(good ? 200 : 401, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private String fake() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    /** A local system's directory whose cluster file lists the fake node, with or without a token. */
    private Path localSystem(AccessToken withToken) {
        Path dir = tmp.resolve("system");
        new ClusterFile("s", List.of(new ClusterFile.Node("n1", 0, fake(), "127.0.0.1:1", dir.resolve("n1").toString(), List.of())))
                .write(dir);
        if (withToken != null) {
            withToken.writeNew(ClusterFile.tokenFile(dir));
        }
        return dir;
    }

    private static SystemOptions options(String cluster, Path dir, Path tokenFile, Map<String, String> environment) {
        SystemOptions options = new SystemOptions(cluster, dir);
        options.tokenFile = tokenFile;
        options.environment = environment::get;
        return options;
    }

    @Test
    void theTokenComesFromTheFlagElseTheEnvironmentElseTheSystemsDirectory() {
        AccessToken inFile = AccessToken.generate();
        Path file = tmp.resolve("file");
        inFile.writeNew(file);
        AccessToken inEnvironment = AccessToken.generate();
        Path dir = localSystem(token);
        Map<String, String> environment = Map.of(SystemOptions.TOKEN_ENV, inEnvironment.text());

        assertThat(options(null, dir, file, environment).token()).isEqualTo(inFile);
        assertThat(options(null, dir, null, environment).token()).isEqualTo(inEnvironment);
        assertThat(options(null, dir, null, Map.of()).token()).isEqualTo(token);
        assertThat(options(fake(), null, null, environment).token()).isEqualTo(inEnvironment);
        assertThat(options(fake(), null, null, Map.of()).token()).isNull();
    }

    @Test
    void aBadTokenInTheEnvironmentOrAFileIsAUsageErrorNamingIt() throws IOException {
        assertThatThrownBy(() -> options(fake(), null, null, Map.of(SystemOptions.TOKEN_ENV, "short")).token())
                .isInstanceOf(CliException.class).hasMessageContaining("PAIRSTEP_TOKEN").hasMessageContaining("16 to 512");
        Path missing = tmp.resolve("missing");
        assertThatThrownBy(() -> options(fake(), null, missing, Map.of()).token())
                .hasMessageContaining("--token-file").hasMessageContaining(missing + ": no such file");
        Path empty = Files.writeString(tmp.resolve("empty"), "\n");
        assertThatThrownBy(() -> options(fake(), null, empty, Map.of()).token()).hasMessageContaining("the token is empty");
    }

    @Test
    void commandsSendTheTokenOfTheSystemsDirectoryOrOfTokenFile() {
        Path dir = localSystem(token);
        Cli withDir = Cli.run("events", "--dir", dir.toString());
        assertThat(withDir.exit()).as(withDir.err()).isZero();
        assertThat(authorizations).containsExactly("Bearer " + token.text());

        Cli withFile = Cli.run("events", "--cluster", fake(), "--token-file", ClusterFile.tokenFile(dir).toString());
        assertThat(withFile.exit()).as(withFile.err()).isZero();
        assertThat(authorizations).hasSize(2).last().isEqualTo("Bearer " + token.text());
    }

    @Test
    void aRefusedOrMissingTokenFailsWithTheNodesReasonAndWhereTheCliLooks() {
        Cli without = Cli.run("events", "--cluster", fake());
        assertThat(without.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(authorizations).containsExactly("null");
        assertThat(without.err()).contains("wrong access token", "--token-file FILE", "PAIRSTEP_TOKEN", "DIR/token");

        Path other = tmp.resolve("other");
        AccessToken.generate().writeNew(other);
        Cli wrong = Cli.run("events", "--cluster", fake(), "--token-file", other.toString());
        assertThat(wrong.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(wrong.err()).contains("wrong access token");
    }
}
