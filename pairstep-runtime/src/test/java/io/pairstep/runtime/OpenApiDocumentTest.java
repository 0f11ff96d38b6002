package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.core.GroupId;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.IncidentComponent;
import io.pairstep.core.control.IncidentKind;
import io.pairstep.core.control.IncidentReport;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Checks docs/openapi.yaml against a running node (one node, in this JVM): every documented
 * operation is served, every served route is documented, and GET answers have the documented
 * top-level shape. Also exercises the admin API's event log and event stream.
 */
class OpenApiDocumentTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** Values for the path parameters: the deployed service, and a node that does not exist (never this JVM). */
    private static final Map<String, String> PATH_VALUES = Map.of("name", "kv", "id", "n404", "kind", "corrupt",
            "digest", "0".repeat(64), "p", "0");

    @TempDir
    static Path dir;
    static Node node;
    static String base;
    static JsonNode document;
    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @BeforeAll
    static void startNode() throws Exception {
        document = new YAMLMapper().readTree(Files.readString(Path.of("../docs/openapi.yaml")));
        int http = freePort(1);
        int rpc = freePort(2);
        NodeConfig config = new NodeConfig("n1", dir.resolve("n1"), new InetSocketAddress("127.0.0.1", http),
                new InetSocketAddress("127.0.0.1", rpc), List.of(new NodeConfig.Seed("n1", new InetSocketAddress("127.0.0.1", rpc))),
                null, "none", NodeConfig.MAX_COMMAND_BYTES_DEFAULT);
        node = new Node(config);
        node.start();
        base = "http://127.0.0.1:" + http;
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> get("/v1/status").statusCode() == 200);
        HttpResponse<String> deploy = send("POST", "/v1/services", "{\"name\":\"kv\",\"example\":\"kv\",\"partitions\":2}", Map.of());
        assertThat(deploy.statusCode()).as(deploy.body()).isEqualTo(201);
        // One node cannot lose a node and stay up: an incident as the controller leader would open it, for
        // GET /v1/incidents to show. A lone pair is never fully protected, so it stays open.
        IncidentReport report = new IncidentReport(IncidentKind.REPLICA_ISOLATED, IncidentComponent.replica(new GroupId("kv", 0), "n1"),
                "test: the backup was isolated", List.of("an event"), null, "nothing: a test");
        assertThat(node.propose(new ControlCommand.OpenIncident(report, System.currentTimeMillis())).get(15, TimeUnit.SECONDS).changed()).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> !node.state().incidents().all().isEmpty());
    }

    @AfterAll
    static void stopNode() {
        if (node != null) {
            node.close();
        }
    }

    /** A port p such that p .. p+count-1 are free, below the ephemeral range. */
    static int freePort(int count) {
        Random random = new Random();
        for (int attempt = 0; attempt < 1000; attempt++) {
            int port = 20_000 + random.nextInt(12_000);
            boolean free = true;
            for (int p = port; p < port + count && free; p++) {
                try (ServerSocket socket = new ServerSocket()) {
                    socket.bind(new InetSocketAddress("127.0.0.1", p));
                } catch (Exception e) {
                    free = false;
                }
            }
            if (free) {
                return port;
            }
        }
        throw new IllegalStateException("no free port");
    }

    static HttpResponse<String> get(String path) throws Exception {
        return send("GET", path, null, Map.of());
    }

    /** A request with the system's token, unless the headers bring credentials of their own. */
    static HttpResponse<String> send(String method, String path, String body, Map<String, String> headers) throws Exception {
        Map<String, String> all = new java.util.HashMap<>(headers);
        if (!all.containsKey("Cookie")) {
            all.putIfAbsent("Authorization", "Bearer " + node.accessToken().text());
        }
        return sendExactly(method, path, body, all);
    }

    /** A request with exactly the given headers. */
    static HttpResponse<String> sendExactly(String method, String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(request::header);
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Every operation of the document, as "METHOD /path". */
    static Set<String> documented() {
        Set<String> operations = new TreeSet<>();
        document.get("paths").properties().forEach(path -> path.getValue().properties().forEach(
                operation -> operations.add(operation.getKey().toUpperCase(java.util.Locale.ROOT) + " " + path.getKey())));
        return operations;
    }

    @Test
    void everyServedRouteIsDocumentedAndEveryDocumentedOneIsServed() {
        Set<String> served = new TreeSet<>(node.gateway().admin().routes());
        // The console's files are static files, not routes: their GET / is checked by request below.
        served.add("GET /");
        assertThat(served).containsExactlyInAnyOrderElementsOf(documented());
    }

    @Test
    void everyDocumentedOperationAnswersWithItsDocumentedShape() throws Exception {
        for (String operation : documented()) {
            String method = operation.substring(0, operation.indexOf(' '));
            String template = operation.substring(operation.indexOf(' ') + 1);
            String path = template;
            for (Map.Entry<String, String> value : PATH_VALUES.entrySet()) {
                path = path.replace("{" + value.getKey() + "}", value.getValue());
            }
            JsonNode spec = document.get("paths").get(template).get(method.toLowerCase(java.util.Locale.ROOT));
            if (template.equals("/v1/services/{name}/call")) {
                path += "?key=a";
            }
            if (template.equals("/v1/nodes/{id}/faults/{kind}")) {
                path += "?service=kv";
            }
            if (spec.path("responses").path("200").path("content").has("text/event-stream")) {
                checkStream(path);
                continue;
            }
            String body = null;
            JsonNode example = spec.path("requestBody").path("content").valueStream().findFirst()
                    .map(content -> content.get("example")).orElse(null);
            if (example != null) {
                body = example.isString() ? example.asString() : JSON.writeValueAsString(example);
            }
            HttpResponse<String> response = send(method, path, body, Map.of());
            String what = operation + " -> " + response.statusCode() + " " + response.body();
            assertThat(response.statusCode()).as(what).isNotEqualTo(405);
            assertThat(spec.get("responses").has(Integer.toString(response.statusCode())))
                    .as("%s: status not documented", what).isTrue();
            if (response.statusCode() == 404) {
                // Our own 404 (unknown service or node) in the error format, not "no such route".
                assertThat(JSON.readTree(response.body()).has("code")).as(what).isTrue();
            }
            if (method.equals("GET") && response.statusCode() == 200) {
                JsonNode content = spec.get("responses").get("200").get("content");
                if (content.has("application/json")) {
                    checkShape(JSON.readTree(response.body()), content.get("application/json").get("schema"), what);
                } else if (content.has("text/plain")) {
                    // Prometheus text: JVM metrics and the node's own gauges.
                    assertThat(response.headers().firstValue("Content-Type").orElse("")).as(what).startsWith("text/plain");
                    assertThat(response.body()).as(what).contains("# TYPE jvm_memory_used_bytes gauge",
                            "pairstep_nodes_up 1", "pairstep_groups 2", "pairstep_controller_leader 1");
                } else {
                    assertThat(response.headers().firstValue("Content-Type").orElse("")).as(what).startsWith("text/html");
                    assertThat(response.body()).as(what).contains("<html", "Pairstep console");
                }
            }
        }
    }

    private static JsonNode resolve(JsonNode schema) {
        if (schema.has("$ref")) {
            String name = schema.get("$ref").asString().substring("#/components/schemas/".length());
            return document.get("components").get("schemas").get(name);
        }
        return schema;
    }

    /** The answer's top-level type, and the required fields of it (or of its first element). */
    private static void checkShape(JsonNode answer, JsonNode schema, String what) {
        JsonNode resolved = resolve(schema);
        String type = resolved.get("type").asString();
        if (type.equals("array")) {
            assertThat(answer.isArray()).as(what).isTrue();
            assertThat(answer.isEmpty()).as("%s: expected entries to check", what).isFalse();
            answer = answer.get(0);
            resolved = resolve(resolved.get("items"));
        } else {
            assertThat(type).isEqualTo("object");
        }
        assertThat(answer.isObject()).as(what).isTrue();
        for (JsonNode required : resolved.path("required")) {
            assertThat(answer.has(required.asString())).as("%s: missing %s", what, required.asString()).isTrue();
        }
    }

    /** The event stream: refused without the SSE Accept header; with it, replays the log and stays open. */
    private static void checkStream(String path) throws Exception {
        HttpResponse<String> plain = get(path);
        assertThat(plain.statusCode()).isEqualTo(406);
        assertThat(JSON.readTree(plain.body()).get("code").asString()).isEqualTo("NOT_ACCEPTABLE");
        assertThat(send("GET", path + "?since=yesterday", null, Map.of("Accept", "text/event-stream")).statusCode()).isEqualTo(400);

        assertThat(sendExactly("GET", path, null, Map.of("Accept", "text/event-stream")).statusCode()).isEqualTo(401);
        // As the console's EventSource does: with the cookie, since it cannot send headers.
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path + "?since=0")).header("Accept", "text/event-stream")
                .header("Cookie", "pairstep-token=" + node.accessToken().text()).build();
        HttpResponse<InputStream> response = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        try (InputStream in = response.body()) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            CompletableFuture<List<JsonNode>> deployed = CompletableFuture.supplyAsync(() -> {
                List<JsonNode> seen = new ArrayList<>();
                try {
                    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                        if (line.startsWith("data:")) {
                            JsonNode event = JSON.readTree(line.substring(5).strip());
                            seen.add(event);
                            if (event.get("type").asString().equals("service-deployed")) {
                                return seen;
                            }
                        }
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                return seen;
            });
            List<JsonNode> events = deployed.get(20, TimeUnit.SECONDS);
            assertThat(events).extracting(e -> e.get("type").asString()).contains("node-up", "service-deployed");
            assertThat(events).extracting(e -> e.get("seq").asLong()).isSorted();
        }
    }

    /**
     * The document's security is the server's: an operation marked {@code security: []} answers
     * without the token, every other one answers 401 and does nothing (kv stays the only service).
     */
    @Test
    void everyOperationButTheDocumentedOpenOnesRefusesARequestWithoutTheToken() throws Exception {
        for (String operation : documented()) {
            String method = operation.substring(0, operation.indexOf(' '));
            String template = operation.substring(operation.indexOf(' ') + 1);
            JsonNode spec = document.get("paths").get(template).get(method.toLowerCase(java.util.Locale.ROOT));
            boolean open = spec.has("security") && spec.get("security").isEmpty();
            // n404: were the kill not refused, it must not kill this JVM.
            String path = template;
            for (Map.Entry<String, String> value : PATH_VALUES.entrySet()) {
                path = path.replace("{" + value.getKey() + "}", value.getValue());
            }
            path += template.endsWith("/call") ? "?key=a" : template.contains("/faults/") ? "?service=kv" : "";
            String body = template.equals("/v1/services") ? "{\"name\":\"kv2\",\"example\":\"kv\"}" : "{\"op\":\"get\",\"key\":\"a\"}";
            HttpResponse<String> response = sendExactly(method, path, method.equals("POST") ? body : null, Map.of());
            if (open) {
                assertThat(response.statusCode()).as(operation + " is documented as open: " + response.body()).isEqualTo(200);
            } else {
                assertThat(response.statusCode()).as(operation + ": " + response.body()).isEqualTo(401);
                assertThat(JSON.readTree(response.body()).get("code").asString()).isEqualTo("UNAUTHORIZED");
                assertThat(spec.get("responses").has("401")).as(operation + " documents its 401").isTrue();
            }
        }
        assertThat(JSON.readTree(get("/v1/status").body()).get("services")).hasSize(1);
        
    }

    @Test
    void theEventLogRecordsTheDeployAndSelectsBySinceSeqVersionAndTime() throws Exception {
        JsonNode all = JSON.readTree(get("/v1/events").body());
        List<String> types = new ArrayList<>();
        all.forEach(e -> types.add(e.get("type").asString()));
        assertThat(types).contains("node-up", "controller-leader", "service-deployed", "group-placed");
        JsonNode deployed = null;
        for (JsonNode event : all) {
            if (event.get("type").asString().equals("service-deployed")) {
                deployed = event;
            }
        }
        assertThat(deployed.get("component").asString()).isEqualTo("kv");
        assertThat(deployed.get("fields").get("partitions").asInt()).isEqualTo(2);

        long seq = deployed.get("seq").asLong();
        JsonNode after = JSON.readTree(get("/v1/events?since=" + seq).body());
        after.forEach(e -> assertThat(e.get("seq").asLong()).isGreaterThan(seq));
        long version = deployed.get("version").asLong();
        JsonNode afterVersion = JSON.readTree(get("/v1/events?since=v" + (version - 1)).body());
        assertThat(afterVersion.get(0).get("version").asLong()).isEqualTo(version);
        JsonNode sinceTime = JSON.readTree(get("/v1/events?since=" + deployed.get("time").asString()).body());
        assertThat(sinceTime.get(0).get("time").asString().compareTo(deployed.get("time").asString())).isGreaterThanOrEqualTo(0);

        for (String since : List.of("yesterday", "99999999999999999999", "v99999999999999999999")) {
            HttpResponse<String> bad = get("/v1/events?since=" + since);
            assertThat(bad.statusCode()).as(since).isEqualTo(400);
            assertThat(JSON.readTree(bad.body()).get("code").asString()).isEqualTo("BAD_REQUEST");
        }
    }

    @Test
    void anInjectedFaultAndOneTheCliReportsAreFaultInjectedEvents() throws Exception {
        HttpResponse<String> slow = send("POST", "/v1/nodes/n1/faults/slow?service=kv&partition=1&ms=0", null, Map.of());
        assertThat(slow.statusCode()).as(slow.body()).isEqualTo(202);
        String slowId = JSON.readTree(slow.body()).get("faultId").asString();
        HttpResponse<String> reported = send("POST", "/v1/events/faults",
                "{\"kind\":\"resume-node\",\"node\":\"n1\",\"message\":\"SIGCONT to pid 1 (a test)\"}",
                Map.of("Content-Type", "application/json"));
        assertThat(reported.statusCode()).as(reported.body()).isEqualTo(201);
        String reportedId = JSON.readTree(reported.body()).get("faultId").asString();

        Map<String, JsonNode> byId = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
            Map<String, JsonNode> found = new java.util.HashMap<>();
            for (JsonNode event : JSON.readTree(get("/v1/events").body())) {
                if (event.get("type").asString().equals("fault-injected")) {
                    found.put(event.get("fields").get("fault").asString(), event);
                }
            }
            return found;
        }, found -> found.containsKey(slowId) && found.containsKey(reportedId));

        JsonNode slowEvent = byId.get(slowId);
        assertThat(slowEvent.get("node").asString()).isEqualTo("n1");
        assertThat(slowEvent.get("component").asString()).isEqualTo("kv/1");
        assertThat(slowEvent.get("fields").get("kind").asString()).isEqualTo("slow");
        assertThat(slowEvent.get("fields").get("ms").asLong()).isZero();
        assertThat(slowEvent.get("fields").get("requestedBy").asString()).isEqualTo("n1");
        JsonNode resumeEvent = byId.get(reportedId);
        assertThat(resumeEvent.get("component").asString()).isEqualTo("n1");
        assertThat(resumeEvent.get("message").asString()).isEqualTo("fault injected: resume-node n1, asked through n1: SIGCONT to pid 1 (a test)");
    }

    @Test
    void partitionMetricsShowTheCommandsEachPrimaryApplied() throws Exception {
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> put = send("POST", "/v1/services/kv/call?key=m" + i, "{\"op\":\"put\",\"key\":\"m" + i + "\",\"value\":1}",
                    Map.of());
            assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
        }
        // The monitors sample once a second: wait for a sample that saw the puts.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
            JsonNode figures = JSON.readTree(get("/v1/metrics/partitions").body());
            assertThat(figures.get("nodes").get("n1").asString()).isEqualTo("ok");
            long applied = 0;
            for (JsonNode partition : figures.get("partitions")) {
                if (partition.get("service").asString().equals("kv")) {
                    assertThat(partition.get("node").asString()).isEqualTo("n1");
                    assertThat(partition.get("role").asString()).isEqualTo("primary");
                    applied += partition.get("commandsTotal").asLong();
                }
            }
            assertThat(applied).isGreaterThanOrEqualTo(20);
        });
        assertThat(JSON.readTree(get("/v1/metrics/partitions?scope=node").body()).get("nodes").size()).isEqualTo(1);
        HttpResponse<String> bad = get("/v1/metrics/partitions?scope=everything");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("scope must be node or system, was everything");
    }

    @Test
    void nodesListsThisNodeAsControllerLeaderAndKillOfAnUnknownNodeIsRefused() throws Exception {
        JsonNode nodes = JSON.readTree(get("/v1/nodes").body());
        assertThat(nodes).hasSize(1);
        JsonNode self = nodes.get(0);
        assertThat(self.get("id").asString()).isEqualTo("n1");
        assertThat(self.get("state").asString()).isEqualTo("up");
        assertThat(self.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
        assertThat(self.get("controllerLeader").asBoolean()).isTrue();
        assertThat(self.get("primaries").asInt()).isEqualTo(2);

        HttpResponse<String> unknown = send("POST", "/v1/nodes/n404/kill", null, Map.of());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).get("code").asString()).isEqualTo("UNKNOWN_NODE");
        assertThat(JSON.readTree(unknown.body()).get("error").asString()).contains("n404", "n1");
    }
}
