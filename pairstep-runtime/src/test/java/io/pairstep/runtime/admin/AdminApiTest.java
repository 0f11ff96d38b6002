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
    private Javalin first;
    private Javalin second;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private Javalin server(String id) {
        AdminApi admin = new AdminApi(id, state::get, () -> true, new EventLog(10, Clock.systemUTC()),
                () -> deaths.get(id).incrementAndGet(), (kind, group, seed) -> {
                    if (!group.service().equals("kv")) {
                        return new FaultInjector.Outcome(404, "NO_MEMBER", "no member of " + group + " on " + id);
                    }
                    faults.get(id).add(kind + " " + group.service() + "/" + group.partition() + " " + seed);
                    return FaultInjector.Outcome.injected("done on " + id);
                }).withDumps((group, reason) -> {
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

    @AfterEach
    void stop() {
        first.stop();
        second.stop();
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
