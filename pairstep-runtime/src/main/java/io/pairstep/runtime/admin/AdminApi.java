package io.pairstep.runtime.admin;

import io.javalin.config.JavalinConfig;
import io.javalin.config.JavalinState;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.sse.SseClient;
import io.javalin.http.sse.SseHandler;
import io.javalin.http.staticfiles.Location;
import io.javalin.router.ParsedEndpoint;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.FaultRecord;
import io.pairstep.runtime.access.AccessControl;
import io.pairstep.runtime.access.PeerHttp;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.Member;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.Role;
import io.pairstep.runtime.events.Event;
import io.pairstep.runtime.events.EventJson;
import io.pairstep.runtime.events.EventLog;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The admin API of a node, which answers for the whole system: the event log ({@code GET
 * /v1/events}, and {@code GET /v1/events/stream} as server-sent events), the nodes ({@code GET
 * /v1/nodes}), fault injection ({@code POST /v1/nodes/{id}/kill} and {@code POST
 * /v1/nodes/{id}/faults/{kind}} for lockstep members), the record of a fault the CLI injected by a
 * signal of its own ({@code POST /v1/events/faults}), and the web console's files at {@code /}.
 * Every fault this node carries out, and every one the CLI reports, goes to the controller through
 * a {@link FaultRecorder} to become a {@code fault-injected} event on every node. {@code
 * docs/openapi.yaml} describes every route.
 */
public final class AdminApi {

