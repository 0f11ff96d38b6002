package io.pairstep.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * Waits until nodes of a local cluster are up: each node asked answers {@code GET /v1/status} and its
 * document lists every expected node with state {@code up}. Fails at once if a watched process exits.
 */
final class Readiness {

    static final Duration POLL = Duration.ofMillis(200);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(1);
    static final int LOG_LINES = 20;

    private Readiness() {
    }

    /**
     * @param dir      the cluster directory (for log paths)
     * @param ask      the nodes that must answer
     * @param expectUp the ids each answer must list as up
     * @param watched  processes started by this command, by node id
     * @param timeout  how long to wait
     */
    static void await(Path dir, List<ClusterFile.Node> ask, List<String> expectUp, Map<String, Process> watched,
                      Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Map<String, String> problems = new LinkedHashMap<>();
        Set<String> suspects = new LinkedHashSet<>();
        try (ApiClient client = new ApiClient(ask.stream().map(ClusterFile.Node::httpAddress).toList(),
                REQUEST_TIMEOUT, ClusterFile.localToken(dir), ClusterFile.authority(ask))) {
            while (true) {
                checkAlive(dir, watched);
                problems.clear();
                suspects.clear();
                for (ClusterFile.Node n : ask) {
                    String problem = check(client, n, expectUp, suspects);
                    if (problem != null) {
                        problems.put(n.id(), problem);
                    }
                }
                if (problems.isEmpty()) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    break;
                }
                sleep(POLL);
            }
        }
        checkAlive(dir, watched);
        StringBuilder sb = new StringBuilder("not ready after ").append(ApiClient.seconds(timeout)).append(": ");
        sb.append(String.join("; ", problems.values()));
        for (String id : suspects) {
            Path log = ClusterFile.logFile(dir, id);
            sb.append("\nlast lines of ").append(log).append(":\n").append(LocalProcesses.tail(log, LOG_LINES));
        }
        throw new CliException(sb.toString());
    }

    /** Null if the node answers and lists every expected node up; else what is wrong (suspects updated). */
    static String check(ApiClient client, ClusterFile.Node n, List<String> expectUp, Set<String> suspects) {
        ApiClient.Response r;
        try {
            r = client.getFrom(n.httpAddress(), "/v1/status", REQUEST_TIMEOUT);
        } catch (CliException e) {
            suspects.add(n.id());
            return n.id() + " does not answer (" + e.getMessage() + ")";
        }
        if (!r.ok()) {
            suspects.add(n.id());
            return n.id() + " answers HTTP " + r.status() + " (" + r.errorMessage() + ")";
        }
        JsonNode doc;
        try {
            doc = r.json();
        } catch (CliException e) {
            suspects.add(n.id());
            return n.id() + ": " + e.getMessage();
        }
        return notUp(n.id(), doc, expectUp, suspects);
    }

    /** Null if the status document lists every expected node with state up; else which are not. */
    static String notUp(String reporter, JsonNode status, List<String> expectUp, Set<String> suspects) {
        Map<String, String> states = new LinkedHashMap<>();
        for (JsonNode node : status.path("nodes")) {
            states.put(Json.text(node, "id", ""), Json.text(node, "state", "?"));
        }
        List<String> bad = new ArrayList<>();
        for (String id : expectUp) {
            String state = states.get(id);
            if (!"up".equals(state)) {
                bad.add(id + (state == null ? " missing" : " " + state));
                suspects.add(id);
            }
        }
        return bad.isEmpty() ? null : reporter + " reports " + String.join(", ", bad);
    }

    /**
     * Whether a status document shows every node up and every group with its full set of replicas
     * (one, two for a pair or DMR, three for TMR), all in sync and none halted. Null is not protected.
     */
    static boolean fullyProtected(JsonNode status) {
        if (status == null || status.path("groups").isEmpty()) {
            return false;
        }
        for (JsonNode node : status.path("nodes")) {
            if (!"up".equals(Json.text(node, "state", ""))) {
                return false;
            }
        }
        for (JsonNode group : status.path("groups")) {
            int wanted = switch (Json.text(group, "mode", "")) {
                case "none" -> 1;
                case "tmr" -> 3;
                default -> 2;
            };
            if (group.path("replicas").size() != wanted || group.has("halted")) {
                return false;
            }
            for (JsonNode replica : group.path("replicas")) {
                if (!"ok".equals(Json.text(replica, "state", ""))) {
                    return false;
                }
            }
        }
        return true;
    }

    /** A {@link CliException} with the log tail if a watched process has exited. */
    static void checkAlive(Path dir, Map<String, Process> watched) {
        for (Map.Entry<String, Process> e : watched.entrySet()) {
            Process p = e.getValue();
            if (!p.isAlive()) {
                Path log = ClusterFile.logFile(dir, e.getKey());
                throw new CliException(e.getKey() + " (pid " + p.pid() + ") exited during startup with code "
                        + p.exitValue() + "; last lines of " + log + ":\n" + LocalProcesses.tail(log, LOG_LINES));
            }
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }
}
