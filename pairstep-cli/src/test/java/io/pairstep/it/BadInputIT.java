package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import io.pairstep.cli.CliException;
import io.pairstep.cli.LocalSystem;
import io.pairstep.runtime.access.AccessToken;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/** Bad input against a real system: each gets a clear error, and nothing is lost or changed. */
class BadInputIT {

    @TempDir
    Path dir;

    private final HttpClient http = HttpClient.newHttpClient();
    private String token;

    @Test
    void badRequestsGetClearErrorsAndChangeNothing() throws Exception {
        try (LocalSystem cluster = LocalSystem.start(dir, 3, LocalSystem.freeBasePort(), "always", false)) {
            cluster.deploy("kv", "kv", "pair", 1);
            cluster.deploy("bank", "bank", "pair", 1);
            String node = cluster.httpAddresses().get(0);
            token = cluster.token().text();
            assertThat(post(node, "/v1/services/kv/call?key=a", "{\"op\":\"put\",\"key\":\"a\",\"value\":1}").statusCode()).isEqualTo(200);

            expectError(post(node, "/v1/services/nosuch/call?key=a", "{}"), 404, "UNKNOWN_SERVICE", "nosuch");
            expectError(post(node, "/v1/services/kv/call?key=a", "not json"), 400, "MALFORMED", "malformed command");
            expectError(post(node, "/v1/services/kv/call?key=a", "{\"op\":\"frobnicate\",\"key\":\"a\"}"), 400, "MALFORMED", "frobnicate");
            expectError(post(node, "/v1/services/kv/call?key=a", "x".repeat(1024 * 1024 + 1)), 413, "TOO_LARGE", "limit");
            expectError(post(node, "/v1/services/bank/call", "{\"op\":\"transfer\",\"from\":\"x\",\"to\":\"y\",\"amount\":5}"),
                    422, "APPLICATION_ERROR", "unknown account");
            expectError(post(node, "/v1/services", "{\"name\":\"k2\",\"example\":\"kv\",\"partitions\":0}"), 400, "BAD_REQUEST", "partitions");
            expectError(post(node, "/v1/services", "{\"name\":\"k3\",\"jar\":\"/no/such.jar\",\"class\":\"X\"}"), 400, "BAD_REQUEST",
                    "upload the jar with POST /v1/artifacts");
            expectError(post(node, "/v1/services", "{\"name\":\"k3\",\"digest\":\"" + "0".repeat(64) + "\",\"class\":\"X\"}"), 400,
                    "UNKNOWN_ARTIFACT", "upload it first");
            expectError(post(node, "/v1/artifacts", "not a jar"), 400, "BAD_REQUEST", "not a jar");
            expectError(post(node, "/v1/services", "{\"name\":\"kv\",\"example\":\"kv\"}"), 409, "ALREADY_EXISTS", "already deployed");
            expectError(post(node, "/v1/services", "{\"name\":\"k4\",\"example\":\"nosuch\"}"), 400, "BAD_REQUEST", "nosuch");
            expectError(post(node, "/v1/services/nosuch/upgrade", "{\"example\":\"kv\"}"), 404, "UNKNOWN_SERVICE", "unknown service nosuch");
            expectError(post(node, "/v1/services/kv/upgrade", "{\"example\":\"kv\"}"), 400, "BAD_REQUEST", "already runs example:kv");
            expectError(post(node, "/v1/services/kv/upgrade", "{\"example\":\"bank\",\"shadow\":-3}"), 400, "BAD_REQUEST", "shadow");
            expectError(post(node, "/v1/services/kv/upgrade", "{\"example\":\"bank\",\"bakeSeconds\":-1}"), 400, "BAD_REQUEST",
                    "\"bakeSeconds\" must be a number of seconds from 0 to 86400");
            expectError(post(node, "/v1/services/kv/upgrade", "{\"example\":\"bank\",\"bakeSeconds\":\"soon\"}"), 400, "BAD_REQUEST",
                    "bakeSeconds");
            expectError(post(node, "/v1/services/kv/upgrade", "{\"digest\":\"" + "0".repeat(64) + "\"}"), 400, "BAD_REQUEST", "needs a class name");
            expectError(post(node, "/v1/services/kv/upgrade", "{\"digest\":\"" + "0".repeat(64) + "\",\"class\":\"X\"}"), 400, "UNKNOWN_ARTIFACT",
                    "upload it first");

            assertThatThrownBy(() -> cluster.cli("fault", "kill-node", "n9", "--dir", dir.toString()))
                    .hasMessageContaining("n9").hasMessageContaining("n1");
            assertThatThrownBy(() -> cluster.cli("deploy", "k5", "--example", "kv", "--partitions", "0", "--dir", dir.toString()))
                    .hasMessageContaining("partitions");
            assertThatThrownBy(() -> cluster.cli("upgrade", "nosuch", "--example", "kv", "--dir", dir.toString()))
                    .hasMessageContaining("unknown service nosuch");
            assertThatThrownBy(() -> cluster.cli("upgrade", "kv", "--example", "bank", "--bake", "-5", "--dir", dir.toString()))
                    .hasMessageContaining("--bake must be from 0 to 86400 seconds, got -5");

            // Without the token, or with a wrong one, the admin API and fault injection refuse.
            String wrong = "Bearer " + AccessToken.generate().text();
            for (String authorization : java.util.Arrays.asList(null, wrong)) {
                expectError(post(node, "/v1/services", "{\"name\":\"k6\",\"example\":\"kv\"}", authorization), 401, "UNAUTHORIZED", "token");
                expectError(post(node, "/v1/nodes/n2/kill", "", authorization), 401, "UNAUTHORIZED", "token");
                expectError(post(node, "/v1/nodes/n2/faults/corrupt?service=kv", "", authorization), 401, "UNAUTHORIZED", "token");
            }
            assertThat(cluster.clusterFile().nodes()).allMatch(n -> ProcessHandle.of(n.pid()).map(ProcessHandle::isAlive).orElse(false));

            // Nothing above changed the state: one value, two services.
            assertThat(post(node, "/v1/services/kv/call?key=a", "{\"op\":\"get\",\"key\":\"a\"}").body()).isEqualTo("{\"value\":1}");
            JsonNode status = cluster.status();
            assertThat(status.get("services")).hasSize(2);
            assertThat(status.get("services")).allMatch(service -> service.get("version").asLong() == 1 && !service.has("upgrade"));
        }
    }

    @Test
    void aNodeStartedOnTheDataDirectoryOfAnotherSystemRefuses() throws Exception {
        Path other = dir.resolve("other");
        Files.createDirectories(other);
        Files.writeString(other.resolve("system.id"), "another-system\n");
        String out = "";
        try {
            LocalSystem.run("node", "--id", "n1", "--data", other.toString(), "--http", "127.0.0.1:29991",
                    "--rpc", "127.0.0.1:29992", "--seeds", "n1@127.0.0.1:29992", "--system", "this-system");
        } catch (CliException e) {
            out = e.getMessage();
        }
        assertThat(out).contains("belongs to system another-system");
        assertThat(Files.readString(other.resolve("system.id"))).isEqualTo("another-system\n");
    }

    private HttpResponse<String> post(String node, String path, String body) throws Exception {
        return post(node, path, body, "Bearer " + token);
    }

    private HttpResponse<String> post(String node, String path, String body, String authorization) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + node + path)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void expectError(HttpResponse<String> response, int status, String code, String message) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        JsonNode error = new ObjectMapper().readTree(response.body());
        assertThat(error.get("code").asString()).isEqualTo(code);
        assertThat(error.get("error").asString()).contains(message);
    }
}