    private static final Logger LOG = LoggerFactory.getLogger(AdminApi.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Marks a kill request that one node forwarded to the target node, so it is never forwarded again. */
    public static final String FORWARDED_HEADER = "Pairstep-Forwarded-By";
    /** Where the console's files are in the jar. */
    static final String CONSOLE_DIRECTORY = "/io/pairstep/runtime/console";
    private static final Duration FORWARD_TIMEOUT = Duration.ofSeconds(5);
    /** Events a stream client may fall behind by before it is cut off (it can reconnect with since). */
    private static final int STREAM_BACKLOG_MAX = 4096;
    /** How often an idle stream sends a comment, so that a vanished client is noticed. */
    private static final long STREAM_KEEPALIVE_SECONDS = 15;

    private final String nodeId;
    private final Supplier<ControllerState> state;
    private final BooleanSupplier ready;
    private final EventLog events;
    private final Runnable killSelf;
    private final FaultInjector faults;
    /** Takes quick dumps of this node's members; set by {@link #withDumps}. */
    private DumpTaker dumps = DumpTaker.NONE;
    /** Records the faults this node carries out in the controller; set by {@link #withFaultRecorder}. */
    private FaultRecorder faultRecorder = FaultRecorder.NONE;
    /**
     * How long a node that kills itself waits for its fault record first. Short: the kill must
     * happen even when the controller has no leader, and then the record is lost with the node.
     */
    static final long KILL_RECORD_WAIT_MILLIS = 2_000;
    /** How long {@code POST /v1/events/faults} waits for the controller before it answers 202 (still trying). */
    static final long RECORD_WAIT_MILLIS = 3_000;
    /** This node's partition monitors; set by {@link #withPartitionFigures}. */
    private Supplier<List<PartitionFigure>> figures = List::of;
    /** The nodes that vote in the controller, as this node knows them; set by {@link #withVoters}. */
    private Supplier<? extends java.util.Collection<String>> voters = List::of;
    /** How long the system-wide partition figures wait for each other node: a chart point, not worth more. */
    private static final Duration FIGURES_TIMEOUT = Duration.ofSeconds(1);
    /** A dump carries the whole state: it may take longer to cross than a fault's answer. */
    private static final Duration DUMP_FORWARD_TIMEOUT = Duration.ofSeconds(60);
    /** The longest delay {@code fault slow} takes: a minute per command is already an outage. */
    static final long SLOW_MILLIS_MAX = 60_000;
    /** How the relays to other nodes reach them: HTTPS trusting the system's authority on a TLS system. */
    private PeerHttp peers = PeerHttp.plain();
    private JavalinState server;
    /** The threads feeding event streams; stopped before the server stops, while their responses still exist. */
    private final Set<Thread> feeders = ConcurrentHashMap.newKeySet();

    /**
     * @param state the node's latest controller state
     * @param ready true when the node's state is current enough to answer for the system
     */
    public AdminApi(String nodeId, Supplier<ControllerState> state, BooleanSupplier ready, EventLog events) {
        this(nodeId, state, ready, events, AdminApi::sigkillSelf, FaultInjector.NONE);
    }

    /** @param faults injects faults into the lockstep members of this node */
    public AdminApi(String nodeId, Supplier<ControllerState> state, BooleanSupplier ready, EventLog events, FaultInjector faults) {
        this(nodeId, state, ready, events, AdminApi::sigkillSelf, faults);
    }

    AdminApi(String nodeId, Supplier<ControllerState> state, BooleanSupplier ready, EventLog events, Runnable killSelf) {
        this(nodeId, state, ready, events, killSelf, FaultInjector.NONE);
    }

    AdminApi(String nodeId, Supplier<ControllerState> state, BooleanSupplier ready, EventLog events, Runnable killSelf,
            FaultInjector faults) {
        this.faults = Objects.requireNonNull(faults, "faults");
        this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
        this.state = Objects.requireNonNull(state, "state");
        this.ready = Objects.requireNonNull(ready, "ready");
        this.events = Objects.requireNonNull(events, "events");
        this.killSelf = Objects.requireNonNull(killSelf, "killSelf");
    }

    /** @param figures this node's partition monitors, for {@code GET /v1/metrics/partitions} */
    public AdminApi withPartitionFigures(Supplier<List<PartitionFigure>> figures) {
        this.figures = Objects.requireNonNull(figures, "figures");
        return this;
    }

    /** @param voters the nodes that vote in the controller now, for the {@code voter} field of {@code GET /v1/nodes} */
    public AdminApi withVoters(Supplier<? extends java.util.Collection<String>> voters) {
        this.voters = Objects.requireNonNull(voters, "voters");
        return this;
    }

    /** @param dumps takes quick dumps of this node's members, for {@code POST /v1/services/{name}/partitions/{p}/dump} */
    public AdminApi withDumps(DumpTaker dumps) {
        this.dumps = Objects.requireNonNull(dumps, "dumps");
        return this;
    }

    /** @param recorder records the faults this node carries out, for every node's event log */
    /** How this node reaches the others for the requests it relays (HTTPS on a TLS system); plain HTTP unless given. */
    public AdminApi withPeers(PeerHttp peers) {
        this.peers = Objects.requireNonNull(peers, "peers");
        return this;
    }

    public AdminApi withFaultRecorder(FaultRecorder recorder) {
        this.faultRecorder = Objects.requireNonNull(recorder, "recorder");
        return this;
    }

    /** Adds the admin routes and the console's files to a Javalin configuration. */
    public void install(JavalinConfig config) {
        server = config.unsafe;
        config.routes.get("/v1/events", this::events);
        config.routes.get("/v1/events/stream", this::stream);
        config.routes.post("/v1/events/faults", this::recordFault);
        config.routes.get("/v1/nodes", this::nodes);
        config.routes.get("/v1/metrics/partitions", this::partitionFigures);
        config.routes.post("/v1/nodes/{id}/kill", this::kill);
        config.routes.post("/v1/nodes/{id}/faults/{kind}", this::fault);
        config.routes.post("/v1/services/{name}/partitions/{p}/dump", this::dump);
        config.events.serverStopping(this::stopStreams);
        config.staticFiles.add(files -> {
            files.hostedPath = "/";
            files.directory = CONSOLE_DIRECTORY;
            files.location = Location.CLASSPATH;
        });
    }

    /** Every route the server answers, as {@code "METHOD /path"}, for the check against the OpenAPI document. */
    public List<String> routes() {
        List<String> routes = new ArrayList<>();
        for (ParsedEndpoint parsed : server.internalRouter.allHttpHandlers()) {
            HandlerType method = parsed.endpoint.method;
            if (method.isHttpMethod()) {
                routes.add(method.name() + " " + parsed.endpoint.path);
            }
        }
        return routes;
    }

    // ---------------------------------------------------------------------------------------------
    // Events

    /** Which events a {@code since} parameter selects; null selects all. */
    private List<Event> select(String since) {
        if (since == null || since.isBlank()) {
            return events.all();
        }
        String text = since.strip();
        if (text.chars().allMatch(Character::isDigit)) {
            return events.afterSeq(parseNumber(text));
        }
        if (text.length() > 1 && (text.charAt(0) == 'v' || text.charAt(0) == 'V') && text.substring(1).chars().allMatch(Character::isDigit)) {
            return events.afterVersion(parseNumber(text.substring(1)));
        }
        return events.since(parseTime(text));
    }

    private static long parseNumber(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new BadRequest("since " + digits + " is too large");
        }
    }

