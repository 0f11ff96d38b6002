package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The commands that talk HTTP, against an in-process fake node. */
class HttpCommandsTest {

    /** What the fake node answers for a method and path, and what it was asked. */
    record Canned(int status, String body, long delayMillis) {
    }

    record Seen(String method, String uri, String body, String idempotencyKey) {
    }

    private HttpServer server;
    private final Map<String, Canned> answers = new ConcurrentHashMap<>();
    private final List<Seen> seen = new CopyOnWriteArrayList<>();

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        seen.add(new Seen(ex.getRequestMethod(), ex.getRequestURI().getRawPath()
                + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery()),
                body, ex.getRequestHeaders().getFirst("Idempotency-Key")));
        Canned c = answers.getOrDefault(ex.getRequestMethod() + " " + ex.getRequestURI().getPath(),
                new Canned(404, "{\"error\":\"no such path\",\"code\":\"NOT_FOUND\"}", 0));
        if (c.delayMillis() > 0) {
            try {
                Thread.sleep(c.delayMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        byte[] bytes = c.body().getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(c.status(), bytes.length == 0 ? -1 : bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private String fake() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void statusTriesTheNodesInOrder() throws IOException {
        answers.put("GET /v1/status", new Canned(200, StatusTableTest.SAMPLE, 0));
        String cluster = "127.0.0.1:" + closedPort() + "," + fake();
        Cli r = Cli.run("status", "--cluster", cluster);
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("system 7c45-sys\n").contains("kv/0   pair  3      n1 primary ok, n2 backup syncing");

        Cli json = Cli.run("status", "--json", "--cluster", cluster);
        assertThat(json.exit()).isZero();
        assertThat(json.out()).isEqualTo(StatusTableTest.SAMPLE);
    }

    @Test
    void statusWithDirUsesClusterJson() {
        answers.put("GET /v1/status", new Canned(200, StatusTableTest.SAMPLE, 0));
        new ClusterFile("s", List.of(new ClusterFile.Node("n1", 0, fake(), "127.0.0.1:1", "/d", List.of())))
                .write(tmp);
        Cli r = Cli.run("status", "--dir", tmp.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("n3    down   -");
    }

    @Test
    void unreachableSystemIsOneLine() throws IOException {
        int a = closedPort();
        int b = closedPort();
        Cli r = Cli.run("status", "--cluster", "127.0.0.1:" + a + ",127.0.0.1:" + b);
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).isEqualTo("pairstep: cannot reach the system: 127.0.0.1:" + a
                + " (connection refused), 127.0.0.1:" + b + " (connection refused)\n");
    }

    @Test
    void callPrintsTheResult() {
        answers.put("POST /v1/services/kv/call", new Canned(200, "{\"value\":\"1\"}", 0));
        Cli r = Cli.run("call", "kv", "--key", "a b/c", "{\"op\":\"get\",\"key\":\"a\"}", "--cluster", fake(),
                "--idempotency-key", "k-1");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("{\"value\":\"1\"}\n");
        assertThat(seen).singleElement().isEqualTo(new Seen("POST", "/v1/services/kv/call?key=a%20b%2Fc",
                "{\"op\":\"get\",\"key\":\"a\"}", "k-1"));
    }

    @Test
    void applicationErrorsExitWith3AndOtherErrorsWith1() {
        answers.put("POST /v1/services/bank/call", new Canned(422,
                "{\"error\":\"insufficient funds in account a\",\"code\":\"APPLICATION_ERROR\"}", 0));
        Cli refused = Cli.run("call", "bank", "{}", "--cluster", fake());
        assertThat(refused.exit()).isEqualTo(ExitCodes.APPLICATION_ERROR);
        assertThat(refused.err()).isEqualTo("pairstep: insufficient funds in account a\n");
        assertThat(refused.out()).isEmpty();

        answers.put("POST /v1/services/nope/call", new Canned(404,
                "{\"error\":\"unknown service nope\",\"code\":\"UNKNOWN_SERVICE\"}", 0));
        Cli unknown = Cli.run("call", "nope", "{}", "--cluster", fake());
        assertThat(unknown.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(unknown.err()).isEqualTo("pairstep: unknown service nope\n");

        answers.put("POST /v1/services/odd/call", new Canned(500, "oops\nat line 2", 0));
        Cli odd = Cli.run("call", "odd", "{}", "--cluster", fake());
        assertThat(odd.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(odd.err()).isEqualTo("pairstep: node " + fake() + " answered HTTP 500: oops at line 2\n");
    }

    @Test
    void aNodeThatDoesNotAnswerIsOnlyRetriedWithAnIdempotencyKey() throws IOException {
        answers.put("POST /v1/services/kv/call", new Canned(200, "late", 3_000));
        HttpServer second = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        second.createContext("/", ex -> {
            byte[] b = "from second".getBytes(StandardCharsets.UTF_8);
            ex.getRequestBody().readAllBytes();
            ex.sendResponseHeaders(200, b.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(b);
            }
        });
        second.start();
        try {
            String cluster = fake() + ",127.0.0.1:" + second.getAddress().getPort();
            Cli once = Cli.run("call", "kv", "{}", "--timeout", "1", "--cluster", cluster);
            assertThat(once.exit()).isEqualTo(ExitCodes.ERROR);
            assertThat(once.err()).contains("no answer within 1 s", "may or may not have been carried out");

            Cli retried = Cli.run("call", "kv", "{}", "--timeout", "1", "--idempotency-key", "x", "--cluster", cluster);
            assertThat(retried.exit()).as(retried.err()).isZero();
            assertThat(retried.out()).isEqualTo("from second\n");
        } finally {
            second.stop(0);
        }
    }

    @Test
    void deployPostsTheServiceAndSaysWhatItDid() throws IOException {
        answers.put("POST /v1/services", new Canned(201,
                "{\"name\":\"kv\",\"version\":1,\"mode\":\"pair\",\"partitions\":4,\"artifact\":\"example:kv\"}", 0));
        Cli r = Cli.run("deploy", "kv", "--example", "kv", "--partitions", "4", "--cluster", fake());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("deployed kv: mode pair, 4 partitions\n");
        assertThat(seen).singleElement().satisfies(s -> {
            assertThat(s.uri()).isEqualTo("/v1/services");
            assertThat(Json.MAPPER.readTree(s.body())).isEqualTo(Json.MAPPER.readTree(
                    "{\"name\":\"kv\",\"example\":\"kv\",\"mode\":\"pair\",\"partitions\":4}"));
        });

        Path jar = Files.writeString(tmp.resolve("orders.jar"), "x");
        answers.put("POST /v1/artifacts", new Canned(201, "{\"digest\":\"d\"}", 0));
        answers.put("POST /v1/services", new Canned(409,
                "{\"error\":\"service orders already exists\",\"code\":\"ALREADY_EXISTS\"}", 0));
        Cli taken = Cli.run("deploy", "orders", "--jar", jar.toString(), "--class", "com.example.Orders",
                "--cluster", fake());
        assertThat(taken.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(taken.err()).isEqualTo("pairstep: service orders already exists\n");
        // The jar's bytes go up first, named by the SHA-256 of "x"; the deploy names that digest, not a path.
        String digestOfX = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
        assertThat(seen.get(1).uri()).isEqualTo("/v1/artifacts?sha256=" + digestOfX + "&class=com.example.Orders");
        assertThat(seen.get(1).body()).isEqualTo("x");
        assertThat(Json.MAPPER.readTree(seen.get(2).body()).get("digest").asString()).isEqualTo(digestOfX);
        assertThat(Json.MAPPER.readTree(seen.get(2).body()).has("jar")).isFalse();
    }

    @Test
    void aRefusedUploadDeploysNothing() throws IOException {
        Path jar = Files.writeString(tmp.resolve("orders.jar"), "not a jar");
        answers.put("POST /v1/artifacts", new Canned(400, "{\"error\":\"not a jar (zip) file: zip END header not found\","
                + "\"code\":\"BAD_REQUEST\"}", 0));
        Cli r = Cli.run("deploy", "orders", "--jar", jar.toString(), "--class", "com.example.Orders", "--cluster", fake());
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).isEqualTo("pairstep: not a jar (zip) file: zip END header not found\n");
        assertThat(seen).extracting(Seen::method, s -> s.uri().replaceAll("\\?.*", ""))
                .containsExactly(org.assertj.core.groups.Tuple.tuple("POST", "/v1/artifacts"));
    }

    @Test
    void servicesListsEachServiceWithItsHealthAndDigest() {
        String digest = "ab".repeat(32);
        answers.put("GET /v1/services", new Canned(200, "[{\"name\":\"kv\",\"version\":1,\"artifact\":\"example:kv\","
                + "\"digest\":\"\",\"mode\":\"pair\",\"partitions\":4,\"health\":\"ok\"},"
                + "{\"name\":\"orders\",\"version\":1,\"artifact\":\"sha256:" + digest + "\",\"digest\":\"" + digest
                + "\",\"mode\":\"tmr\",\"partitions\":1,\"health\":\"degraded\","
                + "\"upgrade\":{\"from\":1,\"to\":2,\"state\":\"rolled-back\"}},"
                + "{\"name\":\"votes\",\"version\":1,\"artifact\":\"example:kv\",\"digest\":\"\",\"mode\":\"dmr\",\"partitions\":1,"
                + "\"health\":\"degraded\",\"upgrade\":{\"from\":1,\"to\":2,\"state\":\"upgrading\",\"waiting\":\"waiting until version 2"
                + " on n3 (votes/0) has agreed with version 1 on 64 client commands\"}}]", 0));
        Cli r = Cli.run("services", "--cluster", fake());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("""
                SERVICE  VERSION  MODE  PARTITIONS  HEALTH    LAST UPGRADE      ARTIFACT
                kv       1        pair  4           ok        -                 example:kv
                orders   1        tmr   1           degraded  1->2 rolled-back  sha256:%s
                votes    1        dmr   1           degraded  1->2 upgrading    example:kv
                votes: waiting until version 2 on n3 (votes/0) has agreed with version 1 on 64 client commands
                """.formatted(digest));
        Cli json = Cli.run("services", "--json", "--cluster", fake());
        assertThat(Json.MAPPER.readTree(json.out()).get(1).get("digest").asString()).isEqualTo(digest);

        answers.put("GET /v1/services", new Canned(200, "[]", 0));
        assertThat(Cli.run("services", "--cluster", fake()).out()).isEqualTo("no services deployed\n");
    }

    @Test
    void callReadsThePayloadFromStdin() {
        answers.put("POST /v1/services/kv/call", new Canned(200, "ok\n", 0));
        var in = System.in;
        System.setIn(new java.io.ByteArrayInputStream("{\"op\":\"put\"}".getBytes(StandardCharsets.UTF_8)));
        try {
            Cli r = Cli.run("call", "kv", "-", "--cluster", fake());
            assertThat(r.exit()).as(r.err()).isZero();
            assertThat(r.out()).isEqualTo("ok\n");
        } finally {
            System.setIn(in);
        }
        assertThat(seen).singleElement().extracting(Seen::body).isEqualTo("{\"op\":\"put\"}");
    }

    @Test
    void pauseAndResumeSignalFirstThenAskTheSystemToRecordTheFaultAndSayWhenItCannot() throws Exception {
        Process sleeper = new ProcessBuilder("sleep", "60").start();
        try {
            long pid = sleeper.pid();
            // The node's own address is closed, as a paused or killed node's effectively is: the record goes to the other.
            answers.put("GET /v1/status", new Canned(200, "{\"system\":\"s\",\"nodes\":[{\"id\":\"n1\",\"state\":\"up\",\"pid\":" + pid
                    + ",\"http\":\"127.0.0.1:" + closedPort() + "\",\"rpc\":\"127.0.0.1:1\"}],\"services\":[],\"groups\":[]}", 0));
            answers.put("POST /v1/events/faults", new Canned(201, "{\"faultId\":\"cli-1\",\"node\":\"n1\",\"kind\":\"pause-node\","
                    + "\"requestedBy\":\"n2\",\"recorded\":true}", 0));

            Cli paused = Cli.run("fault", "pause-node", "n1", "--cluster", fake());

            assertThat(paused.exit()).as(paused.err()).isZero();
            assertThat(paused.out()).isEqualTo("paused n1 (pid " + pid + ")\nrecorded in the event log through n2 (fault-injected)\n");
            assertThat(processState(pid)).isEqualTo('T');
            Seen record = seen.stream().filter(x -> x.method().equals("POST")).findFirst().orElseThrow();
            assertThat(record.uri()).isEqualTo("/v1/events/faults");
            var body = Json.MAPPER.readTree(record.body());
            assertThat(body.get("kind").asString()).isEqualTo("pause-node");
            assertThat(body.get("node").asString()).isEqualTo("n1");
            assertThat(body.get("message").asString()).isEqualTo("SIGSTOP sent by pairstep fault pause-node to pid " + pid);
            assertThat(body.get("id").asString()).startsWith("cli-");

            // The system does not take the record: the signal is sent all the same, and the CLI says so.
            seen.clear();
            answers.put("POST /v1/events/faults", new Canned(503, "{\"error\":\"the controller did not take the record\","
                    + "\"code\":\"UNAVAILABLE\"}", 0));
            Cli resumed = Cli.run("fault", "resume-node", "n1", "--cluster", fake());

            assertThat(resumed.exit()).as(resumed.err()).isZero();
            assertThat(resumed.out()).isEqualTo("resumed n1 (pid " + pid + ")\n");
            assertThat(resumed.err()).isEqualTo("pairstep: the fault is not in the event log: the controller did not take the record\n");
            assertThat(processState(pid)).isNotEqualTo('T');
            assertThat(seen).extracting(Seen::uri).containsExactly("/v1/status", "/v1/events/faults");

            // A node still trying: the CLI says so rather than claiming the event is there.
            answers.put("POST /v1/events/faults", new Canned(202, "{\"faultId\":\"cli-2\",\"requestedBy\":\"n2\",\"recorded\":false}", 0));
            Cli again = Cli.run("fault", "resume-node", "n1", "--cluster", fake());
            assertThat(again.out()).endsWith("sent to n2 for the event log; the controller has not answered yet and n2 keeps trying\n");
        } finally {
            sleeper.destroyForcibly().waitFor();
        }
    }

    /** The state letter of a process in /proc (T: stopped). */
    private static char processState(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        return stat.charAt(stat.lastIndexOf(')') + 2);
    }

    @Test
    void faultWithClusterFindsThePidInTheStatus() {
        answers.put("GET /v1/status", new Canned(200, StatusTableTest.SAMPLE, 0));
        Cli r = Cli.run("fault", "pause-node", "n7", "--cluster", fake());
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).isEqualTo("pairstep: unknown node 'n7'; known nodes: n1, n2, n3\n");
    }
}
