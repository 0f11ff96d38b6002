package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.examples.Examples;
import io.pairstep.examples.KvService;
import io.pairstep.runtime.artifact.ArtifactStore;
import io.pairstep.runtime.artifact.TestJars;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/** Upload, download, deploy by digest and the service list, against one node in this JVM. */
class ArtifactApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @TempDir
    static Path dir;
    static Node node;
    static String base;

    @BeforeAll
    static void startNode() {
        int http = OpenApiDocumentTest.freePort(1);
        int rpc = OpenApiDocumentTest.freePort(2);
        NodeConfig config = new NodeConfig("n1", dir.resolve("n1"), new InetSocketAddress("127.0.0.1", http),
                new InetSocketAddress("127.0.0.1", rpc), List.of(new NodeConfig.Seed("n1", new InetSocketAddress("127.0.0.1", rpc))),
                null, "none", NodeConfig.MAX_COMMAND_BYTES_DEFAULT);
        node = new Node(config);
        try {
            node.start();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        base = "http://127.0.0.1:" + http;
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> send("GET", "/v1/status", null).statusCode() == 200);
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    static HttpResponse<byte[]> send(String method, String path, byte[] body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
                .header("Authorization", "Bearer " + node.accessToken().text())
                .build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofByteArray());
    }

    private static JsonNode json(HttpResponse<byte[]> response) {
        return JSON.readTree(response.body());
    }

    private static String[] stored() throws Exception {
        try (Stream<Path> files = Files.list(dir.resolve("n1/artifacts"))) {
            return files.map(p -> p.getFileName().toString()).sorted().toArray(String[]::new);
        }
    }

    @Test
    void aJarIsUploadedServedByItsDigestDeployedByItAndListedWithIt() throws Exception {
        byte[] jar = TestJars.jar(2 * 1024 * 1024, KvService.class, Examples.class);
        String digest = ArtifactStore.sha256(jar);
        String kv = KvService.class.getName();

        HttpResponse<byte[]> uploaded = send("POST", "/v1/artifacts?sha256=" + digest + "&class=" + kv, jar);
        assertThat(uploaded.statusCode()).as(new String(uploaded.body())).isEqualTo(201);
        assertThat(json(uploaded).get("digest").asString()).isEqualTo(digest);
        assertThat(json(uploaded).get("size").asLong()).isEqualTo(jar.length);
        assertThat(json(uploaded).get("nodes").get(0).asString()).isEqualTo("n1");
        assertThat(send("GET", "/v1/artifacts/" + digest, null).body()).isEqualTo(jar);

        // Refused uploads store nothing.
        assertError(send("POST", "/v1/artifacts", "not a jar".getBytes()), 400, "BAD_REQUEST", "not a jar");
        assertError(send("POST", "/v1/artifacts?sha256=" + "0".repeat(64), jar), 400, "DIGEST_MISMATCH", digest);
        assertError(send("POST", "/v1/artifacts?class=com.example.Nope", TestJars.jar(0, Examples.class)), 400, "BAD_REQUEST",
                "class com.example.Nope not found");
        assertError(send("POST", "/v1/artifacts?class=" + Examples.class.getName(), TestJars.jar(0, Examples.class)), 400, "BAD_REQUEST",
                "does not implement");
        assertThat(stored()).containsExactly(digest + ".jar");
        assertError(send("GET", "/v1/artifacts/" + "1".repeat(64), null), 404, "UNKNOWN_ARTIFACT", "does not hold");
        assertError(send("GET", "/v1/artifacts/nothex", null), 400, "BAD_REQUEST", "not a SHA-256 digest");

        // Deploys that name no usable jar or class are refused; nothing is deployed.
        assertError(deploy("{\"name\":\"k1\",\"digest\":\"" + "2".repeat(64) + "\",\"class\":\"" + kv + "\"}"), 400,
                "UNKNOWN_ARTIFACT", "upload it first");
        assertError(deploy("{\"name\":\"k1\",\"digest\":\"" + digest + "\",\"class\":\"com.example.Nope\"}"), 400,
                "BAD_REQUEST", "com.example.Nope not found");
        assertError(deploy("{\"name\":\"k1\",\"digest\":\"" + digest + "\"}"), 400, "BAD_REQUEST", "needs a class name");
        assertError(deploy("{\"name\":\"k1\",\"jar\":\"/tmp/x.jar\",\"class\":\"" + kv + "\"}"), 400, "BAD_REQUEST",
                "upload the jar with POST /v1/artifacts");
        assertThat(json(send("GET", "/v1/services", null))).isEmpty();

        HttpResponse<byte[]> deployed = deploy("{\"name\":\"k1\",\"digest\":\"" + digest + "\",\"class\":\"" + kv + "\",\"mode\":\"none\"}");
        assertThat(deployed.statusCode()).as(new String(deployed.body())).isEqualTo(201);
        assertThat(json(deployed).get("artifact").asString()).isEqualTo("sha256:" + digest);
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            JsonNode services = json(send("GET", "/v1/services", null));
            return services.size() == 1 && services.get(0).get("health").asString().equals("ok");
        });
        JsonNode service = json(send("GET", "/v1/services", null)).get(0);
        assertThat(service.get("name").asString()).isEqualTo("k1");
        assertThat(service.get("digest").asString()).isEqualTo(digest);
        assertThat(service.get("class").asString()).isEqualTo(kv);
        assertThat(service.get("version").asLong()).isEqualTo(1);
        assertThat(service.get("partitions").asInt()).isEqualTo(1);
        HttpResponse<byte[]> call = send("POST", "/v1/services/k1/call?key=a", "{\"op\":\"put\",\"key\":\"a\",\"value\":7}".getBytes());
        assertThat(call.statusCode()).as(new String(call.body())).isEqualTo(200);
    }

    private static HttpResponse<byte[]> deploy(String body) throws Exception {
        return send("POST", "/v1/services", body.getBytes());
    }

    private static void assertError(HttpResponse<byte[]> response, int status, String code, String message) {
        String what = new String(response.body());
        assertThat(response.statusCode()).as(what).isEqualTo(status);
        assertThat(json(response).get("code").asString()).as(what).isEqualTo(code);
        assertThat(json(response).get("error").asString()).as(what).contains(message);
    }
}
