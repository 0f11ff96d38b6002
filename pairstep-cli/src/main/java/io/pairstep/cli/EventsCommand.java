package io.pairstep.cli;

import io.pairstep.runtime.access.AccessToken;
import io.pairstep.runtime.access.PeerHttp;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/** {@code pairstep events}: the system's event log (GET /v1/events, and /v1/events/stream with --follow). */
@Command(name = "events", mixinStandardHelpOptions = true,
        description = {"Shows the system's event log: nodes up and down, takeovers, replicas inserted, synced and removed,"
                + " deploys, controller leader changes, threshold alerts fired and cleared.",
                "Every node derives the same events from the controller; a node's log starts when the node started"
                        + " and keeps the last 10,000 events."})
public final class EventsCommand implements Callable<Integer> {

    static final Duration TIMEOUT = Duration.ofSeconds(5);
    /** Pause before trying the nodes again when none of them streams. */
    private static final long RETRY_PAUSE_MILLIS = 1000;

    @Mixin
    SystemOptions system = new SystemOptions();

    @Option(names = "--since", paramLabel = "T",
            description = "Only events since T: an ISO-8601 time (2026-11-21T10:15:30Z; events at or after it), an event number of the node"
                    + " asked (events after it), or v<controller version> (events of later versions; the same on every node).")
    String since;

    @Option(names = {"-f", "--follow"}, description = "Keep printing new events as they happen, until interrupted.")
    boolean follow;

    @Option(names = "--json", description = "Print each event as one line of JSON, as the node sent it.")
    boolean json;

    @Spec
    CommandSpec spec;

    /** The access token that --follow sends to each node it asks. */
    private AccessToken token;

    @Override
    public Integer call() throws InterruptedException {
        system.validate();
        PrintWriter out = spec.commandLine().getOut();
        if (!follow) {
            JsonNode events;
            try (ApiClient client = system.client()) {
                events = client.get("/v1/events" + query(since), TIMEOUT).requireOk().json();
            }
            for (JsonNode event : events) {
                out.println(format(event, json));
            }
            out.flush();
            return ExitCodes.OK;
        }
        follow(out);
        return ExitCodes.OK;
    }

    private static String query(String since) {
        return since == null || since.isBlank() ? "" : "?since=" + Urls.encode(since.strip());
    }

    /** One event as a line: time, controller version, type and message; or its JSON. */
    static String format(JsonNode event, boolean json) {
        if (json) {
            return event.toString();
        }
        return String.format(Locale.ROOT, "%s  v%-5d %-17s %s", Json.text(event, "time", "?"), event.path("version").asLong(),
                Json.text(event, "type", "?"), Json.text(event, "message", ""));
    }

    /**
     * Follows the event stream of the first node that serves it. When that node goes away, the
     * next one is asked for the events of later controller versions, which every node numbers the
     * same way, so nothing is printed twice and nothing between is missed.
     */
    private void follow(PrintWriter out) throws InterruptedException {
        List<HostPort> nodes = system.httpAddresses();
        token = system.token();
        PeerHttp peers;
        try {
            peers = PeerHttp.of(system.authority(), ApiClient.CONNECT_TIMEOUT);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), ExitCodes.USAGE);
        }
        Cursor cursor = new Cursor(since == null || since.isBlank() ? "0" : since.strip());
        PrintWriter err = spec.commandLine().getErr();
        int failuresInARow = 0;
        while (!Thread.currentThread().isInterrupted()) {
            HostPort node = nodes.get(failuresInARow % nodes.size());
            String problem = stream(peers, node, cursor, out);
            if (problem == null) {
                failuresInARow = 0;
                continue;
            }
            failuresInARow++;
            err.println("pairstep: event stream from " + node + ": " + problem
                    + (nodes.size() > 1 ? "; trying " + nodes.get(failuresInARow % nodes.size()) : "; trying again"));
            err.flush();
            if (failuresInARow % nodes.size() == 0) {
                Thread.sleep(RETRY_PAUSE_MILLIS);
            }
        }
        throw new InterruptedException();
    }

    /** Where the output stands: what to ask the next node for, and the last event printed. */
    private static final class Cursor {
        String since;
        long version = -1;
        int index = -1;

        Cursor(String since) {
            this.since = since;
        }

        boolean printed(JsonNode event) {
            long v = event.path("version").asLong();
            int i = event.path("index").asInt();
            if (version >= 0 && (v < version || (v == version && i <= index))) {
                return false;
            }
            version = v;
            index = i;
            // The events of the last version may not all have arrived: ask again from that version.
            since = "v" + (v - 1);
            return true;
        }
    }

    /** Prints one node's stream until it ends; returns why it ended, or null if it ended normally. */
    private String stream(PeerHttp peers, HostPort node, Cursor cursor, PrintWriter out) throws InterruptedException {
        HttpRequest request = ApiClient.authorize(HttpRequest.newBuilder(peers.uri(node.authority(), "/v1/events/stream"
                        + query(cursor.since))), token)
                .header("Accept", "text/event-stream")
                .GET()
                .build();
        HttpResponse<InputStream> response;
        try {
            response = peers.client().send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IOException e) {
            javax.net.ssl.SSLException tls = ApiClient.tlsCause(e);
            return tls == null ? ApiClient.describe(e) : ApiClient.tlsFailure(tls, peers.authority());
        }
        try (InputStream body = response.body()) {
            if (response.statusCode() != 200) {
                ApiClient.Response answer = new ApiClient.Response(node, response.statusCode(), body.readAllBytes());
                if (response.statusCode() == 400) {
                    throw new CliException(answer.errorMessage(), ExitCodes.USAGE);
                }
                if (response.statusCode() == 401) {
                    // Every node has the same token: the others would refuse it too.
                    throw new CliException(answer.errorMessage());
                }
                return answer.errorMessage();
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
            StringBuilder data = new StringBuilder();
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.startsWith("data:")) {
                    data.append(line.substring(line.startsWith("data: ") ? 6 : 5));
                } else if (line.isEmpty() && !data.isEmpty()) {
                    JsonNode event;
                    try {
                        event = Json.MAPPER.readTree(data.toString());
                    } catch (JacksonException e) {
                        return "not an event: " + ApiClient.abbreviate(data.toString());
                    }
                    data.setLength(0);
                    if (cursor.printed(event)) {
                        out.println(format(event, json));
                        out.flush();
                    }
                }
            }
            return "the node closed the stream";
        } catch (IOException e) {
            return ApiClient.describe(e);
        }
    }
}
