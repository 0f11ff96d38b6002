package io.pairstep.runtime;

import io.pairstep.avail.AvailabilityManager;
import io.pairstep.core.GroupId;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.Incident;
import io.pairstep.core.control.IncidentRules;
import io.pairstep.core.control.LeadPlacement;
import io.pairstep.core.control.Member;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.core.control.ServiceUpgrade;
import io.pairstep.core.control.Supervisor;
import io.pairstep.core.lockstep.LockstepCore;
import io.pairstep.core.lockstep.LockstepMessage;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.ReplicaCore;
import io.pairstep.core.replica.Reply;
import io.pairstep.core.wire.Frame;
import io.pairstep.runtime.access.AccessToken;
import io.pairstep.runtime.access.PeerHttp;
import io.pairstep.runtime.admin.FaultInjector;
import io.pairstep.runtime.artifact.ArtifactDelivery;
import io.pairstep.runtime.artifact.ArtifactStore;
import io.pairstep.runtime.controller.ControllerServer;
import io.pairstep.runtime.events.Event;
import io.pairstep.runtime.incidents.IncidentJson;
import io.pairstep.runtime.incidents.IncidentReporter;
import io.pairstep.runtime.storage.FsyncPolicy;
import io.pairstep.runtime.storage.GroupCommitWriter;
import io.pairstep.runtime.storage.NodeJournal;
import io.pairstep.runtime.storage.ReplicaLog;
import io.pairstep.runtime.storage.Snapshot;
import io.pairstep.runtime.transport.Connection;
import io.pairstep.runtime.transport.Transport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Pairstep node: the adapters around the protocol core. It runs a member of the controller
 * (Apache Ratis), the binary transport, the disk writer, one {@link ReplicaAgent} per hosted
 * replica of a {@code pair} or {@code none} group and one {@link LockstepAgent} per member of a
 * {@code dmr} or {@code tmr} group, and, while it leads the controller, the {@link Supervisor} that
 * declares nodes down.
 */
