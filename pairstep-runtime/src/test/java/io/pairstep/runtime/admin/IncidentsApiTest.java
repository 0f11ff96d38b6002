package io.pairstep.runtime.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.Javalin;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.IncidentComponent;
import io.pairstep.core.control.IncidentKind;
import io.pairstep.core.control.IncidentReport;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * The incidents routes on a real HTTP server, with the controller played by a {@link
 * ControllerState} that applies what is proposed at once: listing and filtering, one incident,
 * acknowledging, and bad requests that are refused and change nothing.
 */
class IncidentsApiTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ControllerState controller = new ControllerState();
    private final List<ControlCommand> proposed = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private Javalin server;

    private synchronized CompletableFuture<ControlResult> propose(ControlCommand command) {
        proposed.add(command);
        return CompletableFuture.completedFuture(controller.apply(command));
    }

    private synchronized ControllerState state() {
        return controller.copy();
    }

    @BeforeEach
    void start() {
        controller.apply(new ControlCommand.Bootstrap("s"));
        for (String node : List.of("n1", "n2", "n3")) {
            controller.apply(new ControlCommand.RegisterNode(node, "h", "r", 1, 1));
        }
        controller.apply(new ControlCommand.NodeDown("n2", 1, "test"));
        controller.apply(new ControlCommand.NodeDown("n3", 1, "test"));
        for (String node : List.of("n2", "n3")) {
            controller.apply(new ControlCommand.OpenIncident(new IncidentReport(IncidentKind.NODE_DOWN, IncidentComponent.node(node),
                    node + " is down", List.of("an event"), null, "start " + node), 1_000));
        }
        controller.apply(new ControlCommand.RegisterNode("n3", "h", "r", 2, 2));
        controller.apply(new ControlCommand.ResolveIncident(2, "n3 is up again", 2_000));
        IncidentsApi api = new IncidentsApi(this::state, () -> true, this::propose, () -> 3_000);
        server = Javalin.create(config -> {
            config.jetty.host = "127.0.0.1";
            config.jetty.port = 0;
            config.startup.showJavalinBanner = false;
            api.install(config);
        }).start();
    }

    @AfterEach
    void stop() {
        server.stop();
    }

    private HttpResponse<String> send(String method, String path, String body, Map<String, String> headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        headers.forEach(request::header);
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode ok(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private void refused(HttpResponse<String> response, int status, String code, String message) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        JsonNode error = JSON.readTree(response.body());
        assertThat(error.get("code").asString()).isEqualTo(code);
        assertThat(error.get("error").asString()).contains(message);
    }

    @Test
    void listsEveryIncidentOrThoseOfTheStatesAsked() throws Exception {
        JsonNode all = ok(send("GET", "/v1/incidents", null, Map.of()));
        assertThat(all).extracting(i -> i.get("id").asLong() + " " + i.get("state").asString()).containsExactly("1 open", "2 resolved");
        JsonNode first = all.get(0);
        assertThat(first.get("kind").asString()).isEqualTo("node-down");
        assertThat(first.get("component").get("type").asString()).isEqualTo("node");
        assertThat(first.get("component").get("id").asString()).isEqualTo("n2");
        assertThat(first.get("component").get("partition").isNull()).isTrue();
        assertThat(first.get("openedAt").asString()).isEqualTo("1970-01-01T00:00:01Z");
        assertThat(first.get("evidence").get("recentEvents").get(0).asString()).isEqualTo("an event");
        assertThat(first.get("evidence").get("dumpFile").isNull()).isTrue();
        assertThat(first.get("suggestedAction").asString()).isEqualTo("start n2");

        assertThat(ok(send("GET", "/v1/incidents?state=open,acknowledged", null, Map.of()))).extracting(i -> i.get("id").asLong())
                .containsExactly(1L);
        assertThat(ok(send("GET", "/v1/incidents?state=RESOLVED", null, Map.of()))).extracting(i -> i.get("id").asLong())
                .containsExactly(2L);
        refused(send("GET", "/v1/incidents?state=open,closed", null, Map.of()), 400, "BAD_REQUEST", "was \"closed\"");
    }

    @Test
    void oneIncidentWithItsHistoryAndUnknownIdsAre404() throws Exception {
        JsonNode resolved = ok(send("GET", "/v1/incidents/2", null, Map.of()));
        assertThat(resolved.get("history")).extracting(h -> h.get("state").asString()).containsExactly("open", "resolved");
        assertThat(resolved.get("history").get(1).get("message").asString()).isEqualTo("resolved: n3 is up again");
        refused(send("GET", "/v1/incidents/99", null, Map.of()), 404, "UNKNOWN_INCIDENT", "unknown incident 99");
        refused(send("GET", "/v1/incidents/n2", null, Map.of()), 404, "UNKNOWN_INCIDENT", "unknown incident n2 (incident ids are numbers)");
    }

    @Test
    void acknowledgingGoesThroughTheControllerOnceAndTwiceChangesNothing() throws Exception {
        JsonNode acked = ok(send("POST", "/v1/incidents/1/ack", "{\"by\":\"ops@example.com\"}", Map.of()));
        assertThat(acked.get("state").asString()).isEqualTo("acknowledged");
        assertThat(acked.get("history").get(1).get("message").asString()).isEqualTo("acknowledged by ops@example.com");
        assertThat(proposed).containsExactly(new ControlCommand.AcknowledgeIncident(1, "ops@example.com", 3_000));

        JsonNode again = ok(send("POST", "/v1/incidents/1/ack", null, Map.of()));
        assertThat(again.get("history")).hasSize(2);
        assertThat(state().incidents().all().get(1L).history()).hasSize(2);
    }

    @Test
    void badAcknowledgementsAreRefusedAndChangeNothing() throws Exception {
        refused(send("POST", "/v1/incidents/2/ack", null, Map.of()), 409, "RESOLVED", "incident 2 is resolved already");
        refused(send("POST", "/v1/incidents/7/ack", null, Map.of()), 404, "UNKNOWN_INCIDENT", "unknown incident 7");
        refused(send("POST", "/v1/incidents/1/ack", "{\"by\":", Map.of()), 400, "BAD_REQUEST", "not JSON");
        refused(send("POST", "/v1/incidents/1/ack", "{\"by\":42}", Map.of()), 400, "BAD_REQUEST", "{\"by\": \"who acknowledges\"}");
        refused(send("POST", "/v1/incidents/1/ack", "[]", Map.of()), 400, "BAD_REQUEST", "a JSON object");
        refused(send("POST", "/v1/incidents/1/ack", "{\"by\":\"" + "x".repeat(2_001) + "\"}", Map.of()), 400, "BAD_REQUEST",
                "at most 2000 characters");
        refused(send("POST", "/v1/incidents/1/ack", null, Map.of("Origin", "http://evil.example.com")), 403, "FORBIDDEN",
                "may not acknowledge incidents");
        assertThat(state().incidents().all().get(1L).state().label()).isEqualTo("open");
        assertThat(proposed).isEmpty();
    }
}
