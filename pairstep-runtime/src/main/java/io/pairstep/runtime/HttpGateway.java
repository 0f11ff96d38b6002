package io.pairstep.runtime;

import io.javalin.Javalin;
import io.javalin.http.Context;
import io.pairstep.api.MalformedCommandException;
import io.pairstep.client.ClientOptions;
import io.pairstep.client.PairstepClient;
import io.pairstep.client.PairstepException;
import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.Role;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.runtime.access.AccessControl;
import io.pairstep.runtime.access.HttpsConnector;
import io.pairstep.runtime.artifact.ArtifactStore;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The HTTP side of a node: the gateway that lets any language call a service, and the admin API.
 * Calls go through the Java client, so the gateway rides through takeovers exactly as a client
 * does and forwards each command to the current primary.
 */
final class HttpGateway implements AutoCloseable {

    private static final long CALL_DEADLINE_SECONDS = 10;
    /** The longest bake an upgrade may ask for: a day. */
    private static final long BAKE_SECONDS_MAX = 86_400;

    private final Node node;
    private PairstepClient client;
    private Javalin server;
    private io.pairstep.runtime.admin.AdminApi admin;
    /** Records the faults this node carries out (and those the CLI reports to it) in the controller. */
    private io.pairstep.runtime.admin.FaultRecorder faultRecorder;

    HttpGateway(Node node) {
        this.node = node;
    }

    void start(InetSocketAddress address) {
        List<InetSocketAddress> seeds = new ArrayList<>();
        seeds.add(node.config().rpc());
        node.config().seeds().forEach(s -> seeds.add(s.rpc()));
        // Over TLS the gateway shows the node's own certificate, as the node does to other nodes.
        client = PairstepClient.connect(ClientOptions.of(seeds).withCallTimeout(Duration.ofSeconds(CALL_DEADLINE_SECONDS))
                .withTls(node.config().tls()));
        faultRecorder = new io.pairstep.runtime.admin.FaultRecorder(node::propose);
        admin = new io.pairstep.runtime.admin.AdminApi(node.id(), node::state, node::ready, node.events(), node::injectFault)
                .withFaultRecorder(faultRecorder)
                .withDumps(node::quickDump)
                .withPartitionFigures(node::partitionFigures)
                .withPeers(node.peerHttp())
                .withVoters(node::controllerVoters);
        server = Javalin.create(config -> {
            config.jetty.host = address.getHostString();
            config.jetty.port = address.getPort();
            if (node.config().tls() != null) {
                // With TLS the node serves HTTPS only, with its own certificate, on its --http address.
                config.jetty.addConnector((jetty, http) -> HttpsConnector.create(jetty, http, node.config().tls(),
                        address.getHostString(), address.getPort()));
            }
            config.startup.showJavalinBanner = false;
            config.http.maxRequestSize = Math.max(node.config().maxCommandBytes() * 2L, 1024 * 1024);
            config.routes.get("/v1/status", this::status);
            config.routes.post("/v1/services", this::deploy);
            config.routes.post("/v1/services/{name}/call", this::call);
            config.routes.post("/v1/services/{name}/upgrade", this::upgrade);
            config.routes.get("/metrics", this::metrics);
            config.routes.post("/v1/nodes/{id}/drain", ctx -> drain(ctx, true));
            config.routes.post("/v1/nodes/{id}/undrain", ctx -> drain(ctx, false));
            config.routes.delete("/v1/nodes/{id}", this::removeNode);
            config.routes.post("/v1/services/{name}/partitions/{p}/resume", this::resume);
            new AccessControl(node.accessToken()).install(config);
            new ArtifactApi(node).install(config);
            admin.install(config);
            new io.pairstep.runtime.admin.IncidentsApi(node::state, node::ready, node::propose, System::currentTimeMillis).install(config);
            config.routes.exception(Exception.class, (e, ctx) -> error(ctx, 500, "INTERNAL", e.toString()));
        }).start();
    }

    io.pairstep.runtime.admin.AdminApi admin() {
        return admin;
    }

    private void status(Context ctx) {
        if (!node.ready()) {
            error(ctx, 503, "UNAVAILABLE", "node " + node.id() + " is still joining the system; ask another node");
            return;
        }
        ctx.contentType("application/json").result(node.statusJson());
    }

    /** Prometheus text format (version 0.0.4), answered by every node for itself, ready or not. */
    private void metrics(Context ctx) {
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(node.monitoring().scrape());
    }

