package io.pairstep.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Predicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/**
 * {@code pairstep rolling-restart --dir DIR}: restarts every node of a local cluster in turn (a
 * platform upgrade) while the system serves: drain, stop, start on the same data and ports, wait
 * for full protection, undrain. The controller's voters go last, and its leader last of all, so
 * that the system pays for at most one controller election.
 */
@Command(name = "rolling-restart", mixinStandardHelpOptions = true,
        description = {"Restarts every node of a local cluster in turn with no client-visible error: drains it, stops it",
                "(SIGTERM, then SIGKILL after the grace period), starts it again on its data directory and ports, waits",
                "until every group is fully protected, and undrains it. Controller voters go last, its leader last of all.",
                "Stops at the first node that does not come back, leaving the others serving."})
public final class RollingRestartCommand implements Callable<Integer> {

    /** The controller's voters are the first nodes that {@code cluster start} made. */
    static final int VOTERS = 3;
    static final Duration POLL = Duration.ofMillis(250);

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The cluster's directory.")
    Path dir;

    @Option(names = "--wait-ms", paramLabel = "MS", defaultValue = "180000",
            description = "How long each step of a node (drain, come back, full protection) may take (default: ${DEFAULT-VALUE}).")
    long waitMillis;

    @Option(names = "--grace-ms", paramLabel = "MS", defaultValue = "10000",
            description = "How long a node has to exit after SIGTERM before SIGKILL (default: ${DEFAULT-VALUE}).")
    long graceMillis;

    @Spec
    CommandSpec spec;

    private PrintWriter out;

    @Override
    public Integer call() {
        if (waitMillis < 1) {
            throw new CliException("--wait-ms must be >= 1, got " + waitMillis, ExitCodes.USAGE);
        }
        if (graceMillis < 0) {
            throw new CliException("--grace-ms must be >= 0, got " + graceMillis, ExitCodes.USAGE);
        }
        out = spec.commandLine().getOut();
        Path root = dir.toAbsolutePath().normalize();
        ClusterFile cluster = ClusterFile.read(root);
        List<String> ids = cluster.nodes().stream().map(ClusterFile.Node::id).toList();
        for (ClusterFile.Node node : cluster.nodes()) {
            if (LocalProcesses.live(node).isEmpty()) {
                throw new CliException(node.id() + " is not running; start it first (pairstep cluster start-node --dir "
                        + dir + " --id " + node.id() + ")");
            }
        }
        try (ApiClient client = new ApiClient(cluster.httpAddresses(), Readiness.REQUEST_TIMEOUT, ClusterFile.localToken(root),
                cluster.authority())) {
            // A group may be briefly short of a replica under load (a member catching up): wait for it.
            if (!await(client, Readiness::fullyProtected)) {
                throw new CliException("not every node is up and every group fully protected after " + waitMillis
                        + " ms; a rolling restart would leave some group without a replica (see pairstep status)");
            }
            List<String> done = new ArrayList<>();
            while (done.size() < ids.size()) {
                List<String> voters = voters(client);
                String next = next(ids, done, leader(client), voters.isEmpty() ? ids.subList(0, Math.min(VOTERS, ids.size())) : voters);
                out.printf("[%d/%d] %s%n", done.size() + 1, ids.size(), next);
                out.flush();
                restart(root, client, next);
                done.add(next);
            }
        }
        out.printf("rolling restart done: %d node(s) restarted, every group fully protected%n", ids.size());
        return ExitCodes.OK;
    }

    /**
     * The node to restart next: the first left that holds no vote in the controller, else the first
     * voter that does not lead it, else the leader. Asked again before each node, as a voter's
     * restart may move the leadership.
     */
    static String next(List<String> ids, List<String> done, String leader) {
        return next(ids, done, leader, ids.subList(0, Math.min(VOTERS, ids.size())));
    }

    /** As above, with the voters the system names (a removed voter's vote moves to another node). */
    static String next(List<String> ids, List<String> done, String leader, List<String> voters) {
        List<String> left = ids.stream().filter(id -> !done.contains(id)).toList();
        return left.stream().filter(id -> !voters.contains(id)).findFirst()
                .or(() -> left.stream().filter(id -> !id.equals(leader)).findFirst())
                .orElse(left.get(0));
    }