    private static Instant parseTime(String text) {
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            try {
                return OffsetDateTime.parse(text).toInstant();
            } catch (DateTimeParseException again) {
                throw new BadRequest("since must be an event sequence number, v<controller version> or an ISO-8601 time"
                        + " such as 2026-11-21T10:15:30Z; was \"" + text + "\"");
            }
        }
    }

    /** A request with a bad parameter; answered 400. */
    private static final class BadRequest extends RuntimeException {
        BadRequest(String message) {
            super(message);
        }
    }

    private void events(Context ctx) {
        List<Event> selected;
        try {
            selected = select(ctx.queryParam("since"));
        } catch (BadRequest e) {
            error(ctx, 400, "BAD_REQUEST", e.getMessage());
            return;
        }
        ctx.contentType("application/json").result(EventJson.json(selected));
    }

    /**
     * Server-sent events: first the retained events {@code since} selects (none without it, or
     * after the {@code Last-Event-ID} a reconnecting browser sends), then every new event as it is
     * recorded. Each event's SSE id is its sequence number on this node.
     */
    private void stream(Context ctx) throws Exception {
        String accept = ctx.header("Accept");
        if (accept == null || !accept.contains("text/event-stream")) {
            error(ctx, 406, "NOT_ACCEPTABLE", "the event stream is server-sent events: send Accept: text/event-stream");
            return;
        }
        String since = ctx.queryParam("since");
        String lastEventId = ctx.header("Last-Event-ID");
        if ((since == null || since.isBlank()) && lastEventId != null && !lastEventId.isBlank()) {
            since = lastEventId;
        }
        List<Event> backlog;
        // Subscribe before reading the backlog, so that nothing falls between the two.
        BlockingQueue<Event> queue = new ArrayBlockingQueue<>(STREAM_BACKLOG_MAX);
        AtomicBoolean overflowed = new AtomicBoolean();
        AutoCloseable subscription = events.subscribe(event -> {
            if (!queue.offer(event)) {
                overflowed.set(true);
            }
        });
        try {
            backlog = since == null || since.isBlank() ? List.of() : select(since);
        } catch (BadRequest e) {
            subscription.close();
            error(ctx, 400, "BAD_REQUEST", e.getMessage());
            return;
        }
        try {
            new SseHandler(client -> {
                client.keepAlive();
                client.onClose(() -> closeQuietly(subscription));
                // One virtual thread per client, so that a slow client delays only itself.
                Thread feeder = Thread.ofVirtual().name("pairstep-event-stream").unstarted(() -> {
                    try {
                        feed(client, backlog, queue, overflowed, subscription);
                    } finally {
                        feeders.remove(Thread.currentThread());
                    }
                });
                feeders.add(feeder);
                feeder.start();
            }).handle(ctx);
        } catch (Exception | Error e) {
            closeQuietly(subscription);
            throw e;
        }
    }

    private static void feed(SseClient client, List<Event> backlog, BlockingQueue<Event> queue, AtomicBoolean overflowed,
            AutoCloseable subscription) {
        long last = 0;
        try {
            for (Event event : backlog) {
                send(client, event);
                last = event.seq();
            }
            while (!client.terminated()) {
                Event event = queue.poll(STREAM_KEEPALIVE_SECONDS, TimeUnit.SECONDS);
                if (overflowed.get()) {
                    client.sendComment("this client fell " + STREAM_BACKLOG_MAX + " events behind; reconnect with since=" + last);
                    break;
                }
                if (event == null) {
                    client.sendComment("keep-alive");
                } else if (event.seq() > last) {
                    send(client, event);
                    last = event.seq();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.debug("event stream ended: {}", e.toString());
        } finally {
            closeQuietly(subscription);
            try {
                client.close();
            } catch (RuntimeException e) {
                LOG.debug("closing an event stream: {}", e.toString());
            }
        }
    }

    /** Ends every event stream and waits for it to close its response. */
    private void stopStreams() {
        for (Thread feeder : List.copyOf(feeders)) {
            feeder.interrupt();
        }
        for (Thread feeder : List.copyOf(feeders)) {
            try {
                feeder.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private static void send(SseClient client, Event event) {
        client.sendEvent("message", EventJson.json(event), Long.toString(event.seq()));
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            LOG.debug("closing: {}", e.toString());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Nodes

    /**
     * The live node that a request for node {@code id} goes on to, or null once the request was
     * answered with why it cannot go on: it was forwarded here already (the sender's picture of the
     * system is out of date), this node is not ready, or the node is unknown or down.
     */
    private Member forwardTarget(Context ctx, String id, String what) {
        String forwardedBy = ctx.header(FORWARDED_HEADER);
        if (forwardedBy != null) {
            error(ctx, 409, "MISDIRECTED", "node " + forwardedBy + " sent " + what + " to " + nodeId
                    + "; its picture of the system is out of date, try again");
            return null;
        }
        if (!requireReady(ctx)) {
            return null;
        }
        ControllerState current = state.get();
        Member target = current.members().get(id);
        if (target == null) {
            error(ctx, 404, "UNKNOWN_NODE", "unknown node " + id + " (known: " + String.join(", ", current.members().keySet()) + ")");
            return null;
        }
        if (!target.alive()) {
            error(ctx, 409, "NODE_DOWN", "node " + id + " is down");
            return null;
        }
        return target;
    }

    private boolean requireReady(Context ctx) {
        if (ready.getAsBoolean()) {
            return true;
        }
        error(ctx, 503, "UNAVAILABLE", "node " + nodeId + " is still joining the system; ask another node");
        return false;
    }

    private void nodes(Context ctx) {
        if (!requireReady(ctx)) {
            return;
        }
        ControllerState current = state.get();
        java.util.Collection<String> voting = voters.get();
        ArrayNode array = JSON.createArrayNode();
        for (Member member : current.members().values()) {
            List<ReplicaAssignment> hosted = current.replicasOn(member.id());
            ObjectNode node = array.addObject();
            node.put("id", member.id());
            node.put("state", member.alive() ? "up" : "down");
            node.put("pid", member.pid());
            node.put("incarnation", member.incarnation());
            node.put("http", member.http());
            node.put("rpc", member.rpc());
            node.put("controllerLeader", member.id().equals(current.controllerLeader()));
            node.put("voter", voting.contains(member.id()));
            node.put("draining", current.draining().contains(member.id()));
            node.put("primaries", hosted.stream().filter(r -> r.role() == Role.PRIMARY).count());
            node.put("replicas", hosted.size());
        }
        ctx.contentType("application/json").result(JSON.writeValueAsString(array));
    }

    /**
     * The partition monitors of every replica in the system (the console's charts): this node's
     * own, and those every other live node answers within {@link #FIGURES_TIMEOUT}, asked at once.
     * With {@code scope=node}, or when forwarded by another node, this node's only. {@code nodes}
     * says of every node whether its figures are in ({@code ok}), or why not.
     */
    private void partitionFigures(Context ctx) {
        String scope = ctx.queryParam("scope");
        if (scope != null && !scope.equals("node") && !scope.equals("system")) {
            error(ctx, 400, "BAD_REQUEST", "scope must be node or system, was " + scope);
            return;
        }
        boolean local = "node".equals(scope) || ctx.header(FORWARDED_HEADER) != null;
        if (!local && !requireReady(ctx)) {
            return;
        }
        ObjectNode answer = JSON.createObjectNode();
        answer.put("time", Instant.now().toString());
        ObjectNode nodes = answer.putObject("nodes");
        ArrayNode partitions = answer.putArray("partitions");
        for (PartitionFigure figure : figures.get()) {
            ObjectNode entry = partitions.addObject();
            entry.put("node", figure.node());
            entry.put("service", figure.service());
            entry.put("partition", figure.partition());
            entry.put("role", figure.role());
            entry.put("throughput", Math.round(figure.throughput() * 10) / 10.0);
            if (Double.isNaN(figure.latencyP99Millis())) {
                entry.putNull("latencyP99Ms");
            } else {
                entry.put("latencyP99Ms", Math.round(figure.latencyP99Millis() * 1000) / 1000.0);
            }
            entry.put("commandsTotal", figure.commandsTotal());
        }
        nodes.put(nodeId, "ok");
        if (!local) {
            List<Member> others = state.get().members().values().stream().filter(m -> !m.id().equals(nodeId)).toList();
            List<java.util.concurrent.CompletableFuture<HttpResponse<byte[]>>> asked = new ArrayList<>();
            for (Member member : others) {
                if (!member.alive()) {
                    asked.add(null);
                    continue;
                }
                HttpRequest.Builder request = HttpRequest.newBuilder(peers.uri(member.http(), "/v1/metrics/partitions?scope=node"))
                        .timeout(FIGURES_TIMEOUT)
                        .header(FORWARDED_HEADER, nodeId)
                        .GET();
                forwardCredentials(ctx, request);
                asked.add(peers.client().sendAsync(request.build(), HttpResponse.BodyHandlers.ofByteArray()));
            }
            for (int i = 0; i < others.size(); i++) {
                String id = others.get(i).id();
                if (asked.get(i) == null) {
                    nodes.put(id, "down");
                    continue;
                }
                try {
                    HttpResponse<byte[]> response = asked.get(i).get(FIGURES_TIMEOUT.toMillis() + 500, TimeUnit.MILLISECONDS);
                    if (response.statusCode() != 200) {
                        nodes.put(id, "answered HTTP " + response.statusCode());
                        continue;
                    }
                    tools.jackson.databind.JsonNode theirs = JSON.readTree(response.body()).path("partitions");
                    theirs.forEach(partitions::add);
                    nodes.put(id, "ok");
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | RuntimeException e) {
                    nodes.put(id, "no answer: " + (e.getCause() != null ? e.getCause() : e));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    nodes.put(id, "interrupted");
                }
            }
        }
        ctx.contentType("application/json").result(JSON.writeValueAsString(answer));
    }

    /**
     * Kills a node with SIGKILL, as a fault injection. The node that receives the request forwards
     * it to the target's own HTTP address; the target answers 202 and then kills itself, so the
     * fault is a real process death wherever the target runs.
     */
    private void kill(Context ctx) throws IOException {
        String id = ctx.pathParam("id");
        // A browser sends Origin with every POST, and any web page may POST here without a preflight:
        // only the console served by a node of this system (same origin) may kill, not another site.
        String origin = ctx.header("Origin");
        if (origin != null && !AccessControl.sameOrigin(origin, ctx.header("Host"))) {
            error(ctx, 403, "FORBIDDEN", "a page from " + origin + " may not kill nodes; use the console or the API directly");
            return;
        }
        if (id.equals(nodeId)) {
            killThisNode(ctx);
            return;
        }
        Member target = forwardTarget(ctx, id, "the kill of " + id);
        if (target == null) {
            return;
        }
        HttpRequest.Builder request = HttpRequest.newBuilder(peers.uri(target.http(), "/v1/nodes/" + id + "/kill"))
                .timeout(FORWARD_TIMEOUT)
                .header(FORWARDED_HEADER, nodeId)
                .POST(HttpRequest.BodyPublishers.noBody());
        forwardCredentials(ctx, request);
        try {
            HttpResponse<byte[]> response = peers.client().send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            LOG.warn("fault injection: node {} was asked to kill itself and answered {}", id, response.statusCode());
            ctx.status(response.statusCode())
                    .contentType(response.headers().firstValue("Content-Type").orElse("application/json"))
                    .result(response.body());
        } catch (IOException e) {
            error(ctx, 503, "UNAVAILABLE", "cannot reach node " + id + " at " + target.http() + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error(ctx, 503, "UNAVAILABLE", "interrupted while asking node " + id + " to die");
        }
    }

    /**
     * Injects a fault into the member of one group on node {@code id}. For lockstep members only:
     * {@code corrupt} flips a bit of its state, {@code diverge} changes its next output, {@code
     * self-check} fails its next command as if its service threw there only. For any replica:
     * {@code crash-replica} crashes it (it is dumped and rebuilt, its node stays up), {@code slow}
     * delays each of its commands by {@code ms} milliseconds (0 clears it). Query parameters: {@code
     * service}, {@code partition} (default 0), {@code seed} (which bit; random by default) and {@code
     * ms}. As with kill, the node asked forwards the request to the target node.
     */
    private void fault(Context ctx) throws IOException {
        String id = ctx.pathParam("id");
        String origin = ctx.header("Origin");
        if (origin != null && !AccessControl.sameOrigin(origin, ctx.header("Host"))) {
            error(ctx, 403, "FORBIDDEN", "a page from " + origin + " may not inject faults; use the console or the API directly");
            return;
        }
        FaultInjector.Kind kind = FaultInjector.Kind.parse(ctx.pathParam("kind"));
        if (kind == null) {
            error(ctx, 400, "BAD_REQUEST", "unknown fault " + ctx.pathParam("kind")
                    + " (expected corrupt, diverge, self-check, crash-replica or slow)");
            return;
        }
        String service = ctx.queryParam("service");
        if (service == null || service.isBlank()) {
            error(ctx, 400, "BAD_REQUEST", "the query parameter service is required");
            return;
        }
        int partition;
        long seed;
        try {
            String p = ctx.queryParam("partition");
            partition = p == null ? 0 : Integer.parseInt(p.strip());
            String s = ctx.queryParam("seed");
            seed = s == null ? java.util.concurrent.ThreadLocalRandom.current().nextLong() : Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            error(ctx, 400, "BAD_REQUEST", "partition and seed must be integers: " + e.getMessage());
            return;
        }
        if (partition < 0) {
            error(ctx, 400, "BAD_REQUEST", "partition must be >= 0");
            return;
        }
        long delayMillis;
        try {
            String ms = ctx.queryParam("ms");
            delayMillis = ms == null ? -1 : Long.parseLong(ms.strip());
        } catch (NumberFormatException e) {
            error(ctx, 400, "BAD_REQUEST", "ms must be an integer: " + e.getMessage());
            return;
        }
        if (kind == FaultInjector.Kind.SLOW && (delayMillis < 0 || delayMillis > SLOW_MILLIS_MAX)) {
            error(ctx, 400, "BAD_REQUEST", "the slow fault needs ms between 0 (clear it) and " + SLOW_MILLIS_MAX + ", got "
                    + (delayMillis < 0 && ctx.queryParam("ms") == null ? "none" : delayMillis));
            return;
        }
        if (id.equals(nodeId)) {
            FaultInjector.Outcome outcome = faults.inject(kind, new io.pairstep.core.GroupId(service, partition),
                    kind == FaultInjector.Kind.SLOW ? delayMillis : seed);
            if (outcome.code() != null) {
                error(ctx, outcome.status(), outcome.code(), outcome.message());
                return;
            }
            LOG.warn("fault injection: {} on {} partition {} of node {} (seed {}): {}", kind, service, partition, nodeId, seed,
                    outcome.message());
            // The seed is recorded where it chose something (the bit corrupt flips), the delay where it is one.
            FaultRecord record = FaultRecord.ofReplica(newFaultId(), kind.label(), nodeId, service, partition,
                    kind == FaultInjector.Kind.CORRUPT ? seed : null, kind == FaultInjector.Kind.SLOW ? delayMillis : null,
                    outcome.message(), requestedBy(ctx), System.currentTimeMillis());
            // Not waited for: the fault is done whether or not the controller can take its record now.
            faultRecorder.record(record);
            ObjectNode answer = JSON.createObjectNode();
            answer.put("node", nodeId);
            answer.put("service", service);
            answer.put("partition", partition);
            answer.put("fault", kind.label());
            answer.put("seed", seed);
            if (kind == FaultInjector.Kind.SLOW) {
                answer.put("ms", delayMillis);
            }
            answer.put("message", outcome.message());
            answer.put("faultId", record.faultId());
            ctx.status(outcome.status()).contentType("application/json").result(JSON.writeValueAsString(answer));
            return;
        }
        Member target = forwardTarget(ctx, id, "a fault for " + id);
        if (target == null) {
            return;
        }
        String query = "service=" + java.net.URLEncoder.encode(service, java.nio.charset.StandardCharsets.UTF_8)
                + "&partition=" + partition + "&seed=" + seed + (delayMillis >= 0 ? "&ms=" + delayMillis : "");
        relay(ctx, id, target, "/v1/nodes/" + java.net.URLEncoder.encode(id, java.nio.charset.StandardCharsets.UTF_8) + "/faults/"
                + kind.label() + "?" + query, FORWARD_TIMEOUT, "a fault");
    }

    /** Forwards a POST to node {@code id} at {@code target} and answers with what it answered. */
    private void relay(Context ctx, String id, Member target, String pathAndQuery, Duration timeout, String what) {
        HttpRequest.Builder request = HttpRequest.newBuilder(peers.uri(target.http(), pathAndQuery))
                .timeout(timeout)
                .header(FORWARDED_HEADER, nodeId)
                .POST(HttpRequest.BodyPublishers.noBody());
        forwardCredentials(ctx, request);
        try {
            HttpResponse<byte[]> response = peers.client().send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            ctx.status(response.statusCode())
                    .contentType(response.headers().firstValue("Content-Type").orElse("application/json"))
                    .result(response.body());
        } catch (IOException e) {
            error(ctx, 503, "UNAVAILABLE", "cannot reach node " + id + " at " + target.http() + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error(ctx, 503, "UNAVAILABLE", "interrupted while forwarding " + what + " to node " + id);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Quick dump

    /**
     * A consistent dump of a running partition, as text in the dump format. Any node answers: it
     * chooses the member (an in-sync backup or non-ordering voter, so the primary never pauses;
     * the primary only when no other member is in sync, and the dump's reason says so; or the
     * member on node {@code node} when the query names one) and forwards the request to that node.
     */
    private void dump(Context ctx) throws IOException {
        // A dump holds the whole state: another site's page must not make a logged-in console's browser fetch one.
        String origin = ctx.header("Origin");
        if (origin != null && !AccessControl.sameOrigin(origin, ctx.header("Host"))) {
            error(ctx, 403, "FORBIDDEN", "a page from " + origin + " may not take dumps; use the console or the API directly");
            return;
        }
        String service = ctx.pathParam("name");
        int partition;
        try {
            partition = Integer.parseInt(ctx.pathParam("p").strip());
        } catch (NumberFormatException e) {
            error(ctx, 400, "BAD_REQUEST", "the partition must be an integer, got " + ctx.pathParam("p"));
            return;
        }
        if (!requireReady(ctx)) {
            return;
        }
        ControllerState current = state.get();
        io.pairstep.core.control.ServiceSpec spec = current.services().get(service);
        if (spec == null) {
            error(ctx, 404, "UNKNOWN_SERVICE", "unknown service " + service
                    + (current.services().isEmpty() ? " (none deployed)" : " (deployed: " + String.join(", ", current.services().keySet()) + ")"));
            return;
        }
        if (partition < 0 || partition >= spec.partitions()) {
            error(ctx, 400, "BAD_REQUEST", "partition " + partition + " is out of range: " + service + " has " + spec.partitions()
                    + " partition" + (spec.partitions() == 1 ? " (0)" : "s (0 to " + (spec.partitions() - 1) + ")"));
            return;
        }
        io.pairstep.core.GroupId group = new io.pairstep.core.GroupId(service, partition);
        GroupConfig config = current.groups().get(group);
        String requested = ctx.queryParam("node");
        ReplicaAssignment source = config == null ? null : requested == null ? dumpSource(config) : config.replicaOn(requested);
        if (source == null) {
            error(ctx, 404, "NO_MEMBER", requested == null ? service + " partition " + partition + " has no member to dump"
                    : "node " + requested + " hosts no member of " + service + " partition " + partition);
            return;
        }
        String reason = ctx.queryParam("reason");
        if (reason == null) {
            reason = "quick dump (pairstep dump) from the " + (source.role() == Role.PRIMARY ? "primary" : "backup")
                    + (requested != null ? ", as asked" : source.role() == Role.PRIMARY ? ": no other member is in sync" : "");
        }
        if (source.node().equals(nodeId)) {
            DumpTaker.Outcome outcome = dumps.take(group, reason);
            if (outcome.code() != null) {
                error(ctx, outcome.status(), outcome.code(), outcome.message());
                return;
            }
            ctx.status(200).contentType("text/plain; charset=utf-8").result(outcome.dump());
            return;
        }
        Member target = forwardTarget(ctx, source.node(), "a dump for " + source.node());
        if (target == null) {
            return;
        }
        String query = "node=" + java.net.URLEncoder.encode(source.node(), java.nio.charset.StandardCharsets.UTF_8)
                + "&reason=" + java.net.URLEncoder.encode(reason, java.nio.charset.StandardCharsets.UTF_8);
        relay(ctx, source.node(), target, "/v1/services/" + java.net.URLEncoder.encode(service, java.nio.charset.StandardCharsets.UTF_8)
                + "/partitions/" + partition + "/dump?" + query, DUMP_FORWARD_TIMEOUT, "a dump request");
    }

    /** An in-sync member that does not order commands, else the primary (the orderer), else null. */
    static ReplicaAssignment dumpSource(GroupConfig config) {
        for (ReplicaAssignment replica : config.replicas()) {
            if (replica.role() != Role.PRIMARY && replica.state() == io.pairstep.core.control.ReplicaState.OK) {
                return replica;
            }
        }
        return config.primary();
    }

    /**
     * The target node checks the access token again (every node of a system has the same one), so
     * a forwarded request carries the caller's credentials, header or console cookie, unchanged.
     */
    private static void forwardCredentials(Context ctx, HttpRequest.Builder request) {
        for (String header : List.of("Authorization", "Cookie")) {
            String value = ctx.header(header);
            if (value != null) {
                request.header(header, value);
            }
        }
    }

    /**
     * Records the fault (waiting {@link #KILL_RECORD_WAIT_MILLIS} at most: a dead node retries
     * nothing), answers 202, makes sure the answer left, then dies.
     */
    private void killThisNode(Context ctx) throws IOException {
        long pid = ProcessHandle.current().pid();
        FaultRecord record = FaultRecord.ofNode(newFaultId(), FaultRecord.KILL_NODE, nodeId,
                "SIGKILL to its own process (pid " + pid + ")", requestedBy(ctx), System.currentTimeMillis());
        boolean recorded = faultRecorder.recordAndWait(record, KILL_RECORD_WAIT_MILLIS);
        if (!recorded) {
            LOG.warn("fault injection: the kill of node {} is not in the event log: the controller did not take its record within {} ms",
                    nodeId, KILL_RECORD_WAIT_MILLIS);
        }
        ObjectNode answer = JSON.createObjectNode();
        answer.put("node", nodeId);
        answer.put("pid", pid);
        answer.put("signal", "KILL");
        answer.put("faultId", record.faultId());
        answer.put("recorded", recorded);
        byte[] body = JSON.writeValueAsBytes(answer);
        LOG.warn("fault injection: node {} (pid {}) kills itself with SIGKILL", nodeId, pid);
        // Written and flushed by hand: the node dies before Javalin would write a result.
        ctx.status(202);
        ctx.res().setContentType("application/json");
        ctx.res().setContentLength(body.length);
        ctx.res().getOutputStream().write(body);
        ctx.res().flushBuffer();
        killSelf.run();
    }

    /** A fresh fault id: unique without coordination, and naming the node that made it. */
    private String newFaultId() {
        return nodeId + "-" + java.util.UUID.randomUUID();
    }

    /** The node that received the admin request: the one that forwarded it here, else this one. */
    private String requestedBy(Context ctx) {
        String forwardedBy = ctx.header(FORWARDED_HEADER);
        return forwardedBy == null || forwardedBy.isBlank() || forwardedBy.length() > FaultRecord.NAME_CHARS_MAX ? nodeId : forwardedBy.strip();
    }

    /** The fields {@code POST /v1/events/faults} takes. */
    private static final java.util.Set<String> RECORD_FAULT_FIELDS = java.util.Set.of("id", "kind", "node", "message");

    /**
     * Records a fault that the CLI injected by a signal of its own ({@code kill-node}, {@code
     * pause-node}, {@code resume-node} send SIGKILL, SIGSTOP, SIGCONT to a local process), so that
     * it shows in every node's event log like the faults nodes carry out. Body: {@code {"kind",
     * "node", "message", "id"}}; {@code id} (optional) makes a repeated request record it once. This
     * node is the one that asked. Answers 201 when the controller took it, 202 when it has not
     * answered within {@link #RECORD_WAIT_MILLIS} (this node keeps trying).
     */
    private void recordFault(Context ctx) throws IOException {
        String origin = ctx.header("Origin");
        if (origin != null && !AccessControl.sameOrigin(origin, ctx.header("Host"))) {
            error(ctx, 403, "FORBIDDEN", "a page from " + origin + " may not record faults; use the CLI or the API directly");
            return;
        }
        tools.jackson.databind.JsonNode body;
        try {
            body = JSON.readTree(ctx.body());
        } catch (tools.jackson.core.JacksonException e) {
            error(ctx, 400, "BAD_REQUEST", "the body is not JSON: " + e.getOriginalMessage());
            return;
        }
        if (body == null || !body.isObject()) {
            error(ctx, 400, "BAD_REQUEST", "the body must be a JSON object {\"kind\", \"node\", \"message\", \"id\"}");
            return;
        }
        for (String field : body.propertyNames()) {
            if (!RECORD_FAULT_FIELDS.contains(field)) {
                error(ctx, 400, "BAD_REQUEST", "unknown field \"" + field + "\" (expected kind, node, message and optionally id)");
                return;
            }
        }
        for (String field : RECORD_FAULT_FIELDS) {
            if (body.has(field) && !body.get(field).isString()) {
                error(ctx, 400, "BAD_REQUEST", "\"" + field + "\" must be a string");
                return;
            }
        }
        String kind = body.path("kind").asString("");
        if (!FaultRecord.NODE_KINDS.contains(kind)) {
            error(ctx, 400, "BAD_REQUEST", "kind must be one of " + String.join(", ", FaultRecord.NODE_KINDS) + ", was \"" + kind
                    + "\" (a node records the faults it carries out itself)");
            return;
        }
        String target = body.path("node").asString("");
        if (target.isEmpty()) {
            error(ctx, 400, "BAD_REQUEST", "the field node (the node the fault hit) is required");
            return;
        }
        if (!requireReady(ctx)) {
            return;
        }
        ControllerState current = state.get();
        if (!current.members().containsKey(target)) {
            error(ctx, 404, "UNKNOWN_NODE", "unknown node " + target + " (known: " + String.join(", ", current.members().keySet()) + ")");
            return;
        }
        String id = body.has("id") ? body.get("id").asString() : newFaultId();
        FaultRecord record = FaultRecord.ofNode(id, kind, target, body.path("message").asString(""), nodeId, System.currentTimeMillis());
        String problem = record.problem();
        if (problem != null) {
            error(ctx, 400, "BAD_REQUEST", problem);
            return;
        }
        CompletableFuture<Boolean> recorded = faultRecorder.record(record);
        boolean taken = FaultRecorder.await(recorded, RECORD_WAIT_MILLIS);
        if (!taken && recorded.isDone()) {
            error(ctx, 503, "UNAVAILABLE", "the controller did not take the record of fault " + id + " (see node " + nodeId + "'s log)");
            return;
        }
        ObjectNode answer = JSON.createObjectNode();
        answer.put("faultId", id);
        answer.put("node", target);
        answer.put("kind", kind);
        answer.put("requestedBy", nodeId);
        answer.put("recorded", taken);
        answer.put("message", taken ? "recorded: every node's event log shows it as fault-injected"
                : "the controller has not answered yet; node " + nodeId + " keeps trying");
        ctx.status(taken ? 201 : 202).contentType("application/json").result(JSON.writeValueAsString(answer));
    }

    /** SIGKILL to this process: no shutdown hooks, no flushing, as in a real crash. */
    private static void sigkillSelf() {
        long pid = ProcessHandle.current().pid();
        try {
            new ProcessBuilder("kill", "-KILL", Long.toString(pid)).inheritIO().start().waitFor(5, TimeUnit.SECONDS);
        } catch (IOException e) {
            LOG.error("cannot run kill: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Still alive: kill is missing or failed. Halting skips the shutdown hooks just the same.
        Runtime.getRuntime().halt(137);
    }

    /** Answers with the gateway's error format, {@code {"error","code"}}. */
    static void error(Context ctx, int status, String code, String message) {
        ObjectNode error = JSON.createObjectNode();
        error.put("error", message == null ? code : message);
        error.put("code", code);
        ctx.status(status).contentType("application/json").result(JSON.writeValueAsString(error));
    }

}
