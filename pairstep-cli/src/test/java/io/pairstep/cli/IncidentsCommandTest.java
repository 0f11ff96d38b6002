package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code pairstep incidents} and {@code incidents ack} against an in-process fake node. */
class IncidentsCommandTest {

    private static final String OPEN = """
            {"id":3,"kind":"node-down","state":"open","component":{"type":"node","id":"n2","node":"n2","service":null,"partition":null},
             "openedAt":"2026-11-22T02:00:00Z","updatedAt":"2026-11-22T02:00:00Z","what":"node n2 is down",
             "evidence":{"recentEvents":["e1"],"dumpFile":null},"suggestedAction":"start n2 again",
             "history":[{"time":"2026-11-22T02:00:00Z","state":"open","message":"opened: node n2 is down"}]}""";
    private static final String RESOLVED = """
            {"id":2,"kind":"replica-isolated","state":"resolved","component":{"type":"replica","id":"kv/0@n3","node":"n3","service":"kv","partition":0},
             "openedAt":"2026-11-22T01:00:00Z","updatedAt":"2026-11-22T01:00:05Z","what":"the member of kv/0 on n3 was taken out",
             "evidence":{"recentEvents":[],"dumpFile":"n3:/d/kv-0.dump"},"suggestedAction":"read the dump",
             "history":[{"time":"2026-11-22T01:00:00Z","state":"open","message":"opened"},
                        {"time":"2026-11-22T01:00:05Z","state":"resolved","message":"resolved: kv/0 is back to full protection"}]}""";

    private HttpServer server;
    private final List<String> requests = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String query = ex.getRequestURI().getRawQuery();
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        requests.add(ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath() + (query == null ? "" : "?" + query)
                + (body.isEmpty() ? "" : " " + body));
        String path = ex.getRequestURI().getPath();
        if (path.equals("/v1/incidents")) {
            answer(ex, 200, query == null ? "[" + RESOLVED + "," + OPEN + "]" : "[" + OPEN + "]");
        } else if (path.equals("/v1/incidents/3/ack")) {
            answer(ex, 200, OPEN.replace("\"state\":\"open\",\"component\"", "\"state\":\"acknowledged\",\"component\""));
        } else {
            answer(ex, 404, "{\"error\":\"unknown incident 9 (incident ids are numbers)\",\"code\":\"UNKNOWN_INCIDENT\"}");
        }
    }

    private static void answer(HttpExchange ex, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private String fake() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    @Test
    void incidentsShowsTheUnresolvedOnesWithWhatHappenedAndWhatToDo() {
        Cli r = Cli.run("incidents", "--cluster", fake());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("""
                ID  STATE  KIND       COMPONENT  OPENED                UPDATED
                3   open   node-down  n2         2026-11-22T02:00:00Z  2026-11-22T02:00:00Z
                    node n2 is down
                    to do: start n2 again
                """);
        assertThat(requests).containsExactly("GET /v1/incidents?state=open,acknowledged");
    }

    @Test
    void allAddsTheResolvedOnesWithHowTheyHealed() {
        Cli r = Cli.run("incidents", "--all", "--cluster", fake());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("2   resolved  replica-isolated  kv/0@n3", "    dump: n3:/d/kv-0.dump",
                "    resolved: kv/0 is back to full protection", "3   open      node-down");
        assertThat(requests).containsExactly("GET /v1/incidents");

        Cli json = Cli.run("incidents", "--json", "--all", "--cluster", fake());
        assertThat(json.exit()).isZero();
        assertThat(json.out()).startsWith("[ {").contains("\"suggestedAction\" : \"read the dump\"");
    }

    @Test
    void ackPostsWhoAcknowledgesAndPrintsTheNewState() {
        Cli r = Cli.run("incidents", "ack", "3", "--by", "ops", "--cluster", fake());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo("incident 3 acknowledged: node-down n2, acknowledged\n");
        assertThat(requests).containsExactly("POST /v1/incidents/3/ack {\"by\":\"ops\"}");
    }

    @Test
    void anUnknownIdIsAClearErrorAndABadOneAUsageError() {
        Cli unknown = Cli.run("incidents", "ack", "9", "--cluster", fake());
        assertThat(unknown.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(unknown.err()).isEqualTo("pairstep: unknown incident 9 (incident ids are numbers)\n");

        Cli bad = Cli.run("incidents", "ack", "n2", "--cluster", fake());
        assertThat(bad.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(bad.err()).contains("ID", "n2");
        assertThat(requests).containsExactly("POST /v1/incidents/9/ack {\"by\":\"" + System.getProperty("user.name") + "\"}");
    }
}
