package io.pairstep.runtime.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.javalin.Javalin;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControllerState;
import io.pairstep.runtime.access.AccessControl;
import io.pairstep.runtime.access.AccessToken;
import io.pairstep.runtime.events.EventLog;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * Fault injection between two admin APIs on real HTTP servers, with the self-kill replaced by a
 * counter: the node asked forwards to the target, and only the target "dies".
 */
class AdminApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final AccessToken TOKEN = AccessToken.generate();
    private static final Map<String, String> AUTHORIZED = Map.of("Authorization", "Bearer " + TOKEN.text());

    private final AtomicReference<ControllerState> state = new AtomicReference<>(new ControllerState());
    private final Map<String, AtomicInteger> deaths = Map.of("n1", new AtomicInteger(), "n2", new AtomicInteger());
    /** The faults each node's injector was given, as "kind service/partition seed". */
    private final Map<String, List<String>> faults = Map.of("n1", new CopyOnWriteArrayList<>(), "n2", new CopyOnWriteArrayList<>());
    /** The quick dumps each node's taker was asked for, as "service/partition reason". */
    private final Map<String, List<String>> dumps = Map.of("n1", new CopyOnWriteArrayList<>(), "n2", new CopyOnWriteArrayList<>());
    /** False while the controller "has no leader": a record then never gets an answer. */
    private final java.util.concurrent.atomic.AtomicBoolean controllerAnswers = new java.util.concurrent.atomic.AtomicBoolean(true);
    private final List<FaultRecorder> recorders = new CopyOnWriteArrayList<>();
    private Javalin first;
    private Javalin second;

    /** A controller stand-in: applies each record to the shared state, as the real one would, or never answers. */
    private java.util.concurrent.CompletableFuture<io.pairstep.core.control.ControlResult> propose(ControlCommand command) {
        if (!controllerAnswers.get()) {
            return new java.util.concurrent.CompletableFuture<>();
        }
        synchronized (state) {
            ControllerState next = state.get().copy();
            io.pairstep.core.control.ControlResult result = next.apply(command);
            state.set(next);
            return java.util.concurrent.CompletableFuture.completedFuture(result);
        }
    }
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private Javalin server(String id) {
        AdminApi admin = new AdminApi(id, state::get, () -> true, new EventLog(10, Clock.systemUTC()),
                () -> deaths.get(id).incrementAndGet(), (kind, group, seed) -> {
                    if (!group.service().equals("kv")) {
                        return new FaultInjector.Outcome(404, "NO_MEMBER", "no member of " + group + " on " + id);
                    }
                    faults.get(id).add(kind + " " + group.service() + "/" + group.partition() + " " + seed);
                    return FaultInjector.Outcome.injected("done on " + id);
                }).withFaultRecorder(recorder(this::propose)).withDumps((group, reason) -> {
                    dumps.get(id).add(group.service() + "/" + group.partition() + " " + reason);
                    return new DumpTaker.Outcome(200, null, "dumped", "dump of " + group.service() + " on " + id + "\n");
                });
        return Javalin.create(config -> {
            config.jetty.host = "127.0.0.1";
            config.jetty.port = 0;
            config.startup.showJavalinBanner = false;
            new AccessControl(TOKEN).install(config);
            admin.install(config);
            // Stand-ins for routes of other parts of the node: the open data path and metrics, and
            // a route nobody listed, which is closed like every route not listed as open.
            config.routes.post("/v1/services/{name}/call", ctx -> ctx.result("called"));
            config.routes.get("/metrics", ctx -> ctx.result("metrics"));
            config.routes.get("/v1/added-later", ctx -> ctx.result("secret"));
        }).start();
    }

    @BeforeEach
    void start() {
        first = server("n1");
        second = server("n2");
        ControllerState system = new ControllerState();
        system.apply(new ControlCommand.Bootstrap("s"));
        system.apply(new ControlCommand.RegisterNode("n1", "127.0.0.1:" + first.port(), "127.0.0.1:1", 1, 101));
        system.apply(new ControlCommand.RegisterNode("n2", "127.0.0.1:" + second.port(), "127.0.0.1:2", 1, 102));
        system.apply(new ControlCommand.RegisterNode("n3", "127.0.0.1:9", "127.0.0.1:3", 1, 103));
        system.apply(new ControlCommand.NodeDown("n3", 1, "test"));
        state.set(system);
    }

    private FaultRecorder recorder(java.util.function.Function<ControlCommand,
            java.util.concurrent.CompletableFuture<io.pairstep.core.control.ControlResult>> propose) {
        FaultRecorder recorder = new FaultRecorder(propose);
        recorders.add(recorder);
        return recorder;
    }

    @AfterEach
    void stop() {
        first.stop();
        second.stop();
        recorders.forEach(FaultRecorder::close);
    }

    /** A POST of a JSON body with the system's token and the given headers. */
    private HttpResponse<String> postJson(Javalin server, String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        AUTHORIZED.forEach(request::header);
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private List<io.pairstep.core.control.FaultRecord> recorded() {
        return state.get().faults();
    }

    @Test
    void aFaultIsRecordedByTheNodeThatInjectedItNamingTheNodeThatWasAsked() throws Exception {
        HttpResponse<String> corrupt = post(first, "/v1/nodes/n2/faults/corrupt?service=kv&partition=3&seed=42", Map.of());
        assertThat(corrupt.statusCode()).as(corrupt.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(5)).until(() -> recorded().size() == 1);
        io.pairstep.core.control.FaultRecord record = recorded().getFirst();
        assertThat(record.faultId()).isEqualTo(JSON.readTree(corrupt.body()).get("faultId").asString()).startsWith("n2-");
        assertThat(record.kind()).isEqualTo("corrupt");
        assertThat(record.node()).isEqualTo("n2");
        assertThat(record.service()).isEqualTo("kv");
        assertThat(record.partition()).isEqualTo(3);
        assertThat(record.seed()).isEqualTo(42L);
        assertThat(record.delayMillis()).isNull();
        assertThat(record.outcome()).isEqualTo("done on n2");
        assertThat(record.requestedBy()).as("the node that received the request forwarded it").isEqualTo("n1");

        assertThat(post(first, "/v1/nodes/n1/faults/slow?service=kv&ms=250", Map.of()).statusCode()).isEqualTo(202);
        assertThat(post(second, "/v1/nodes/n2/faults/diverge?service=kv&seed=9", Map.of()).statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(5)).until(() -> recorded().size() == 3);
        assertThat(recorded()).extracting(io.pairstep.core.control.FaultRecord::kind, io.pairstep.core.control.FaultRecord::node,
                io.pairstep.core.control.FaultRecord::requestedBy, io.pairstep.core.control.FaultRecord::seed,
                io.pairstep.core.control.FaultRecord::delayMillis)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("corrupt", "n2", "n1", 42L, null),
                        org.assertj.core.groups.Tuple.tuple("slow", "n1", "n1", null, 250L),
                        // A seed chooses nothing in diverge: it is not recorded.
                        org.assertj.core.groups.Tuple.tuple("diverge", "n2", "n2", null, null));
    }

    @Test
    void aKillIsRecordedBeforeTheNodeDies() throws Exception {
        HttpResponse<String> response = post(first, "/v1/nodes/n2/kill", Map.of());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.get("recorded").asBoolean()).isTrue();
        // Recorded before the answer, so before the death.
        assertThat(recorded()).singleElement().satisfies(record -> {
            assertThat(record.faultId()).isEqualTo(body.get("faultId").asString());
            assertThat(record.kind()).isEqualTo("kill-node");
            assertThat(record.node()).isEqualTo("n2");
            assertThat(record.service()).isNull();
            assertThat(record.requestedBy()).isEqualTo("n1");
            assertThat(record.outcome()).startsWith("SIGKILL to its own process (pid ");
        });
        await().atMost(Duration.ofSeconds(5)).until(() -> deaths.get("n2").get() == 1);
    }

    @Test
    void withoutAControllerAKillStillHappensAfterAShortWaitAndAFaultAtOnce() throws Exception {
        controllerAnswers.set(false);

        long start = System.nanoTime();
        HttpResponse<String> fault = post(first, "/v1/nodes/n2/faults/crash-replica?service=kv", Map.of());
        assertThat(fault.statusCode()).as(fault.body()).isEqualTo(202);
        assertThat(faults.get("n2")).hasSize(1);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).as("the fault does not wait for its record")
                .isLessThan(Duration.ofMillis(AdminApi.KILL_RECORD_WAIT_MILLIS));

        start = System.nanoTime();
        HttpResponse<String> kill = post(first, "/v1/nodes/n1/kill", Map.of());
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(kill.statusCode()).as(kill.body()).isEqualTo(202);
        assertThat(JSON.readTree(kill.body()).get("recorded").asBoolean()).isFalse();
        await().atMost(Duration.ofSeconds(5)).until(() -> deaths.get("n1").get() == 1);
        assertThat(took).isGreaterThanOrEqualTo(Duration.ofMillis(AdminApi.KILL_RECORD_WAIT_MILLIS))
                .isLessThan(Duration.ofMillis(AdminApi.KILL_RECORD_WAIT_MILLIS + 3_000));
        assertThat(recorded()).isEmpty();
    }

    @Test
    void theCliRecordsASignalItSentThroughAnyNodeOnceWhateverTheRetries() throws Exception {
        String body = "{\"id\":\"cli-1\",\"kind\":\"pause-node\",\"node\":\"n2\",\"message\":\"SIGSTOP sent to pid 102\"}";
        HttpResponse<String> response = postJson(first, "/v1/events/faults", body, Map.of());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
        JsonNode answer = JSON.readTree(response.body());
        assertThat(answer.get("recorded").asBoolean()).isTrue();
        assertThat(answer.get("faultId").asString()).isEqualTo("cli-1");
        assertThat(answer.get("requestedBy").asString()).isEqualTo("n1");
        // The same request again, through the other node: still one record.
        assertThat(postJson(second, "/v1/events/faults", body, Map.of()).statusCode()).isEqualTo(201);
        assertThat(recorded()).singleElement().satisfies(record -> {
            assertThat(record.kind()).isEqualTo("pause-node");
            assertThat(record.node()).isEqualTo("n2");
            assertThat(record.outcome()).isEqualTo("SIGSTOP sent to pid 102");
            assertThat(record.requestedBy()).isEqualTo("n1");
        });
        // Without an id the node makes one.
        HttpResponse<String> noId = postJson(second, "/v1/events/faults", "{\"kind\":\"resume-node\",\"node\":\"n2\"}", Map.of());
        assertThat(noId.statusCode()).as(noId.body()).isEqualTo(201);
        assertThat(JSON.readTree(noId.body()).get("faultId").asString()).startsWith("n2-");

        // A controller that does not answer in time: 202, and the node keeps trying.
        controllerAnswers.set(false);
        HttpResponse<String> waiting = postJson(first, "/v1/events/faults", "{\"kind\":\"kill-node\",\"node\":\"n3\"}", Map.of());
        assertThat(waiting.statusCode()).as(waiting.body()).isEqualTo(202);
        assertThat(JSON.readTree(waiting.body()).get("recorded").asBoolean()).isFalse();
        assertThat(recorded()).hasSize(2);
    }

    @Test
    void badRequestsToRecordAFaultAreRefusedByNameAndRecordNothing() throws Exception {
        Map<String, String> none = Map.of();
        String path = "/v1/events/faults";
        HttpResponse<String> replicaFault = postJson(first, path, "{\"kind\":\"corrupt\",\"node\":\"n2\"}", none);
        assertThat(code(replicaFault)).isEqualTo("400 BAD_REQUEST");
        assertThat(JSON.readTree(replicaFault.body()).get("error").asString())
                .isEqualTo("kind must be one of kill-node, pause-node, resume-node, was \"corrupt\" (a node records the faults it carries out itself)");
        HttpResponse<String> unknownField = postJson(first, path, "{\"kind\":\"kill-node\",\"node\":\"n2\",\"pid\":\"1\"}", none);
        assertThat(JSON.readTree(unknownField.body()).get("error").asString())
                .isEqualTo("unknown field \"pid\" (expected kind, node, message and optionally id)");
        assertThat(code(postJson(first, path, "{\"kind\":\"kill-node\"}", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(postJson(first, path, "{\"kind\":\"kill-node\",\"node\":2}", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(postJson(first, path, "not json", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(postJson(first, path, "[1]", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(postJson(first, path, "{\"kind\":\"kill-node\",\"node\":\"n2\",\"id\":\"\"}", none))).isEqualTo("400 BAD_REQUEST");
        HttpResponse<String> unknownNode = postJson(first, path, "{\"kind\":\"kill-node\",\"node\":\"n9\"}", none);
        assertThat(code(unknownNode)).isEqualTo("404 UNKNOWN_NODE");
        assertThat(JSON.readTree(unknownNode.body()).get("error").asString()).isEqualTo("unknown node n9 (known: n1, n2, n3)");
        assertThat(code(postJson(first, path, "{\"kind\":\"kill-node\",\"node\":\"n2\"}", Map.of("Origin", "http://evil.example"))))
                .isEqualTo("403 FORBIDDEN");
        assertThat(recorded()).isEmpty();
    }

    /** A POST with the system's token and the given headers. */
    private HttpResponse<String> post(Javalin server, String path, Map<String, String> headers) throws Exception {
        Map<String, String> all = new HashMap<>(AUTHORIZED);
        all.putAll(headers);
        return send(server, "POST", path, all);
    }

    /** A request with exactly the given headers. */
    private HttpResponse<String> send(Javalin server, String method, String path, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody());
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void killsAndFaultsWithoutTheTokenOrWithAWrongOneAreRefusedAndChangeNothing() throws Exception {
        String wrong = AccessToken.generate().text();
        List<Map<String, String>> refused = List.of(Map.of(), Map.of("Authorization", "Bearer " + wrong),
                Map.of("Authorization", "Basic " + TOKEN.text()), Map.of("Authorization", "Bearer"),
                Map.of("Cookie", AccessControl.COOKIE + "=" + wrong));
        for (Map<String, String> credentials : refused) {
            for (String path : List.of("/v1/nodes/n2/kill", "/v1/nodes/n1/kill", "/v1/nodes/n2/faults/corrupt?service=kv&seed=1",
                    "/v1/nodes/n1/faults/diverge?service=kv")) {
                HttpResponse<String> response = send(first, "POST", path, credentials);
                assertThat(code(response)).as(path + " " + credentials.keySet() + ": " + response.body()).isEqualTo("401 UNAUTHORIZED");
                assertThat(response.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"pairstep\"");
            }
            assertThat(code(send(first, "GET", "/v1/nodes", credentials))).isEqualTo("401 UNAUTHORIZED");
            assertThat(code(send(first, "GET", "/v1/events", credentials))).isEqualTo("401 UNAUTHORIZED");
            assertThat(code(send(first, "GET", "/v1/added-later", credentials))).isEqualTo("401 UNAUTHORIZED");
        }
        assertThat(JSON.readTree(send(first, "POST", "/v1/nodes/n2/kill", Map.of()).body()).get("error").asString())
                .contains("needs the system's access token", "Authorization: Bearer TOKEN");
        assertThat(JSON.readTree(send(first, "GET", "/v1/nodes", refused.get(1)).body()).get("error").asString())
                .startsWith("wrong access token");
        // Forwarded or not, nothing was killed or injected anywhere.
        Thread.sleep(200);
        assertThat(deaths.get("n1").get() + deaths.get("n2").get()).isZero();
        assertThat(faults.get("n1")).isEmpty();
        assertThat(faults.get("n2")).isEmpty();
    }

    @Test
    void theDataPathMetricsAndTheConsolesPageNeedNoTokenAndEverythingElseDoes() throws Exception {
        assertThat(send(first, "POST", "/v1/services/kv/call", Map.of()).body()).isEqualTo("called");
        assertThat(send(first, "GET", "/metrics", Map.of()).body()).isEqualTo("metrics");
        HttpResponse<String> page = send(first, "GET", "/", Map.of());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("Pairstep console", "id=\"login\"");
        // An unknown path stays a plain 404 and says nothing about tokens.
        assertThat(send(first, "GET", "/v1/nowhere", Map.of()).statusCode()).isEqualTo(404);
        assertThat(send(first, "GET", "/v1/added-later", AUTHORIZED).body()).isEqualTo("secret");
        assertThat(send(first, "GET", "/v1/nodes", AUTHORIZED).statusCode()).isEqualTo(200);
    }

    @Test
    void theConsolesCookieWorksAndIsForwardedButNotFromAPageOfAnotherOrigin() throws Exception {
        Map<String, String> cookie = Map.of("Cookie", AccessControl.COOKIE + "=" + TOKEN.text());
        assertThat(send(first, "GET", "/v1/nodes", cookie).statusCode()).isEqualTo(200);
        // Another port of the same host is the same site, so the browser sends the cookie: the Origin gives it away.
        HttpResponse<String> otherPort = send(first, "POST", "/v1/nodes/n2/kill",
                Map.of("Cookie", AccessControl.COOKIE + "=" + TOKEN.text(), "Origin", "http://127.0.0.1:1"));
        assertThat(code(otherPort)).isEqualTo("401 UNAUTHORIZED");
        assertThat(deaths.get("n2").get()).isZero();
        // The console's own page: forwarded to n2 with the cookie, which n2 checks again.
        HttpResponse<String> console = send(first, "POST", "/v1/nodes/n2/kill",
                Map.of("Cookie", AccessControl.COOKIE + "=" + TOKEN.text(), "Origin", "http://127.0.0.1:" + first.port()));
        assertThat(console.statusCode()).as(console.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(5)).until(() -> deaths.get("n2").get() == 1);
    }

    @Test
    void aKillIsForwardedToTheTargetWhichAnswersThenDies() throws Exception {
        HttpResponse<String> response = post(first, "/v1/nodes/n2/kill", Map.of());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.get("node").asString()).isEqualTo("n2");
        assertThat(body.get("signal").asString()).isEqualTo("KILL");
        // The target answers first and dies after its answer left.
        await().atMost(Duration.ofSeconds(5)).until(() -> deaths.get("n2").get() == 1);
        assertThat(deaths.get("n1").get()).isZero();
    }

    @Test
    void aNodeAskedToKillItselfDiesWithoutForwarding() throws Exception {
        assertThat(post(first, "/v1/nodes/n1/kill", Map.of()).statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(5)).until(() -> deaths.get("n1").get() == 1);
        assertThat(deaths.get("n2").get()).isZero();
    }

    @Test
    void unknownDownAndMisdirectedKillsAreRefusedAndKillNobody() throws Exception {
        HttpResponse<String> unknown = post(first, "/v1/nodes/n9/kill", Map.of());
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).get("code").asString()).isEqualTo("UNKNOWN_NODE");
        assertThat(JSON.readTree(unknown.body()).get("error").asString()).isEqualTo("unknown node n9 (known: n1, n2, n3)");

        HttpResponse<String> down = post(first, "/v1/nodes/n3/kill", Map.of());
        assertThat(down.statusCode()).isEqualTo(409);
        assertThat(JSON.readTree(down.body()).get("code").asString()).isEqualTo("NODE_DOWN");

        // A forwarded request that reaches the wrong node is never forwarded again.
        HttpResponse<String> misdirected = post(second, "/v1/nodes/n1/kill", Map.of(AdminApi.FORWARDED_HEADER, "n3"));
        assertThat(misdirected.statusCode()).isEqualTo(409);
        assertThat(JSON.readTree(misdirected.body()).get("code").asString()).isEqualTo("MISDIRECTED");

        // Another web site's page cannot kill through the visitor's browser.
        HttpResponse<String> crossSite = post(first, "/v1/nodes/n2/kill", Map.of("Origin", "http://evil.example"));
        assertThat(crossSite.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(crossSite.body()).get("code").asString()).isEqualTo("FORBIDDEN");

        assertThat(deaths.get("n1").get() + deaths.get("n2").get()).isZero();
    }

    @Test
    void aFaultIsForwardedToTheTargetNodeAndInjectedThereOnly() throws Exception {
        HttpResponse<String> response = post(first, "/v1/nodes/n2/faults/corrupt?service=kv&partition=3&seed=42", Map.of());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.get("node").asString()).isEqualTo("n2");
        assertThat(body.get("fault").asString()).isEqualTo("corrupt");
        assertThat(body.get("seed").asLong()).isEqualTo(42);
        assertThat(body.get("message").asString()).isEqualTo("done on n2");
        assertThat(faults.get("n2")).containsExactly("CORRUPT kv/3 42");
        assertThat(faults.get("n1")).isEmpty();

        HttpResponse<String> local = post(first, "/v1/nodes/n1/faults/diverge?service=kv", Map.of());
        assertThat(local.statusCode()).as(local.body()).isEqualTo(202);
        assertThat(faults.get("n1")).hasSize(1).allMatch(f -> f.startsWith("DIVERGE kv/0 "));

        HttpResponse<String> selfCheck = post(first, "/v1/nodes/n2/faults/self-check?service=kv", Map.of());
        assertThat(selfCheck.statusCode()).as(selfCheck.body()).isEqualTo(202);
        assertThat(JSON.readTree(selfCheck.body()).get("fault").asString()).isEqualTo("self-check");
        assertThat(faults.get("n2")).hasSize(2).last().asString().startsWith("SELF_CHECK kv/0 ");

        // slow carries its delay to the target node; crash-replica takes no parameter.
        HttpResponse<String> slow = post(first, "/v1/nodes/n2/faults/slow?service=kv&partition=1&ms=250", Map.of());
        assertThat(slow.statusCode()).as(slow.body()).isEqualTo(202);
        assertThat(JSON.readTree(slow.body()).get("ms").asLong()).isEqualTo(250);
        assertThat(faults.get("n2")).hasSize(3).last().isEqualTo("SLOW kv/1 250");
        HttpResponse<String> crash = post(first, "/v1/nodes/n2/faults/crash-replica?service=kv", Map.of());
        assertThat(crash.statusCode()).as(crash.body()).isEqualTo(202);
        assertThat(faults.get("n2")).hasSize(4).last().asString().startsWith("CRASH_REPLICA kv/0 ");
    }

    @Test
    void badFaultRequestsAreRefusedAndInjectNothing() throws Exception {
        Map<String, String> none = Map.of();
        assertThat(code(post(first, "/v1/nodes/n2/faults/explode?service=kv", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/nodes/n2/faults/corrupt", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/nodes/n2/faults/corrupt?service=kv&partition=x", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/nodes/n2/faults/corrupt?service=kv&partition=-1", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/nodes/n9/faults/corrupt?service=kv", none))).isEqualTo("404 UNKNOWN_NODE");
        assertThat(code(post(first, "/v1/nodes/n2/faults/slow?service=kv", none))).as("slow without ms").isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/nodes/n2/faults/slow?service=kv&ms=-1", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/nodes/n2/faults/slow?service=kv&ms=60001", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/nodes/n2/faults/slow?service=kv&ms=fast", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/nodes/n3/faults/corrupt?service=kv", none))).isEqualTo("409 NODE_DOWN");
        // The target's own refusal comes back through the forwarding node.
        assertThat(code(post(first, "/v1/nodes/n2/faults/corrupt?service=bank", none))).isEqualTo("404 NO_MEMBER");
        assertThat(code(post(second, "/v1/nodes/n1/faults/corrupt?service=kv", Map.of(AdminApi.FORWARDED_HEADER, "n3"))))
                .isEqualTo("409 MISDIRECTED");
        assertThat(code(post(first, "/v1/nodes/n2/faults/corrupt?service=kv", Map.of("Origin", "http://evil.example"))))
                .isEqualTo("403 FORBIDDEN");
        assertThat(faults.get("n1")).isEmpty();
        assertThat(faults.get("n2")).isEmpty();
        // No fault, no record: give an errant record the time to arrive.
        Thread.sleep(200);
        assertThat(recorded()).isEmpty();
    }

    private static String code(HttpResponse<String> response) {
        return response.statusCode() + " " + JSON.readTree(response.body()).get("code").asString();
    }

    @Test
    void theConsoleOfTheSameOriginMayKill() throws Exception {
        HttpResponse<String> response = post(first, "/v1/nodes/n2/kill", Map.of("Origin", "http://127.0.0.1:" + first.port()));
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(5)).until(() -> deaths.get("n2").get() == 1);
    }

    @Test
    void aDumpIsTakenOnTheBackupsNodeWhicheverNodeIsAskedAndBadRequestsTakeNone() throws Exception {
        ControllerState system = state.get();
        system.apply(new ControlCommand.Deploy(new io.pairstep.core.control.ServiceSpec("kv", 1, io.pairstep.core.Mode.PAIR, 2,
                "example:kv", "", "")));
        io.pairstep.core.control.GroupConfig group = system.groups().get(new io.pairstep.core.GroupId("kv", 1));
        String backup = group.backup().node();
        assertThat(AdminApi.dumpSource(group).node()).isEqualTo(backup);

        for (Javalin asked : List.of(first, second)) {
            HttpResponse<String> response = post(asked, "/v1/services/kv/partitions/1/dump", Map.of());
            assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
            assertThat(response.body()).isEqualTo("dump of kv on " + backup + "\n");
        }
        assertThat(dumps.get(backup)).containsExactly("kv/1 quick dump (pairstep dump) from the backup",
                "kv/1 quick dump (pairstep dump) from the backup");
        String primary = group.primary().node();
        assertThat(post(first, "/v1/services/kv/partitions/1/dump?node=" + primary, Map.of()).statusCode()).isEqualTo(200);
        assertThat(dumps.get(primary)).containsExactly("kv/1 quick dump (pairstep dump) from the primary, as asked");

        Map<String, String> none = Map.of();
        assertThat(code(post(first, "/v1/services/nosuch/partitions/0/dump", none))).isEqualTo("404 UNKNOWN_SERVICE");
        HttpResponse<String> outOfRange = post(first, "/v1/services/kv/partitions/2/dump", none);
        assertThat(code(outOfRange)).isEqualTo("400 BAD_REQUEST");
        assertThat(JSON.readTree(outOfRange.body()).get("error").asString())
                .isEqualTo("partition 2 is out of range: kv has 2 partitions (0 to 1)");
        assertThat(code(post(first, "/v1/services/kv/partitions/x/dump", none))).isEqualTo("400 BAD_REQUEST");
        assertThat(code(post(first, "/v1/services/kv/partitions/1/dump?node=n3", none))).isEqualTo("404 NO_MEMBER");
        assertThat(code(post(first, "/v1/services/kv/partitions/1/dump", Map.of("Origin", "http://evil.example"))))
                .isEqualTo("403 FORBIDDEN");
        assertThat(send(first, "POST", "/v1/services/kv/partitions/1/dump", Map.of()).statusCode()).as("no token").isEqualTo(401);
        assertThat(dumps.get("n1").size() + dumps.get("n2").size()).as("no more dumps taken").isEqualTo(3);
    }
}