    private void call(Context ctx) {
        String service = ctx.pathParam("name");
        String key = ctx.queryParam("key");
        byte[] command = ctx.bodyAsBytes();
        if (command.length > node.config().maxCommandBytes()) {
            error(ctx, 413, "TOO_LARGE", "command of " + command.length + " bytes is over the limit of "
                    + node.config().maxCommandBytes() + " bytes");
            return;
        }
        if (!node.ready()) {
            error(ctx, 503, "UNAVAILABLE", "node " + node.id() + " is still joining the system; try again or ask another node");
            return;
        }
        if (!node.state().services().containsKey(service)) {
            error(ctx, 404, "UNKNOWN_SERVICE", "unknown service " + service);
            return;
        }
        String idempotencyKey = ctx.header("Idempotency-Key");
        CompletableFuture<byte[]> result = idempotencyKey == null || idempotencyKey.isEmpty()
                ? client.call(service, key, command)
                : client.call(service, key, command, idempotencySession(service, idempotencyKey), 1);
        ctx.future(() -> result.handle((body, failure) -> {
            if (failure == null) {
                ctx.status(200).result(body);
            } else {
                Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
                callError(ctx, cause);
            }
            return null;
        }));
    }

    /**
     * One session per idempotency key: the key's single command is sequence 1, so a retry with the
     * same key is answered from the session table instead of running again.
     */
    static long idempotencySession(String service, String idempotencyKey) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : ("idempotency:" + service + ":" + idempotencyKey).getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash == 0 ? 1 : hash;
    }

    private static void callError(Context ctx, Throwable cause) {
        if (cause instanceof PairstepException failure) {
            switch (failure.code()) {
                case "APPLICATION_ERROR" -> {
                    String message = failure.getMessage();
                    if (message != null && message.startsWith(MalformedCommandException.REPLY_PREFIX)) {
                        error(ctx, 400, "MALFORMED", message);
                    } else {
                        error(ctx, 422, "APPLICATION_ERROR", message);
                    }
                }
                case "POISON" -> error(ctx, 422, "POISON", failure.getMessage());
                case "UNKNOWN_SERVICE" -> error(ctx, 404, "UNKNOWN_SERVICE", failure.getMessage());
                case "TOO_LARGE" -> error(ctx, 413, "TOO_LARGE", failure.getMessage());
                case "UNAVAILABLE" -> error(ctx, 503, "UNAVAILABLE", failure.getMessage());
                default -> error(ctx, 503, failure.code(), failure.getMessage());
            }
            return;
        }
        error(ctx, 503, "UNAVAILABLE", cause.toString());
    }

    private void deploy(Context ctx) throws Exception {
        JsonNode body = jsonObject(ctx, "deploy");
        if (body == null) {
            return;
        }
        String name = text(body, "name");
        String example = text(body, "example");
        String digest = text(body, "digest");
        String className = text(body, "class");
        Mode mode;
        try {
            mode = Mode.parse(text(body, "mode") == null ? "pair" : text(body, "mode"));
        } catch (IllegalArgumentException e) {
            error(ctx, 400, "BAD_REQUEST", e.getMessage());
            return;
        }
        int partitions = body.has("partitions") ? body.get("partitions").asInt(0) : 1;
        if (body.has("jar")) {
            error(ctx, 400, "BAD_REQUEST", "\"jar\" (a path on the node) is no longer accepted: upload the jar with"
                    + " POST /v1/artifacts and deploy its \"digest\" (pairstep deploy --jar does both)");
            return;
        }
        if ((example == null) == (digest == null)) {
            error(ctx, 400, "BAD_REQUEST", "give exactly one of \"example\" or \"digest\" (of a jar uploaded with POST /v1/artifacts)");
            return;
        }
        long digestEvery = 0;
        if (body.has("digestEvery")) {
            JsonNode value = body.get("digestEvery");
            if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() < 1) {
                error(ctx, 400, "BAD_REQUEST", "\"digestEvery\" must be a number of commands, 1 or more; got " + value);
                return;
            }
            digestEvery = value.asLong();
        }
        ServiceSpec spec = example != null
                ? new ServiceSpec(name, 1, mode, partitions, "example:" + example, "", "", digestEvery)
                : new ServiceSpec(name, 1, mode, partitions, ServiceSpec.SHA256_PREFIX + digest, digest,
                        className == null ? "" : className.strip(), digestEvery);
        if (!runnable(ctx, spec)) {
            return;
        }
        ControlResult result = node.propose(new ControlCommand.Deploy(spec)).get(15, TimeUnit.SECONDS);
        if (!result.accepted()) {
            boolean taken = result.reason().contains("already deployed");
            error(ctx, taken ? 409 : 400, taken ? "ALREADY_EXISTS" : "BAD_REQUEST", result.reason());
            return;
        }
        ObjectNode answer = StatusDocument.JSON.createObjectNode();
        answer.put("name", spec.name());
        answer.put("version", spec.version());
        answer.put("mode", spec.mode().label());
        answer.put("partitions", spec.partitions());
        answer.put("artifact", spec.artifact());
        answer.put("digest", spec.artifactDigest());
        if (spec.mode().lockstep()) {
            answer.put("digestEvery", spec.digestEvery());
        }
        ctx.status(201).contentType("application/json").result(StatusDocument.JSON.writeValueAsString(answer));
    }

    /** The request's body as a JSON object; or null, having answered 400 naming the problem. */
    private static JsonNode jsonObject(Context ctx, String what) {
        JsonNode body;
        try {
            body = StatusDocument.JSON.readTree(ctx.body());
        } catch (JacksonException e) {
            error(ctx, 400, "BAD_REQUEST", "the " + what + " request is not JSON: " + e.getOriginalMessage());
            return null;
        }
        if (body == null || !body.isObject()) {
            error(ctx, 400, "BAD_REQUEST", "the " + what + " request must be a JSON object");
            return null;
        }
        return body;
    }

    /**
     * Answers 400 and returns false unless {@code spec} is valid and its code is here: a bundled
     * example that exists, or an uploaded jar that is here, intact, and holds the service class. The
     * controller hears of nothing else.
     */
    private boolean runnable(Context ctx, ServiceSpec spec) {
        String problem = spec.problem();
        if (problem == null && spec.jarDigest() == null) {
            try {
                new ServiceFactory(node.artifacts()).factory(spec);
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
            }
        }
        if (problem != null) {
            error(ctx, 400, "BAD_REQUEST", problem);
            return false;
        }
        String digest = spec.jarDigest();
        if (digest != null) {
            try {
                if (!node.artifacts().has(digest)) {
                    error(ctx, 400, "UNKNOWN_ARTIFACT", "node " + node.id() + " does not hold artifact sha256:" + digest
                            + "; upload it first with POST /v1/artifacts");
                    return false;
                }
                ServiceFactory.check(node.artifacts().verified(digest), spec.className());
            } catch (ArtifactStore.Refused e) {
                error(ctx, 400, e.code(), e.getMessage());
                return false;
            } catch (IllegalArgumentException e) {
                error(ctx, 400, "BAD_REQUEST", e.getMessage());
                return false;
            }
        }
        return true;
    }

    /**
     * Starts an upgrade of a deployed pair service to other code (an example, or an uploaded jar
     * by digest, its class defaulting to the current one). Answers at once with the upgrade as the
     * status shows it; the replicas move while every group stays protected (see ServiceUpgrade).
     */
    private void upgrade(Context ctx) throws Exception {
        String name = ctx.pathParam("name");
        JsonNode body = jsonObject(ctx, "upgrade");
        if (body == null) {
            return;
        }
        ControllerState state = node.state();
        ServiceSpec current = state.services().get(name);
        if (current == null) {
            error(ctx, 404, "UNKNOWN_SERVICE", "unknown service " + name + " (services: " + String.join(", ", state.services().keySet()) + ")");
            return;
        }
        String example = text(body, "example");
        String digest = text(body, "digest");
        String className = text(body, "class");
        if ((example == null) == (digest == null)) {
            error(ctx, 400, "BAD_REQUEST", "give exactly one of \"example\" or \"digest\" (of a jar uploaded with POST /v1/artifacts)");
            return;
        }
        ServiceSpec spec = example != null
                ? current.upgradedTo(current.version() + 1, "example:" + example, "", "")
                : current.upgradedTo(current.version() + 1, ServiceSpec.SHA256_PREFIX + digest, digest,
                        className == null || className.isBlank() ? current.className() : className.strip());
        long shadow = 0;
        if (body.has("shadow")) {
            JsonNode value = body.get("shadow");
            if (!value.canConvertToLong() || !value.isIntegralNumber() || value.asLong() < 0) {
                error(ctx, 400, "BAD_REQUEST", "\"shadow\" must be a number of commands, 0 or more; got " + value);
                return;
            }
            shadow = value.asLong();
        }
        long bakeSeconds = 0;
        if (body.has("bakeSeconds")) {
            JsonNode value = body.get("bakeSeconds");
            if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() < 0 || value.asLong() > BAKE_SECONDS_MAX) {
                error(ctx, 400, "BAD_REQUEST", "\"bakeSeconds\" must be a number of seconds from 0 to " + BAKE_SECONDS_MAX + "; got " + value);
                return;
            }
            bakeSeconds = value.asLong();
        }
        if (!runnable(ctx, spec)) {
            return;
        }
        ControlResult result = node.propose(new ControlCommand.Upgrade(spec, shadow, bakeSeconds * 1000)).get(15, TimeUnit.SECONDS);
        if (!result.accepted()) {
            boolean busy = result.reason().contains("is under way");
            error(ctx, busy ? 409 : 400, busy ? "CONFLICT" : "BAD_REQUEST", result.reason());
            return;
        }
        ObjectNode answer = StatusDocument.JSON.createObjectNode();
        answer.put("name", name);
        answer.put("from", current.version());
        answer.put("to", spec.version());
        answer.put("artifact", spec.artifact());
        answer.put("state", shadow > 0 ? "shadow" : "upgrading");
        answer.put("shadow", shadow);
        answer.put("bakeSeconds", bakeSeconds);
        ctx.status(202).contentType("application/json").result(StatusDocument.JSON.writeValueAsString(answer));
    }

    /**
     * Drains a node (its replicas move away one at a time, and it gets no new ones) or lets it
     * host replicas again. Answers at once; the node is drained when {@code replicas} reaches 0.
     */
    private void drain(Context ctx, boolean drain) throws Exception {
        String id = ctx.pathParam("id");
        ControlResult result = node.propose(new ControlCommand.DrainNode(id, drain)).get(15, TimeUnit.SECONDS);
        if (!result.accepted()) {
            boolean unknown = result.reason().startsWith("unknown node");
            error(ctx, unknown ? 404 : 409, unknown ? "UNKNOWN_NODE" : "CONFLICT", result.reason());
            return;
        }
        ctx.status(202).contentType("application/json").result(StatusDocument.JSON.writeValueAsString(nodeLoad(id)));
    }

    /**
     * Resumes a halted lockstep group from the member on node {@code trust} (a query parameter): it
     * becomes the only member and orderer, and fresh members are rebuilt from it.
     */
    private void resume(Context ctx) throws Exception {
        String name = ctx.pathParam("name");
        String trust = ctx.queryParam("trust");
        int partition;
        try {
            partition = Integer.parseInt(ctx.pathParam("p").strip());
        } catch (NumberFormatException e) {
            error(ctx, 400, "BAD_REQUEST", "partition must be an integer, got \"" + ctx.pathParam("p") + "\"");
            return;
        }
        if (trust == null || trust.isBlank()) {
            error(ctx, 400, "BAD_REQUEST", "the query parameter trust (the node whose member holds the right state) is required");
            return;
        }
        ControllerState state = node.state();
        if (!state.services().containsKey(name)) {
            error(ctx, 404, "UNKNOWN_SERVICE", "unknown service " + name + " (services: " + String.join(", ", state.services().keySet()) + ")");
            return;
        }
        GroupId group = new GroupId(name, partition);
        if (!state.groups().containsKey(group)) {
            error(ctx, 404, "UNKNOWN_PARTITION", "service " + name + " has no partition " + partition);
            return;
        }
        ControlResult result = node.propose(new ControlCommand.ResumeGroup(group, trust.strip(),
                "resumed through the API of node " + node.id())).get(15, TimeUnit.SECONDS);
        if (!result.accepted()) {
            error(ctx, 409, "CONFLICT", result.reason());
            return;
        }
        GroupConfig resumed = node.state().groups().get(group);
        ObjectNode answer = StatusDocument.JSON.createObjectNode();
        answer.put("service", name);
        answer.put("partition", partition);
        answer.put("epoch", resumed == null ? 0 : resumed.epoch());
        answer.put("orderer", trust.strip());
        ctx.contentType("application/json").result(StatusDocument.JSON.writeValueAsString(answer));
    }

    /**
     * Removes a node that is down, or drained and empty. A node that votes in the controller first
     * hands its vote to a live listener (up, not draining), so that the controller keeps as many
     * voters; with no such node nothing changes. Answers {@code voteMovedTo} when a vote moved.
     */
    private void removeNode(Context ctx) throws Exception {
        String id = ctx.pathParam("id");
        io.pairstep.runtime.controller.ControllerServer controller = node.controller();
        String voteMovedTo = null;
        // One vote move at a time through this node; moves asked of two nodes at once are kept
        // apart by the controller (see ControllerServer#replaceVoter).
        synchronized (voteMoves) {
            if (controller.voterIds().contains(id)) {
                ControllerState state = node.state();
                String refusal = state.removalRefusal(id);
                if (refusal != null) {
                    boolean unknown = refusal.startsWith("unknown node");
                    error(ctx, unknown ? 404 : 409, unknown ? "UNKNOWN_NODE" : "CONFLICT", refusal);
                    return;
                }
                String candidate = voteCandidate(state, controller, id);
                if (candidate == null) {
                    error(ctx, 409, "CONFLICT", "node " + id + " votes in the controller (voters: " + String.join(", ", controller.voterIds())
                            + ") and no other node can take its vote (one that is up, not draining and follows the controller's log);"
                            + " add a node first, then remove " + id);
                    return;
                }
                try {
                    controller.replaceVoter(id, candidate, VOTE_MOVE_TIMEOUT).get(VOTE_MOVE_TIMEOUT.toSeconds() + 5, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable cause = e.getCause();
                    boolean refused = cause instanceof IllegalArgumentException;
                    error(ctx, refused ? 409 : 503, refused ? "CONFLICT" : "UNAVAILABLE", "the vote of " + id + " in the controller could not move to "
                            + candidate + ", so " + id + " stays: " + cause.getMessage());
                    return;
                }
                voteMovedTo = candidate;
            }
        }
        ControlResult result = node.propose(new ControlCommand.RemoveNode(id)).get(15, TimeUnit.SECONDS);
        if (!result.accepted()) {
            boolean unknown = result.reason().startsWith("unknown node");
            error(ctx, unknown ? 404 : 409, unknown ? "UNKNOWN_NODE" : "CONFLICT", result.reason());
            return;
        }
        ObjectNode answer = StatusDocument.JSON.createObjectNode();
        answer.put("node", id);
        answer.put("removed", true);
        if (voteMovedTo != null) {
            answer.put("voteMovedTo", voteMovedTo);
        }
        ctx.contentType("application/json").result(StatusDocument.JSON.writeValueAsString(answer));
    }

    private final Object voteMoves = new Object();

    /** How long a removal waits for a vote to move: two configuration changes, through elections if need be. */
    private static final Duration VOTE_MOVE_TIMEOUT = Duration.ofSeconds(20);

    /**
     * The node to take the vote of {@code leaving}: the first, by id, that is up, not draining and a
     * listener of the controller's log (so it holds the whole log already); or null. After a move
     * that stopped half-way, one of the voters, since the group has one too many already.
     */
    static String voteCandidate(ControllerState state, io.pairstep.runtime.controller.ControllerServer controller, String leaving) {
        List<String> voting = controller.voterIds();
        if (voting.size() > controller.votersWanted()) {
            // An earlier move stopped after its promotion: the group has a voter too many, and
            // removing this one finishes it.
            return voting.stream().filter(v -> !v.equals(leaving)).findFirst().orElse(null);
        }
        List<String> listening = controller.listenerIds();
        return state.members().values().stream()
                .filter(m -> m.alive() && !m.id().equals(leaving) && !state.draining().contains(m.id()) && listening.contains(m.id()))
                .map(io.pairstep.core.control.Member::id)
                .sorted()
                .findFirst()
                .orElse(null);
    }

    /** {@code {"node", "draining", "replicas", "primaries"}} as this node knows them now. */
    private ObjectNode nodeLoad(String id) {
        ControllerState state = node.state();
        List<ReplicaAssignment> hosted = state.replicasOn(id);
        ObjectNode answer = StatusDocument.JSON.createObjectNode();
        answer.put("node", id);
        answer.put("draining", state.draining().contains(id));
        answer.put("replicas", hosted.size());
        answer.put("primaries", hosted.stream().filter(r -> r.role() == Role.PRIMARY).count());
        return answer;
    }

    private static String text(JsonNode body, String field) {
        JsonNode value = body.get(field);
        return value == null || value.isNull() ? null : value.asString();
    }

    static void error(Context ctx, int status, String code, String message) {
        ObjectNode error = StatusDocument.JSON.createObjectNode();
        error.put("error", message == null ? code : message);
        error.put("code", code);
        ctx.status(status).contentType("application/json").result(StatusDocument.JSON.writeValueAsString(error));
    }

    @Override
    public void close() {
        if (server != null) {
            server.stop();
        }
        if (client != null) {
            client.close();
        }
        if (faultRecorder != null) {
            faultRecorder.close();
        }
    }
}