public final class Node implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Node.class);
    private static final long HEARTBEAT_INTERVAL_MS = 50;
    private static final long SUPERVISOR_TICK_MS = 5;
    /** How often the leader checks where the controller's lead should be. */
    private static final long LEADERSHIP_CHECK_NANOS = 200_000_000L;
    /** After an attempt to move the lead, how long before the next. */
    private static final long LEADERSHIP_MOVE_PAUSE_NANOS = 1_000_000_000L;
    /** How long a node must have been registered before the lead moves to it. */
    private static final long LEADERSHIP_TARGET_SETTLE_NANOS = 1_000_000_000L;
    private static final long SEGMENT_SIZE_BYTES = 64L * 1024 * 1024;
    private static final long FRESH_STATE_MILLIS = 1000;

    /** A client request waiting for its reply. */
    /** A command handed to a hosted replica; when it arrived and whose metrics time its answer. */
    private record PendingReply(Connection connection, long clientRequestId, PartitionMetrics metrics, long receivedNanos) {}

    /** A client waiting for a group's epoch to pass {@code afterEpoch}. */
    private record Watch(Connection connection, long requestId, GroupId group, long afterEpoch) {
        /** True when the group is past the epoch, or gone (the client then learns that too). */
        boolean satisfiedBy(ControllerState state) {
            GroupConfig config = state.groups().get(group);
            return config == null || config.epoch() > afterEpoch;
        }
    }

    /** The longest a watch is held before it is answered with the unchanged table. */
    private static final long WATCH_WAIT_MAX_MILLIS = 5_000;

    private final NodeConfig config;
    private final String systemId;
    private final long pid = ProcessHandle.current().pid();
    private volatile long incarnation;
    private final ReplicaCore.Settings replicaSettings = new ReplicaCore.Settings(
            20_000_000L, 250_000_000L, 100_000_000L, 1_000_000_000L, 1024, 100_000, 50_000, 1_000_000);
    private final LockstepCore.Settings lockstepSettings = LockstepCore.Settings.defaults();
    private final io.pairstep.core.control.BakeTimer bakeTimer = new io.pairstep.core.control.BakeTimer();
    private final Supervisor supervisor = new Supervisor(new Supervisor.Settings(500_000_000L, 5_000_000L, 120_000_000L));
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "pairstep-supervisor");
        thread.setDaemon(true);
        return thread;
    });
    private final ArtifactStore artifacts;
    private final ServiceFactory services;
    /** Fetches the jars of deployed services from peers; see {@link ArtifactDelivery} for why they do not go through the controller. */
    private final ArtifactDelivery delivery;
    private final Map<GroupId, GroupAgent> agents = new ConcurrentHashMap<>();
    /**
     * Agents told to stop that a new agent of their group has not yet waited for. A stopping agent
     * may still hand the disk thread the entries of its last round; a new agent on the same log
     * must see them land first, or they land after it read or reset the log (found by an open-loop
     * bench whose node was declared down while its replicas were busy).
     */
    private final Map<GroupId, GroupAgent> stopping = new ConcurrentHashMap<>();
    private final Map<GroupId, ReplicaLog> logs = new ConcurrentHashMap<>();
    private final Map<Long, PendingReply> pending = new ConcurrentHashMap<>();
    /**
     * Admission control. A node that took every request it was sent would, under overload, hold an
     * ever longer backlog: its heap fills with requests, the collector runs ever longer pauses, and
     * throughput collapses instead of levelling off (BENCHMARKS.md, open loop at 15,000/s). So once it
     * holds {@link #PENDING_HIGH} client requests, it stops reading the client connections that send
     * more (TCP then slows those clients down) until it holds {@link #PENDING_LOW} or fewer.
     */
    static final int PENDING_HIGH = 8192;
    static final int PENDING_LOW = 4096;
    /** Requests a node forgets when no replica answered them in this long (their clients gave up long ago). */
    static final long PENDING_EXPIRY_NANOS = TimeUnit.SECONDS.toNanos(120);
    private final java.util.Set<Connection> notReading = ConcurrentHashMap.newKeySet();
    /** Open watches; guarded by itself. */
    private final List<Watch> watches = new ArrayList<>();
    private final AtomicLong requestIds = new AtomicLong();
    private final Object reconcileLock = new Object();
    private volatile ControllerState latest = new ControllerState();
    private volatile boolean leader;
    /** When the supervisor thread next checks where the controller's lead should be. */
    private long nextLeadershipCheckNanos;
    /** Where the controller's lead should be; supervisor thread only. */
    private final LeadPlacement leadPlacement = new LeadPlacement(LEADERSHIP_TARGET_SETTLE_NANOS);
    /**
     * True once this incarnation has seen itself registered and alive in the controller state.
     * Before that its view of the system may be empty or old, so it answers nothing final.
     */
    private volatile boolean ready;
    private GroupCommitWriter writer;
    /** Watches every command of every hosted replica; started with the first replica. */
    private ServiceWatchdog watchdog;
    private Transport transport;
    private ControllerServer controller;
    private HttpGateway gateway;
    /** How this node reaches the other nodes' HTTP servers (jar fetches, the admin API's relays). */
    private final PeerHttp peerHttp;
    /** The system's access token, which the admin API asks for. */
    private AccessToken accessToken;
    /** Metrics, node monitors and the availability manager. */
    private NodeMonitoring monitoring;
    /** The events found in the controller states this node applies; served by the admin API. */
    private final io.pairstep.runtime.events.EventLog events =
            new io.pairstep.runtime.events.EventLog(io.pairstep.runtime.events.EventLog.CAPACITY_DEFAULT, java.time.Clock.systemUTC());

    public Node(NodeConfig config) {
        this.config = config;
        this.systemId = resolveSystemId(config);
        this.artifacts = new ArtifactStore(config.dataDirectory().resolve("artifacts"));
        this.services = new ServiceFactory(artifacts);
        // Every node of a TLS system serves HTTPS: the relays to other nodes trust the system's authority.
        this.peerHttp = PeerHttp.of(config.tls() == null ? null : config.tls().authority(), PeerHttp.CONNECT_TIMEOUT);
        // A jar that arrives may be what a waiting replica needs: reconcile the latest state again.
        this.delivery = new ArtifactDelivery(artifacts, ArtifactDelivery.http(peerHttp, Duration.ofSeconds(60), () -> accessToken.text()),
                this::artifactPeers,
                digest -> reapplyLatest());
    }

    /** The live nodes other than this one, which may hold the jars this node lacks. */
    List<ArtifactDelivery.Peer> artifactPeers() {
        List<ArtifactDelivery.Peer> peers = new ArrayList<>();
        for (Member member : latest.members().values()) {
            if (member.alive() && !member.id().equals(config.id())) {
                peers.add(new ArtifactDelivery.Peer(member.id(), member.http()));
            }
        }
        return peers;
    }

    ArtifactStore artifacts() {
        return artifacts;
    }

    /** The system id: from the configuration, else from the data directory, else from the seeds. */
    private static String resolveSystemId(NodeConfig config) {
        Path file = config.dataDirectory().resolve("system.id");
        String stored = null;
        try {
            if (Files.exists(file)) {
                stored = Files.readString(file, StandardCharsets.UTF_8).trim();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
        if (stored != null && config.systemId() != null && !stored.equals(config.systemId())) {
            throw new IllegalStateException("data directory " + config.dataDirectory() + " belongs to system " + stored
                    + ", not to system " + config.systemId() + "; use an empty directory for a new node");
        }
        if (stored != null) {
            return stored;
        }
        if (config.systemId() != null) {
            return config.systemId();
        }
        StringBuilder seeds = new StringBuilder();
        config.seeds().forEach(s -> seeds.append(s.id()).append('@').append(s.rpc()).append(','));
        return UUID.nameUUIDFromBytes(seeds.toString().getBytes(StandardCharsets.UTF_8)).toString();
    }

    public String id() {
        return config.id();
    }

    public String systemId() {
        return systemId;
    }

    ControllerState state() {
        return latest;
    }

    /**
     * True when this node may answer for the system: it has seen itself registered and alive, and
     * its copy of the controller state is current (it leads the controller or heard from the leader
     * within the last second). A node that was paused must not show its old picture of the system.
     */
    boolean ready() {
        return ready && controller.leaderSilenceMillis() < FRESH_STATE_MILLIS;
    }

    NodeConfig config() {
        return config;
    }

    io.pairstep.runtime.events.EventLog events() {
        return events;
    }

    AccessToken accessToken() {
        return accessToken;
    }

    PeerHttp peerHttp() {
        return peerHttp;
    }

    HttpGateway gateway() {
        return gateway;
    }

    /** The group members this node hosts now, for the partition monitors. */
    Collection<GroupAgent> hostedAgents() {
        return agents.values();
    }

    /** The partition monitors of this node's replicas (empty before the monitors start). */
    List<io.pairstep.runtime.admin.PartitionFigure> partitionFigures() {
        NodeMonitoring current = monitoring;
        return current == null ? List.of() : current.partitionFigures();
    }

    NodeMonitoring monitoring() {
        return monitoring;
    }

    /**
     * True while this node leads the controller. Only the leader reports component changes to the
     * availability manager, so that a change raises one alert in the system, not one per node.
     */
    public boolean leader() {
        return leader;
    }

    /** Starts every part; throws with a clear message when the node cannot run. */
    public void start() throws IOException {
        Files.createDirectories(config.dataDirectory());
        InetSocketAddress raft = NodeConfig.controllerAddress(config.rpc());
        checkFree(config.http(), "http");
        checkFree(raft, "controller (rpc port + 1)");
        incarnation = nextIncarnation();
        rehearseInBackground();
        writeIfAbsent(config.dataDirectory().resolve("system.id"), systemId);
        accessToken = AccessToken.forNode(config.dataDirectory(), config.tokenFile());
        watchdog = new ServiceWatchdog("pairstep-watchdog-" + config.id());
        writer = startDiskWriter();
        transport = new Transport(config.id(), incarnation, new TransportHandler(), Transport.Options.defaults(), config.tls());
        transport.listen(config.rpc());
        Map<String, String> peers = new LinkedHashMap<>();
        for (NodeConfig.Seed seed : config.seeds()) {
            InetSocketAddress address = NodeConfig.controllerAddress(seed.rpc());
            peers.put(seed.id(), address.getHostString() + ":" + address.getPort());
        }
        // A dead controller leader stalls every takeover until a new one is elected, so elections are
        // as quick as Ratis allows; a spurious election costs a stall, never safety.
        // A node among the seeds votes in the controller, any other follows its log as a listener,
        // unless the controller group says otherwise: a vote can move (see ControllerServer#start).
        controller = new ControllerServer(config.id(), raft.getHostString() + ":" + raft.getPort(), peers,
                config.dataDirectory().resolve("controller"),
                new ControllerServer.Settings(Duration.ofMillis(150), Duration.ofMillis(300), Duration.ofSeconds(10), 1000), config.tls());
        controller.addLeadershipListener(isLeader -> onSupervisorThread(() -> {
            leader = isLeader;
            if (isLeader) {
                supervisor.becameLeader(System.nanoTime());
                bakeTimer.becameLeader();
                nextLeadershipCheckNanos = System.nanoTime();
            }
        }));
        controller.addListener(this::onState);
        controller.addListener(events::onState);
        // After the event log, so that an incident's evidence holds the events of its own change.
        controller.addListener(new IncidentReporter(this::leader, this::propose, events, this::state, System::currentTimeMillis,
                this::callHome)::onState);
        // Before the controller starts, so that the leader reports the first registrations too.
        monitoring = new NodeMonitoring(this);
        monitoring.start();
        controller.start();
        ControlResult bootstrap = submitUntilAnswered(new ControlCommand.Bootstrap(systemId));
        if (!bootstrap.accepted()) {
            throw new IllegalStateException("data directory " + config.dataDirectory() + " or seeds belong to another system: "
                    + bootstrap.reason());
        }
        // The group answered: a node that started as a voter because nobody else answered at its
        // start learns here whether its vote moved away while it was down.
        controller.confirmListed();
        register();
        scheduler.scheduleAtFixedRate(this::heartbeat, 0, HEARTBEAT_INTERVAL_MS, TimeUnit.MILLISECONDS);
        scheduler.scheduleAtFixedRate(this::supervise, SUPERVISOR_TICK_MS, SUPERVISOR_TICK_MS, TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(this::sweepPending, 1, 1, TimeUnit.SECONDS);
        gateway = new HttpGateway(this);
        gateway.start(config.http());
        LOG.info("node {} up: system {}, incarnation {}, http {}, rpc {}", config.id(), systemId, incarnation, config.http(), config.rpc());
    }

    private static void checkFree(InetSocketAddress address, String what) throws BindException {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(address);
        } catch (IOException e) {
            throw new BindException(what + " port " + address.getPort() + " on " + address.getHostString() + " is already in use");
        }
    }

    private long nextIncarnation() throws IOException {
        Path file = config.dataDirectory().resolve("incarnation");
        long previous = Files.exists(file) ? Long.parseLong(Files.readString(file).trim()) : 0;
        persistIncarnation(previous + 1);
        return previous + 1;
    }

    private void persistIncarnation(long value) throws IOException {
        Path file = config.dataDirectory().resolve("incarnation");
        Path temporary = config.dataDirectory().resolve("incarnation.tmp");
        Files.writeString(temporary, Long.toString(value), StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.SYNC);
        Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    private static void writeIfAbsent(Path file, String text) throws IOException {
        if (!Files.exists(file)) {
            Files.writeString(file, text + "\n", StandardOpenOption.CREATE_NEW, StandardOpenOption.SYNC);
        }
    }

    /** Submits until the controller answers, however long the quorum takes to form. */
    private ControlResult submitUntilAnswered(ControlCommand command) {
        while (true) {
            try {
                return controller.submit(command).get(15, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the controller");
            } catch (Exception e) {
                LOG.info("waiting for the controller quorum ({})", e.getMessage());
            }
        }
    }

    private void register() {
        Member me = new Member(config.id(), address(config.http()), address(config.rpc()), incarnation, pid, true);
        propose(new ControlCommand.RegisterNode(me.id(), me.http(), me.rpc(), me.incarnation(), me.pid()));
    }

    static String address(InetSocketAddress address) {
        return address.getHostString() + ":" + address.getPort();
    }

    static InetSocketAddress parseAddress(String text) {
        int colon = text.lastIndexOf(':');
        return new InetSocketAddress(text.substring(0, colon), Integer.parseInt(text.substring(colon + 1)));
    }

    java.util.concurrent.CompletableFuture<ControlResult> propose(ControlCommand command) {
        return controller.submit(command).whenComplete((result, error) -> {
            if (error != null) {
                LOG.warn("controller did not take {}: {}", command, error.toString());
            } else if (!result.accepted()) {
                LOG.debug("controller refused {}: {}", command, result.reason());
            }
        });
    }

    /** How often a crash report is tried before the node gives up (the controller may be electing). */
    private static final int CRASH_REPORT_ATTEMPTS = 50;

    private void proposeUntilAnswered(ControlCommand command, int attemptsLeft) {
        propose(command).whenComplete((result, error) -> {
            if (error != null && attemptsLeft > 1) {
                try {
                    scheduler.schedule(() -> proposeUntilAnswered(command, attemptsLeft - 1), 200, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    // Closing: the report goes with the node.
                }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Liveness

    /**
     * Renews this node's lease with every controller replica, not only the leader: which replica
     * leads can change at any moment, and a new leader should already know who is alive.
     */
    private void heartbeat() {
        try {
            supervisor.heartbeat(config.id(), incarnation, System.nanoTime());
            toControllers(new Frame.Heartbeat(config.id(), incarnation));
        } catch (RuntimeException e) {
            LOG.warn("heartbeat failed: {}", e.toString());
        }
    }

    /**
     * Sends a frame to every other node that votes in the controller now: the one that leads runs
     * the supervisor, which must hear every node's heartbeats. A voter's vote may have moved to a
     * node that was no seed (see {@code node remove}), so the seeds serve only until this node's
     * controller replica knows the voters.
     */
    private void toControllers(Frame frame) {
        for (String voter : controllerVotersOrSeeds()) {
            if (!voter.equals(config.id())) {
                InetSocketAddress rpc = rpcAddressOf(voter);
                if (rpc != null) {
                    transport.send(voter, rpc, frame);
                }
            }
        }
    }

    /** The controller's voters as this node's replica knows them, or the seeds before it knows any. */
    private List<String> controllerVotersOrSeeds() {
        List<String> voters = controllerVoters();
        return voters.isEmpty() ? config.seeds().stream().map(NodeConfig.Seed::id).toList() : voters;
    }

    /** Runs {@code task} on the supervisor thread, which owns the supervisor; nothing once the node is closing. */
    /** See {@link Rehearsal}: the first takeover this node makes runs warm code. */
    private void rehearseInBackground() {
        Thread thread = new Thread(() -> {
            try {
                long started = System.nanoTime();
                long answered = Rehearsal.run();
                LOG.info("rehearsed a takeover in memory ({} commands) in {} ms", answered, (System.nanoTime() - started) / 1_000_000);
            } catch (RuntimeException e) {
                LOG.warn("the takeover rehearsal failed; the first takeover will run cold code: {}", e.toString(), e);
            }
        }, "pairstep-rehearsal");
        thread.setDaemon(true);
        thread.setPriority(Thread.MIN_PRIORITY);
        thread.start();
    }

    private void onSupervisorThread(Runnable task) {
        try {
            scheduler.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // Closing: the supervisor has stopped.
        }
    }

    private void supervise() {
        try {
            if (!leader) {
                return;
            }
            long now = System.nanoTime();
            for (ControlCommand command : supervisor.tick(now, latest)) {
                LOG.info("declaring down: {}", command);
                propose(command);
            }
            for (ControlCommand command : bakeTimer.tick(now, latest)) {
                LOG.info("upgrade baked: {}", command);
                propose(command);
            }
            if (now - nextLeadershipCheckNanos >= 0) {
                nextLeadershipCheckNanos = now + LEADERSHIP_CHECK_NANOS;
                placeLeadership(latest);
            }
        } catch (RuntimeException e) {
            LOG.warn("supervisor tick failed: {}", e.toString(), e);
        }
    }

    /**
     * Records this node as the controller's leader, then hands the lead to a node without primaries
     * when this one hosts some (see {@link LeadPlacement}). Runs on the leader's supervisor thread.
     */
    private void placeLeadership(ControllerState state) {
        if (!config.id().equals(state.controllerLeader())) {
            propose(new ControlCommand.ControllerLeader(config.id()));
            return;
        }
        long now = System.nanoTime();
        String target = leadPlacement.target(state, config.id(), controllerVotersOrSeeds(), now);
        if (target == null) {
            return;
        }
        nextLeadershipCheckNanos = now + LEADERSHIP_MOVE_PAUSE_NANOS;
        LOG.info("moving the controller lead to {}, which hosts no primary", target);
        controller.transferLeadership(target, Duration.ofSeconds(1)); // a failure is logged, and tried again later
    }

    private InetSocketAddress rpcAddressOf(String node) {
        Member member = latest.members().get(node);
        if (member != null) {
            return parseAddress(member.rpc());
        }
        for (NodeConfig.Seed seed : config.seeds()) {
            if (seed.id().equals(node)) {
                return seed.rpc();
            }
        }
        return null;
    }

    // ---------------------------------------------------------------------------------------------
    // Configuration from the controller

    private void onState(ControllerState state) {
        synchronized (reconcileLock) {
            latest = state;
            apply(state);
        }
    }

    /** Applies the newest state again: a jar that replicas were waiting for has arrived. */
    private void reapplyLatest() {
        synchronized (reconcileLock) {
            apply(latest);
        }
    }

    /** Called with {@link #reconcileLock} held. */
    private void apply(ControllerState state) {
        try {
            reconcile(state);
        } catch (RuntimeException | IOException e) {
            LOG.error("cannot apply controller state version {}: {}", state.version(), e.toString(), e);
        }
        answerWatches(state);
        // Every node keeps every deployed jar, not only those it hosts now: it may host any of
        // them after the next failure, and each copy is one more source for the nodes to come.
        List<ServiceSpec> specs = new ArrayList<>(state.services().values());
        state.upgrades().values().stream().filter(ServiceUpgrade::active).forEach(u -> specs.add(u.to()));
        for (ServiceSpec spec : specs) {
            if (spec.jarDigest() != null) {
                delivery.want(spec.jarDigest());
            }
        }
    }

    private void reconcile(ControllerState state) throws IOException {
        Member me = state.members().get(config.id());
        if (me == null || me.incarnation() != incarnation) {
            return;
        }
        if (!me.alive()) {
            reincarnate();
            return;
        }
        ready = true;
        // First the replicas that stay (a promotion among them), then the clients watching for
        // that, and only then the slow part: starting and stopping replicas.
        List<GroupConfig> changing = new ArrayList<>();
        for (GroupConfig group : state.groups().values()) {
            ReplicaAssignment assignment = group.replicaOn(config.id());
            GroupAgent agent = agents.get(group.group());
            if (agent != null && assignment != null && agent.identity().sameInstance(assignment)) {
                agent.configure(group);
            } else if (agent != null || (assignment != null && assignment.incarnation() == incarnation)) {
                changing.add(group);
            }
        }
        answerWatches(state);
        for (GroupConfig group : changing) {
            ReplicaAssignment assignment = group.replicaOn(config.id());
            GroupAgent agent = agents.get(group.group());
            if (agent != null && (assignment == null || !agent.identity().sameInstance(assignment))) {
                // The configuration first, so that the requests it holds are answered with where
                // to go (a primary that handed over holds some); then it stops.
                agent.configure(group);
                agent.stopAfterQueuedInputs();
                agents.remove(group.group());
                stopping.put(group.group(), agent);
                agent = null;
            }
            if (assignment == null || assignment.incarnation() != incarnation) {
                continue;
            }
            if (agent == null) {
                GroupAgent previous = stopping.remove(group.group());
                if (previous != null) {
                    // The instance it replaces shares the group's log: its last entries must be
                    // written before the new one reads the log or installs a snapshot there, or
                    // the log sees an append after its reset and refuses all further work (found
                    // by LockstepIT).
                    awaitStopped(previous);
                }
                ServiceSpec spec = state.specFor(group.group().service(), assignment.version());
                if (spec == null) {
                    LOG.error("{}: no spec of version {} of its service in the controller's state", group.group(), assignment.version());
                    continue;
                }
                agent = createAgent(spec, group, assignment);
                if (agent == null) {
                    continue;
                }
            }
            agent.configure(group);
        }
        // A stopped agent still holds its service's whole state: keep it only while it may act.
        stopping.values().removeIf(GroupAgent::hasStopped);
        startShadows(state);
    }

    /**
     * In shadow mode of an upgrade, each in-sync pair backup here runs the new version beside its
     * own, and so does each lockstep member here that the controller's state names as its group's
     * shadow runner ({@link ControllerState#shadowRunner}).
     */
    private void startShadows(ControllerState state) {
        java.util.Set<String> shadowing = new java.util.HashSet<>();
        for (ServiceUpgrade upgrade : state.upgrades().values()) {
            if (upgrade.state() == ServiceUpgrade.State.SHADOW) {
                shadowing.add(upgrade.service());
            }
        }
        for (Map.Entry<GroupId, GroupAgent> hosted : agents.entrySet()) {
            if (!shadowing.contains(hosted.getKey().service())) {
                hosted.getValue().shadowPhaseOver();
            }
        }
        for (ServiceUpgrade upgrade : state.upgrades().values()) {
            if (upgrade.state() != ServiceUpgrade.State.SHADOW) {
                continue;
            }
            for (GroupConfig group : state.groups().values()) {
                if (group.mode().lockstep()) {
                    startLockstepShadow(state, upgrade, group);
                    continue;
                }
                ReplicaAssignment mine = group.replicaOn(config.id());
                if (!group.group().service().equals(upgrade.service()) || upgrade.shadowed().contains(group.group().partition())
                        || mine == null || mine.role() != Role.BACKUP || mine.state() != ReplicaState.OK
                        || !(agents.get(group.group()) instanceof ReplicaAgent agent) || !agent.identity().sameInstance(mine)) {
                    continue;
                }
                try {
                    agent.startShadow(upgrade.to().version(), services.factory(upgrade.to()).get(), upgrade.shadow());
                } catch (RuntimeException e) {
                    // The jar may still be on its way; the next state tries again.
                    LOG.warn("{}: cannot start the shadow run of version {} yet: {}", group.group(), upgrade.to().version(), e.getMessage());
                }
            }
        }
    }

    private void startLockstepShadow(ControllerState state, ServiceUpgrade upgrade, GroupConfig group) {
        if (!group.group().service().equals(upgrade.service())) {
            return;
        }
        ReplicaAssignment runner = state.shadowRunner(group);
        if (runner == null || !runner.node().equals(config.id()) || !(agents.get(group.group()) instanceof LockstepAgent agent)
                || !agent.identity().sameInstance(runner)) {
            return;
        }
        try {
            agent.startShadow(upgrade.to(), services.factory(upgrade.to()).get(), upgrade.shadow());
        } catch (RuntimeException e) {
            // The jar may still be on its way; the next state tries again.
            LOG.warn("{}: cannot start the shadow run of version {} yet: {}", group.group(), upgrade.to().version(), e.getMessage());
        }
    }

    private void awaitStopped(GroupAgent agent) {
        try {
            agent.awaitStopped();
            writer.barrier().join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private GroupAgent createAgent(ServiceSpec spec, GroupConfig groupConfig, ReplicaAssignment assignment) throws IOException {
        GroupId group = groupConfig.group();
        io.pairstep.api.Service service;
        String digest = spec.jarDigest();
        if (digest != null && !artifacts.has(digest)) {
            // Hosted once the jar is here and verified; its arrival reconciles again.
            LOG.info("{} waits for artifact sha256:{}", group, digest);
            delivery.want(digest);
            return null;
        }
        try {
            service = services.factory(spec).get();
        } catch (RuntimeException e) {
            LOG.error("cannot host {}: {}", group, e.getMessage());
            if (digest != null) {
                delivery.want(digest); // a damaged copy was deleted: fetch a good one
            }
            return null;
        }
        ReplicaLog log = logs.computeIfAbsent(group, g -> openLog(g));
        GroupAgent agent = groupConfig.mode().lockstep()
                ? new LockstepAgent(group, lockstepSettings.withStateDigestIntervalEntries(spec.digestEvery()), assignment, service, config.watchdogMillis(), log, writer,
                        config.dataDirectory().resolve("dumps"),
                        new AgentHost(), watchdog)
                : new ReplicaAgent(group, replicaSettings, assignment, service, config.watchdogMillis(), log, writer,
                        config.dataDirectory().resolve("dumps"), new AgentHost(), watchdog);
        if (assignment.role() == Role.PRIMARY) {
            // Nobody else could take over: this replica continues from its own durable log.
            writer.barrier().join();
            Snapshot snapshot = log.latestSnapshot();
            List<LogEntry> tail = new ArrayList<>();
            long from = snapshot == null ? log.firstIndex() : snapshot.index() + 1;
            if (log.lastIndex() >= from) {
                log.read(from, log.lastIndex(), (index, record) -> tail.add(LogEntryCodec.decode(record)));
            }
            agent.recover(snapshot == null ? null : snapshot.data(), tail, groupConfig);
        }
        agents.put(group, agent);
        agent.start();
        return agent;
    }

    /**
     * Recovers the node journal into the replica logs (a crash may have left records only there),
     * then starts the disk thread with a fresh journal, so that a round of group commit forces one
     * file however many replicas the node hosts.
     */
    private GroupCommitWriter startDiskWriter() throws IOException {
        Path journalDirectory = config.dataDirectory().resolve("journal");
        NodeJournal.Recovery recovery = NodeJournal.recover(journalDirectory, replicasDirectory(), SEGMENT_SIZE_BYTES);
        if (recovery.segments() > 0) {
            LOG.info("node journal recovered: {}", recovery);
        }
        FsyncPolicy policy = FsyncPolicy.parse(config.fsyncPolicy());
        NodeJournal journal = policy == FsyncPolicy.NONE ? null
                : NodeJournal.create(journalDirectory, NodeJournal.DEFAULT_CHECKPOINT_BYTES);
        return new GroupCommitWriter(policy, 10, journal, e -> LOG.error("disk failure: {}", e.toString(), e));
    }

    private Path replicasDirectory() {
        return config.dataDirectory().resolve("replicas");
    }

    private ReplicaLog openLog(GroupId group) {
        try {
            return ReplicaLog.open(replicasDirectory().resolve(group.service()).resolve(Integer.toString(group.partition())),
                    SEGMENT_SIZE_BYTES);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the log of " + group, e);
        }
    }

    /**
     * The controller declared this incarnation down (it was paused or cut off). Its replicas are
     * no longer trusted: stop them and come back as a new incarnation.
     */
    private void reincarnate() throws IOException {
        LOG.warn("node {} incarnation {} was declared down; its replicas stop and it registers again", config.id(), incarnation);
        for (Map.Entry<GroupId, GroupAgent> hosted : agents.entrySet()) {
            hosted.getValue().stop();
            stopping.put(hosted.getKey(), hosted.getValue());
        }
        agents.clear();
        // Their clients are told to ask again: the replicas that held these requests are gone.
        for (Long requestId : List.copyOf(pending.keySet())) {
            PendingReply waiting = pending.remove(requestId);
            if (waiting != null) {
                pendingDone();
                waiting.metrics().commandDropped();
                waiting.connection().send(new Frame.ClientResponse(waiting.clientRequestId(), new Reply.NotPrimary(0, "")));
            }
        }
        ready = false;
        incarnation = incarnation + 1;
        persistIncarnation(incarnation);
        register();
    }

    // ---------------------------------------------------------------------------------------------
    // Transport

    private final class TransportHandler implements Transport.Handler {

        @Override
        public void onFrame(Connection connection, Frame frame) {
            switch (frame) {
                case Frame.Peer peer -> {
                    String from = connection.peerNode();
                    if (agents.get(peer.message().group()) instanceof ReplicaAgent agent && from != null) {
                        agent.peerMessage(from, peer.message());
                    }
                }
                case Frame.Lockstep lockstep -> {
                    String from = connection.peerNode();
                    if (agents.get(lockstep.message().group()) instanceof LockstepAgent agent && from != null) {
                        agent.message(from, lockstep.message());
                    }
                }
                case Frame.ClientRequest request -> onClientRequest(connection, request);
                case Frame.Heartbeat heartbeat -> onSupervisorThread(() -> {
                    Member member = latest.members().get(heartbeat.node());
                    if (member == null || member.incarnation() <= heartbeat.incarnation()) {
                        supervisor.heartbeat(heartbeat.node(), heartbeat.incarnation(), System.nanoTime());
                    }
                });
                case Frame.Suspect suspect -> onSupervisorThread(() ->
                        supervisor.suspected(suspect.suspect(), suspect.connectionClosed(), System.nanoTime()));
                case Frame.TopologyRequest request -> connection.send(ready()
                        ? new Frame.TopologyResponse(request.requestId(), statusJson())
                        : notReady(request.requestId()));
                case Frame.TopologyWatch watch -> onWatch(connection, watch);
                case Frame.Hello hello -> onSupervisorThread(() -> supervisor.connected(hello.node(), System.nanoTime()));
                case Frame.ClientResponse response -> { }
                case Frame.TopologyResponse response -> { }
                case Frame.Error error -> { }
            }
        }

        @Override
        public void onClosed(Connection connection) {
            String peer = connection.peerNode();
            if (peer == null || peer.equals(config.id())) {
                return;
            }
            for (GroupAgent agent : agents.values()) {
                agent.connectionLost(peer);
            }
            onSupervisorThread(() -> supervisor.disconnected(peer, System.nanoTime()));
        }
    }

    private Frame.Error notReady(long requestId) {
        return new Frame.Error(requestId, "NOT_READY", "node " + config.id() + " is still joining the system");
    }

    /** Answers the watch at once if its group is already past the epoch, else when it is, or at its deadline. */
    private void onWatch(Connection connection, Frame.TopologyWatch watch) {
        if (!ready()) {
            connection.send(notReady(watch.requestId()));
            return;
        }
        Watch waiting = new Watch(connection, watch.requestId(), new GroupId(watch.service(), Math.max(0, watch.partition())),
                watch.afterEpoch());
        synchronized (watches) {
            if (!waiting.satisfiedBy(latest)) {
                watches.add(waiting);
                long waitMillis = Math.clamp(watch.waitMillis(), 0, WATCH_WAIT_MAX_MILLIS);
                try {
                    scheduler.schedule(() -> expire(waiting), waitMillis, TimeUnit.MILLISECONDS);
                } catch (java.util.concurrent.RejectedExecutionException closing) {
                    watches.remove(waiting);
                }
                return;
            }
        }
        connection.send(new Frame.TopologyResponse(watch.requestId(), statusJson()));
    }

    private void expire(Watch watch) {
        synchronized (watches) {
            if (!watches.remove(watch)) {
                return;
            }
        }
        watch.connection().send(ready() ? new Frame.TopologyResponse(watch.requestId(), statusJson()) : notReady(watch.requestId()));
    }

    /** Answers the watches that this state satisfies. */
    private void answerWatches(ControllerState state) {
        List<Watch> done = new ArrayList<>();
        synchronized (watches) {
            if (watches.isEmpty() || !ready()) {
                return;
            }
            for (java.util.Iterator<Watch> it = watches.iterator(); it.hasNext(); ) {
                Watch watch = it.next();
                if (watch.satisfiedBy(state)) {
                    it.remove();
                    done.add(watch);
                }
            }
        }
        if (!done.isEmpty()) {
            String json = StatusDocument.json(state, controllerVoters());
            for (Watch watch : done) {
                watch.connection().send(new Frame.TopologyResponse(watch.requestId(), json));
            }
        }
    }

    private void onClientRequest(Connection connection, Frame.ClientRequest request) {
        GroupId group = new GroupId(request.service(), Math.max(0, request.partition()));
        if (request.payload().length > config.maxCommandBytes()) {
            connection.send(new Frame.Error(request.requestId(), "TOO_LARGE", "command of " + request.payload().length
                    + " bytes is over the limit of " + config.maxCommandBytes()));
            return;
        }
        GroupAgent agent = agents.get(group);
        if (agent == null && !ready()) {
            connection.send(new Frame.ClientResponse(request.requestId(), new Reply.NotPrimary(0, "")));
            return;
        }
        if (agent == null) {
            ControllerState state = latest;
            GroupConfig groupConfig = state.groups().get(group);
            if (groupConfig == null) {
                connection.send(new Frame.Error(request.requestId(), "UNKNOWN_SERVICE", "unknown service " + request.service()
                        + (state.services().containsKey(request.service()) ? " partition " + request.partition() : "")));
                return;
            }
            connection.send(new Frame.ClientResponse(request.requestId(),
                    new Reply.NotPrimary(groupConfig.epoch(), groupConfig.primary().node())));
            return;
        }
        long requestId = requestIds.incrementAndGet();
        PartitionMetrics metrics = agent.metrics();
        metrics.commandReceived();
        pending.put(requestId, new PendingReply(connection, request.requestId(), metrics, System.nanoTime()));
        if (connection.peerNode() == null && pending.size() >= PENDING_HIGH) {
            // Only a plain client's connection: a node's connection also carries replication.
            notReading.add(connection);
            connection.reading(false);
        }
        agent.clientCommand(new ClientCommand(requestId, request.session(), request.sequence(), request.payload()));
    }

    /** A pending request was answered or forgotten. */
    private void pendingDone() {
        if (!notReading.isEmpty() && pending.size() <= PENDING_LOW) {
            resumeReading();
        }
    }

    private void resumeReading() {
        for (Connection connection : notReading) {
            if (notReading.remove(connection)) {
                connection.reading(true);
            }
        }
    }

    /**
     * Forgets requests no replica answered in {@link #PENDING_EXPIRY_NANOS} (a replica that stopped
     * with commands in its queue never answers them), so that they neither leak nor count against
     * admission; and reads from every client again once few enough are held. Runs every second.
     */
    private void sweepPending() {
        try {
            sweepPendingNow();
        } catch (RuntimeException e) {
            LOG.error("sweeping pending client requests failed: {}", e.toString(), e);
        }
    }

    private void sweepPendingNow() {
        long now = System.nanoTime();
        for (Map.Entry<Long, PendingReply> entry : pending.entrySet()) {
            if (now - entry.getValue().receivedNanos() > PENDING_EXPIRY_NANOS && pending.remove(entry.getKey(), entry.getValue())) {
                entry.getValue().metrics().commandDropped();
                pendingDone();
            }
        }
        if (!notReading.isEmpty() && pending.size() <= PENDING_LOW) {
            resumeReading();
        }
    }

    private final class AgentHost implements LockstepAgent.Host {

        @Override
        public void sendPeer(String node, PeerMessage message) {
            InetSocketAddress address = rpcAddressOf(node);
            if (address != null) {
                transport.send(node, address, new Frame.Peer(message));
            }
        }

        @Override
        public void sendLockstep(String node, LockstepMessage message) {
            InetSocketAddress address = rpcAddressOf(node);
            if (address != null) {
                transport.send(node, address, new Frame.Lockstep(message));
            }
        }

        @Override
        public void reply(long requestId, Reply reply) {
            PendingReply waiting = pending.remove(requestId);
            if (waiting != null) {
                pendingDone();
                waiting.metrics().commandAnswered(System.nanoTime() - waiting.receivedNanos());
                waiting.connection().send(new Frame.ClientResponse(waiting.clientRequestId(), reply));
            }
        }

        @Override
        public void propose(ControlCommand command) {
            if (command instanceof ControlCommand.ReplicaCrashed) {
                // A crashed replica acts on nothing more, so nobody would report it again: retry until answered.
                proposeUntilAnswered(command, CRASH_REPORT_ATTEMPTS);
            } else {
                Node.this.propose(command);
            }
        }

        @Override
        public void propose(ControlCommand command, java.util.function.Consumer<ControlResult> answered) {
            Node.this.propose(command).thenAccept(answered);
        }

        @Override
        public void dumped(GroupId group, Path file, String reason) {
            // Texts are bounded in the controller: a long reason is cut rather than refused.
            String why = reason.length() > 500 ? reason.substring(0, 500) + "..." : reason;
            Node.this.propose(new ControlCommand.OpenIncident(IncidentRules.memberDumped(group, config.id(), config.id() + ":" + file, why),
                    System.currentTimeMillis()));
        }

        @Override
        public void suspect(String node, boolean connectionClosed, String reason) {
            if (node.isEmpty()) {
                return;
            }
            onSupervisorThread(() -> supervisor.suspected(node, connectionClosed, System.nanoTime()));
            toControllers(new Frame.Suspect(config.id(), node, connectionClosed, reason));
        }
    }

    /** Hands an incident update to the availability manager's call home, when the node has one. */
    private void callHome(Event event, Incident incident) {
        AvailabilityManager availability = monitoring == null ? null : monitoring.availability();
        if (availability != null) {
            availability.callHome(event.type().substring("incident-".length()), incident.id(), event.message(),
                    IncidentJson.map(incident), event.time().toEpochMilli());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Fault injection

    /** Injects a fault into this node's replica or lockstep member of a group, for the admin API. */
    FaultInjector.Outcome injectFault(FaultInjector.Kind kind, GroupId group, long parameter) {
        GroupAgent agent = agents.get(group);
        if (agent == null) {
            return new FaultInjector.Outcome(404, "NO_MEMBER",
                    "node " + config.id() + " hosts no member of " + group.service() + " partition " + group.partition());
        }
        if (kind == FaultInjector.Kind.SLOW) {
            agent.slowDown(parameter);
            return FaultInjector.Outcome.injected(parameter == 0 ? "the replica runs at full speed again"
                    : "each command of the replica now waits " + parameter + " ms");
        }
        if (kind == FaultInjector.Kind.CRASH_REPLICA) {
            return awaitInjected(agent.injectCrash(), "the replica crashed; it is dumped and rebuilt", "the replica is leaving");
        }
        long seed = parameter;
        if (!(agent instanceof LockstepAgent member)) {
            return new FaultInjector.Outcome(409, "NOT_LOCKSTEP",
                    group.service() + " is not in mode dmr or tmr: only lockstep members take these faults");
        }
        boolean corrupt = kind == FaultInjector.Kind.CORRUPT;
        Object injected;
        try {
            injected = (switch (kind) {
                case CORRUPT -> member.injectStateCorruption(seed);
                case DIVERGE -> member.injectOutputDivergence().thenApply(ok -> ok ? ok : null);
                case SELF_CHECK -> member.injectSelfCheckFailure().thenApply(ok -> ok ? ok : null);
                case CRASH_REPLICA, SLOW -> throw new IllegalStateException("handled above: " + kind);
            }).get(5, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return new FaultInjector.Outcome(503, "UNAVAILABLE", "the member did not answer: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new FaultInjector.Outcome(503, "UNAVAILABLE", "interrupted");
        }
        if (injected == null) {
            return new FaultInjector.Outcome(409, "NOT_INJECTED", corrupt
                    ? "the member's state is empty, the member is leaving, or its service refused every damaged state tried"
                    : "the member is leaving");
        }
        return FaultInjector.Outcome.injected(corrupt
                ? "one bit of the member's state flipped (bit seed " + injected + ")"
                : kind == FaultInjector.Kind.DIVERGE ? "the member's next output will differ"
                : "the member's next command will fail its self-check");
    }

    private static FaultInjector.Outcome awaitInjected(java.util.concurrent.CompletableFuture<Boolean> injected, String done, String gone) {
        try {
            return injected.get(5, TimeUnit.SECONDS) ? FaultInjector.Outcome.injected(done) : new FaultInjector.Outcome(409, "NOT_INJECTED", gone);
        } catch (TimeoutException | ExecutionException e) {
            return new FaultInjector.Outcome(503, "UNAVAILABLE", "the replica did not answer: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new FaultInjector.Outcome(503, "UNAVAILABLE", "interrupted");
        }
    }

    /**
     * A quick dump of this node's member of a group (see {@link GroupAgent#quickDump}): its state
     * is taken on its agent thread, the text is rendered here, off that thread.
     */
    io.pairstep.runtime.admin.DumpTaker.Outcome quickDump(GroupId group, String reason) {
        GroupAgent agent = agents.get(group);
        GroupAgent.QuickDump taken;
        try {
            taken = agent == null ? null : agent.quickDump().get(30, TimeUnit.SECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return io.pairstep.runtime.admin.DumpTaker.Outcome.failed(503, "UNAVAILABLE", "the member did not give its state: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return io.pairstep.runtime.admin.DumpTaker.Outcome.failed(503, "UNAVAILABLE", "interrupted");
        }
        if (taken == null) {
            return io.pairstep.runtime.admin.DumpTaker.Outcome.failed(404, "NO_MEMBER",
                    "node " + config.id() + " hosts no member of " + group.service() + " partition " + group.partition());
        }
        String role = taken.role() == null ? null : taken.role().name().toLowerCase(java.util.Locale.ROOT);
        io.pairstep.core.control.ServiceSpec spec = state().services().get(group.service());
        DumpFormat.Header header = new DumpFormat.Header(group, config.id(), role, taken.epoch(), taken.index(), reason,
                spec == null ? null : spec.artifact());
        LOG.info("{}: quick dump at index {} in epoch {} ({})", group, taken.index(), taken.epoch(), reason);
        return new io.pairstep.runtime.admin.DumpTaker.Outcome(200, null, "dumped",
                DumpFormat.render(header, java.time.Instant.now(), taken.state(), List.of()));
    }

    // ---------------------------------------------------------------------------------------------
    // Status

    String statusJson() {
        return StatusDocument.json(latest, controllerVoters());
    }

    /** The nodes that vote in the controller now, as this node's controller replica knows them. */
    List<String> controllerVoters() {
        ControllerServer current = controller;
        return current == null ? List.of() : current.voterIds();
    }

    ControllerServer controller() {
        return controller;
    }

    @Override
    public void close() {
        delivery.close();
        if (gateway != null) {
            gateway.close();
        }
        if (monitoring != null) {
            monitoring.close();
        }
        scheduler.shutdownNow();
        for (GroupAgent agent : agents.values()) {
            agent.stop();
        }
        if (watchdog != null) {
            watchdog.close();
        }
        if (controller != null) {
            controller.close();
        }
        if (transport != null) {
            transport.close();
        }
        if (writer != null) {
            writer.close();
        }
        boolean allForced = writer != null;
        for (ReplicaLog log : logs.values()) {
            try {
                log.close();
                allForced &= log.isForced();
            } catch (IOException e) {
                allForced = false;
                LOG.warn("closing a log: {}", e.toString());
            }
        }
        if (allForced) {
            // Every log is forced, so the journal holds nothing they lack; the next start skips reading it.
            try {
                NodeJournal.discard(config.dataDirectory().resolve("journal"));
            } catch (IOException e) {
                LOG.warn("removing the node journal after a clean stop (the next start reads it instead): {}", e.toString());
            }
        }
    }
}