    private void restart(Path root, ApiClient client, String id) {
        client.post("/v1/nodes/" + Urls.encode(id) + "/drain", new byte[0], "application/json", Map.of(),
                StatusCommand.TIMEOUT, true).requireOk();
        progress(id, "draining");
        if (!await(client, status -> movableReplicasOn(status, id) == 0)) {
            undrain(client, id);
            throw new CliException(id + " still hosts pair or TMR replicas after " + waitMillis + " ms of draining; undrained it,"
                    + " nothing was stopped (see pairstep status)");
        }
        ClusterFile.Node node = ClusterFile.read(root).node(id);
        Optional<ProcessHandle> process = LocalProcesses.live(node);
        if (process.isPresent()) {
            progress(id, "drained; stopping: " + ClusterStopCommand.stop(Map.of(id, process.get()), graceMillis).get(id));
        }
        ClusterFile.Node started;
        try {
            started = ClusterStartNodeCommand.start(root, id, Duration.ofMillis(waitMillis), out);
        } catch (CliException e) {
            undrain(client, id);
            throw new CliException("rolling restart stopped at " + id + ", which did not come back: " + e.getMessage()
                    + "\nthe other nodes serve; start it with pairstep cluster start-node --dir " + dir + " --id " + id);
        }
        if (!await(client, Readiness::fullyProtected)) {
            undrain(client, id);
            throw new CliException("rolling restart stopped at " + id + ": it is back (pid " + started.pid()
                    + ") but not every group is fully protected after " + waitMillis + " ms (see pairstep status)");
        }
        undrain(client, id);
        progress(id, "restarted (pid " + node.pid() + " -> " + started.pid() + "), every group fully protected");
    }

    private void progress(String id, String what) {
        out.printf("  %s %s%n", id, what);
        out.flush();
    }

    /** Best effort: a node left draining would host nothing until someone undrains it. */
    private void undrain(ApiClient client, String id) {
        try {
            client.post("/v1/nodes/" + Urls.encode(id) + "/undrain", new byte[0], "application/json", Map.of(),
                    StatusCommand.TIMEOUT, true).requireOk();
        } catch (CliException e) {
            out.printf("  could not undrain %s (%s); run pairstep node undrain %s --dir %s%n", id, e.getMessage(), id, dir);
        }
    }

    /** Polls the newest status until the condition holds; false after --wait-ms. */
    private boolean await(ApiClient client, Predicate<JsonNode> condition) {
        long deadline = System.nanoTime() + Duration.ofMillis(waitMillis).toNanos();
        while (true) {
            JsonNode status = newestStatus(client);
            if (status != null && condition.test(status)) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(POLL.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CliException("interrupted");
            }
        }
    }

    /**
     * The newest status document among the nodes that answer, or null: every node answers for the
     * whole system, but one that just came back may hold an older picture, so the highest version wins.
     */
    static JsonNode newestStatus(ApiClient client) {
        JsonNode newest = null;
        for (HostPort node : client.nodes()) {
            try {
                ApiClient.Response r = client.getFrom(node, "/v1/status", Readiness.REQUEST_TIMEOUT);
                if (r.ok()) {
                    JsonNode doc = r.json();
                    if (newest == null || doc.path("version").asLong() > newest.path("version").asLong()) {
                        newest = doc;
                    }
                }
            } catch (CliException e) {
                // down, restarting or still joining: the others answer
            }
        }
        return newest;
    }

    /** The controller's leader as the system reports it, or null. */
    /** The nodes the system says vote in the controller, or empty when it does not say (an older node). */
    private static List<String> voters(ApiClient client) {
        List<String> voters = new ArrayList<>();
        try {
            for (JsonNode node : client.get("/v1/nodes", StatusCommand.TIMEOUT).requireOk().json()) {
                if (node.path("voter").asBoolean(false)) {
                    voters.add(Json.text(node, "id", null));
                }
            }
        } catch (CliException e) {
            // unknown: the first nodes of the cluster file vote
        }
        return voters;
    }

    private static String leader(ApiClient client) {
        try {
            for (JsonNode node : client.get("/v1/nodes", StatusCommand.TIMEOUT).requireOk().json()) {
                if (node.path("controllerLeader").asBoolean()) {
                    return Json.text(node, "id", null);
                }
            }
        } catch (CliException e) {
            // unknown: the voters go in file order
        }
        return null;
    }

    /**
     * Replicas on a node that a drain moves away: those of pair, DMR and TMR groups. An unreplicated
     * group's only replica stays (mode none has nowhere to copy it from).
     */
    static int movableReplicasOn(JsonNode status, String id) {
        int count = 0;
        for (JsonNode group : status.path("groups")) {
            String mode = Json.text(group, "mode", "");
            if (mode.equals("none")) {
                continue;
            }
            for (JsonNode replica : group.path("replicas")) {
                count += id.equals(Json.text(replica, "node", "")) ? 1 : 0;
            }
        }
        return count;
    }
}
