package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * Incidents and call home with real processes: a 3-node system whose availability file names a
 * call-home URL served by a JDK HTTP server on loopback. A node is SIGKILLed: an incident opens by
 * itself naming that node, with evidence and a suggested action, and is POSTed to the receiver;
 * {@code pairstep incidents} shows it and {@code pairstep incidents ack} acknowledges it (POSTed
 * too); the node is started again and the incident resolves by itself, and that is POSTed as well.
 * And a corrupted TMR member: outvoted and isolated, it opens one incident that names the dump file
 * it wrote, and resolves by itself once the group is rebuilt. Waits are generous and times are
 * printed, not asserted.
 */
class IncidentsIT {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    private final List<JsonNode> calledHome = new CopyOnWriteArrayList<>();
    private final HttpClient http = HttpClient.newHttpClient();
    private HttpServer receiver;

    @AfterEach
    void stopReceiver() {
        if (receiver != null) {
            receiver.stop(0);
        }
    }

    @Test
    void aKilledNodeOpensAnIncidentThatIsCalledHomeAcknowledgedAndResolvedByItselfWhenTheNodeIsBack() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        receiver.createContext("/pairstep/incidents", exchange -> {
            calledHome.add(JSON.readTree(exchange.getRequestBody().readAllBytes()));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        Path availability = dir.resolve("availability.yaml");
        Files.writeString(availability, "callHome: \"http://127.0.0.1:" + receiver.getAddress().getPort() + "/pairstep/incidents\"\n");

        try (LocalSystem system = LocalSystem.start(dir.resolve("system"), 3, LocalSystem.freeBasePort(), "always", false,
                List.of("--availability", availability.toString()))) {
            system.deploy("kv", "kv", "pair", 2);
            assertThat(system.awaitFullyProtected(WAIT)).as("kv fully protected").isTrue();
            // On a loaded machine a node may be declared down while the system starts: a real incident, but not this test's.
            long before = 0;
            for (JsonNode earlier : incidents(system, "")) {
                before = Math.max(before, earlier.get("id").asLong());
            }
            long firstId = before + 1;

            String leader = system.status().get("controllerLeader").asString();
            String victim = List.of("n3", "n2", "n1").stream().filter(n -> !n.equals(leader)).findFirst().orElseThrow();
            long pid = system.clusterFile().node(victim).pid();
            System.out.printf("IncidentsIT: controller leader %s, killing %s (pid %d)%n", leader, victim, pid);

            long killed = System.nanoTime();
            system.kill(victim);
            JsonNode incident = await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                    .until(() -> nodeDown(incidents(system, "?state=open"), victim, firstId), found -> found != null);
            System.out.printf("IncidentsIT: incident %s open %d ms after SIGKILL%n", incident.get("id"), millisSince(killed));
            long id = incident.get("id").asLong();
            assertThat(incident.get("component").get("type").asString()).isEqualTo("node");
            assertThat(incident.get("what").asString()).contains("node " + victim, "pid " + pid, "is down");
            assertThat(incident.get("suggestedAction").asString()).contains("start-node --id " + victim);
            assertThat(incident.get("evidence").get("recentEvents").toString()).contains("node-down: " + victim + " is down");

            JsonNode opened = awaitCallHome("incident.opened", id);
            System.out.printf("IncidentsIT: call home of the opening %d ms after SIGKILL%n", millisSince(killed));
            assertThat(opened.get("incident").get("component").get("id").asString()).isEqualTo(victim);
            assertThat(opened.get("incident").get("state").asString()).isEqualTo("open");

            String table = system.cli("incidents", "--dir", system.dir().toString());
            assertThat(table).contains("node-down", victim, "to do: ");
            String acked = system.cli("incidents", "ack", Long.toString(id), "--by", "IncidentsIT", "--dir", system.dir().toString());
            assertThat(acked).contains("incident " + id + " acknowledged: node-down " + victim + ", acknowledged");
            assertThat(get(system, "/v1/incidents/" + id).get("history").toString()).contains("acknowledged by IncidentsIT");
            assertThat(awaitCallHome("incident.acknowledged", id).get("incident").get("state").asString()).isEqualTo("acknowledged");

            long restarting = System.nanoTime();
            system.restart(victim);
            JsonNode resolved = await().atMost(WAIT).pollInterval(Duration.ofMillis(50)).ignoreExceptions()
                    .until(() -> get(system, "/v1/incidents/" + id), found -> found.get("state").asString().equals("resolved"));
            System.out.printf("IncidentsIT: incident resolved %d ms after the restart began%n", millisSince(restarting));
            JsonNode history = resolved.get("history");
            assertThat(history.get(history.size() - 1).get("message").asString()).contains(victim + " is up again");
            assertThat(awaitCallHome("incident.resolved", id).get("incident").get("state").asString()).isEqualTo("resolved");
            assertThat(system.cli("incidents", "--dir", system.dir().toString())).contains("no open incidents");

            // One fault, one incident for the node, whichever node reported what.
            List<String> summary = new ArrayList<>();
            incidents(system, "").forEach(i -> summary.add(i.get("id") + " " + i.get("kind").asString() + " " + i.get("component").get("id").asString()
                    + " " + i.get("state").asString()));
            System.out.println("IncidentsIT: incidents " + summary + "; called home " + calledHome.stream()
                    .map(c -> c.get("kind").asString() + " " + c.get("incidentId")).toList());
            assertThat(summary.stream().filter(s -> Long.parseLong(s.substring(0, s.indexOf(' '))) >= firstId
                    && s.contains(" node-down " + victim + " "))).hasSize(1);
            assertThat(summary).as("every incident resolved by itself").allSatisfy(s -> assertThat(s).endsWith(" resolved"));
        }
    }

    @Test
    void anOutvotedLockstepMemberOpensAnIncidentCarryingItsDumpThatResolvesWhenTheGroupIsRebuilt() throws Exception {
        try (LocalSystem system = LocalSystem.start(dir.resolve("system"), 3, LocalSystem.freeBasePort(), "always", false)) {
            system.deploy("votes", "kv", "tmr", 1);
            assertThat(system.awaitFullyProtected(WAIT)).as("votes with three members in sync").isTrue();
            long firstId = 1;
            for (JsonNode earlier : incidents(system, "")) {
                firstId = Math.max(firstId, earlier.get("id").asLong() + 1);
            }
            long after = firstId;
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                for (int i = 0; i < 20; i++) {
                    LedgerLoad.call(client, "votes", "k" + i, "{\"op\":\"put\",\"key\":\"k" + i + "\",\"value\":" + i + "}");
                }
                JsonNode group = system.status().get("groups").get(0);
                String victim = null;
                for (JsonNode replica : group.get("replicas")) {
                    if (replica.get("role").asString().equals("backup")) {
                        victim = replica.get("node").asString();
                    }
                }
                String member = victim;
                System.out.println("IncidentsIT: " + system.cli("fault", "corrupt", "votes", "--node", member, "--dir", system.dir().toString()).strip());
                // Commands keep the members voting, so the damaged state shows at the next comparison.
                JsonNode incident = await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
                    LedgerLoad.call(client, "votes", "k0", "{\"op\":\"incr\",\"key\":\"k0\",\"by\":1}");
                    for (JsonNode candidate : incidents(system, "")) {
                        if (candidate.get("id").asLong() >= after && candidate.get("kind").asString().equals("replica-isolated")
                                && candidate.get("component").get("id").asString().equals("votes/0@" + member)
                                && !candidate.get("evidence").get("dumpFile").isNull()) {
                            return candidate;
                        }
                    }
                    return null;
                }, found -> found != null);
                long id = incident.get("id").asLong();
                String dumpFile = incident.get("evidence").get("dumpFile").asString();
                System.out.println("IncidentsIT: incident " + id + ": " + incident.get("what").asString() + "; dump " + dumpFile);
                assertThat(dumpFile).startsWith(member + ":");
                assertThat(Path.of(dumpFile.substring(member.length() + 1))).as("the dump file the incident names").exists()
                        .startsWith(Path.of(system.clusterFile().node(member).data()).resolve("dumps"));
                assertThat(incident.get("suggestedAction").asString()).contains("DATA/dumps/");

                JsonNode resolved = await().atMost(WAIT).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                        .until(() -> get(system, "/v1/incidents/" + id), found -> found.get("state").asString().equals("resolved"));
                JsonNode history = resolved.get("history");
                assertThat(history.get(history.size() - 1).get("message").asString()).contains("votes/0 is back to full protection");
                long isolations = 0;
                for (JsonNode any : incidents(system, "")) {
                    isolations += any.get("id").asLong() >= after && any.get("kind").asString().equals("replica-isolated")
                            && any.get("component").get("id").asString().equals("votes/0@" + member) ? 1 : 0;
                }
                assertThat(isolations).as("one incident for the one isolation").isEqualTo(1);
            }
        }
    }

    private static long millisSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** The node-down incident of {@code node} in a list, from id {@code firstId} on, or null. */
    private static JsonNode nodeDown(JsonNode incidents, String node, long firstId) {
        for (JsonNode incident : incidents) {
            if (incident.get("id").asLong() >= firstId && incident.get("kind").asString().equals("node-down")
                    && incident.get("component").get("id").asString().equals(node)) {
                return incident;
            }
        }
        return null;
    }

    private JsonNode awaitCallHome(String kind, long incidentId) {
        Predicate<JsonNode> wanted = post -> post.get("kind").asString().equals(kind) && post.get("incidentId").asLong() == incidentId;
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> calledHome.stream().anyMatch(wanted));
        return calledHome.stream().filter(wanted).findFirst().orElseThrow();
    }

    private JsonNode incidents(LocalSystem system, String query) throws Exception {
        return get(system, "/v1/incidents" + query);
    }

    /** Asks the nodes in turn (one is dead for a while) until one answers 200. */
    private JsonNode get(LocalSystem system, String path) throws Exception {
        Exception last = null;
        for (String address : system.httpAddresses()) {
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://" + address + path))
                        .header("Authorization", "Bearer " + system.token().text())
                        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return JSON.readTree(response.body());
                }
                last = new IllegalStateException(address + path + " answered " + response.statusCode() + ": " + response.body());
            } catch (java.io.IOException e) {
                last = e;
            }
        }
        throw last;
    }
}
