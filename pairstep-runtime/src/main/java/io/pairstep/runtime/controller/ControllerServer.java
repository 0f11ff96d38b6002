package io.pairstep.runtime.controller;

import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.ratis.RaftConfigKeys;
import io.pairstep.client.TlsFiles;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.netty.NettyConfigKeys;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica of the replicated controller: an embedded Apache Ratis server (Netty transport) whose
 * state machine holds the system's {@link ControllerState}. Every replica applies every committed
 * command, so {@link #current()} on any controller node shows the whole configuration.
 *
 * <p>Threads of its own: one event thread ({@code pairstep-controller-events-ID}) that calls every
 * listener, in order and never concurrently, and up to four submit threads ({@code
 * pairstep-controller-submit-ID-N}) that wait for commits and die after 30 s idle. Ratis adds its
 * own (Netty event loops, log worker, state machine updater, election and appender threads).
 */
public final class ControllerServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ControllerServer.class);

    /** The Raft group of every Pairstep controller; fixed, so that all nodes agree without configuration. */
    public static final RaftGroupId GROUP_ID =
            RaftGroupId.valueOf(UUID.nameUUIDFromBytes("pairstep".getBytes(StandardCharsets.UTF_8)));

    private static final Duration RETRY_PAUSE = Duration.ofMillis(10);
    private static final TimeDuration RATIS_RETRY_PAUSE = TimeDuration.valueOf(RETRY_PAUSE.toMillis(), TimeUnit.MILLISECONDS);
    private static final int SUBMIT_THREADS = 4;
    /** How often a listener asks the leader for the state's version. */
    private static final Duration LISTENER_PROBE_INTERVAL = Duration.ofMillis(200);
    /** How long a listener's state may stay stale before it logs why, and how often it does again. */
    private static final Duration STALE_REPORT_INTERVAL = Duration.ofSeconds(10);
    /**
     * How long a joining listener waits on a leader that keeps saying a reconfiguration is in
     * progress before it asks that leader to step down. Ratis stages a new peer for at most three
     * election timeouts; longer means the leader is stuck in staging (seen under CPU starvation, a
     * livelock Ratis does not leave by itself), and a new leader starts without staging.
     */
    private static final Duration STUCK_RECONFIGURATION = Duration.ofSeconds(5);

    /**
     * Timing of the controller group.
     *
     * @param electionTimeoutMin lower bound of the randomized Raft election timeout; the leader
     *     sends heartbeats at half of it
     * @param electionTimeoutMax upper bound of the election timeout; a leader that has not heard a
     *     majority for this long steps down
     * @param submitTimeout how long {@link #submit} keeps trying through leader changes
     * @param snapshotThreshold applied entries between two automatic snapshots
     */
    public record Settings(Duration electionTimeoutMin, Duration electionTimeoutMax, Duration submitTimeout, long snapshotThreshold) {

        /** 150 to 300 ms elections, 10 s to submit, a snapshot every 1000 entries. */
        public static final Settings DEFAULTS =
                new Settings(Duration.ofMillis(150), Duration.ofMillis(300), Duration.ofSeconds(10), 1000);

        public Settings {
            Objects.requireNonNull(electionTimeoutMin, "electionTimeoutMin");
            Objects.requireNonNull(electionTimeoutMax, "electionTimeoutMax");
            Objects.requireNonNull(submitTimeout, "submitTimeout");
            if (electionTimeoutMin.isNegative() || electionTimeoutMin.isZero() || electionTimeoutMax.compareTo(electionTimeoutMin) < 0) {
                throw new IllegalArgumentException(
                        "election timeouts must satisfy 0 < min <= max, were " + electionTimeoutMin + " and " + electionTimeoutMax);
            }
            if (submitTimeout.isNegative() || submitTimeout.isZero()) {
                throw new IllegalArgumentException("submit timeout must be positive, was " + submitTimeout);
            }
            if (snapshotThreshold < 1) {
                throw new IllegalArgumentException("snapshot threshold must be at least 1, was " + snapshotThreshold);
            }
        }

        public Settings withSubmitTimeout(Duration value) {
            return new Settings(electionTimeoutMin, electionTimeoutMax, value, snapshotThreshold);
        }

        public Settings withSnapshotThreshold(long value) {
            return new Settings(electionTimeoutMin, electionTimeoutMax, submitTimeout, value);
        }
    }

    private final String nodeId;
    private final RaftPeerId peerId;
    /** The voters this replica was configured with (the seeds): node id to Raft {@code host:port}. */
    private final Map<String, String> peers;
    /** The {@code host:port} of this replica's Raft endpoint. */
    private final String selfAddress;
    /** The group this replica starts with; decided by {@link #start()}. */
    private volatile RaftGroup group;
    /**
     * The voting replicas as this replica knows them: decided at {@link #start()}, then followed
     * through every configuration the group commits (a voter replaced, see {@link #replaceVoter}).
     */
    private volatile List<RaftPeer> voters;
    /** This replica as a listener when it started as one, or null when it started as a voter. */
    private volatile RaftPeer listener;
    /** The listeners of the last configuration this replica applied. */
    private volatile List<RaftPeer> listenerPeers = List.of();
    /**
     * For a listener: a moment (System.nanoTime) at which the leader's state was no newer than what
     * this replica has applied since; 0 before the first.
     */
    private volatile long lastLeaderAnswerNanos;
    /** A leader version this listener has not applied yet, and when the leader had it; guarded by this. */
    private long awaitedVersion = Long.MAX_VALUE;
    private long awaitedSinceNanos;
    private final Path storageDir;
    private final Settings settings;
    private final RaftProperties properties;
    /** The TLS configuration of Ratis's gRPC transport, when the node speaks TLS; empty otherwise. */
    private final Parameters parameters;
    private final ControllerStateMachine stateMachine;
    private final ExecutorService events;
    private final ThreadPoolExecutor submitters;
    private final List<Consumer<ControllerState>> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Boolean>> leadershipListeners = new CopyOnWriteArrayList<>();
    /** The deadline (System.nanoTime) of the submit running on this thread, read by the Ratis retry policy. */
    private final ThreadLocal<Long> submitDeadline = new ThreadLocal<>();
    private final Object lifecycle = new Object();

    private volatile RaftServer server;
    private volatile RaftClient client;
    /** Set under the state machine's lock, so that state events are posted in state order. */
    private volatile boolean started;
    private volatile boolean closed;
    /** The leadership last told to the leadership listeners; touched on the event thread only. */
    private boolean leadershipReported;

    /**
     * @param nodeId this node's id, one of the keys of {@code peers}
     * @param peers every controller replica: node id to the {@code host:port} of its Raft endpoint
     * @param storageDir this replica's Raft log and snapshots, such as {@code DATA/controller}
     */
    public ControllerServer(String nodeId, Map<String, String> peers, Path storageDir) {
        this(nodeId, peers, storageDir, Settings.DEFAULTS);
    }

    public ControllerServer(String nodeId, Map<String, String> peers, Path storageDir, Settings settings) {
        this(nodeId, voterAddress(nodeId, peers), peers, storageDir, settings);
    }

    private static String voterAddress(String nodeId, Map<String, String> peers) {
        String address = Objects.requireNonNull(peers, "peers").get(nodeId);
        if (address == null) {
            throw new IllegalArgumentException("node " + nodeId + " is not one of the controller peers " + peers.keySet());
        }
        return address;
    }

    /**
     * A controller replica that votes when {@code nodeId} is one of {@code peers}, else a listener:
     * it asks the voters to add it, then receives and applies the same log without voting, so a
     * node beyond the first three sees every state in order like the voters do. {@code peers} are
     * the seeds: at {@link #start()} the group's own configuration, when a replica answers, decides
     * instead, since a vote may have moved ({@link #replaceVoter}).
     *
     * @param selfAddress the {@code host:port} of this replica's Raft endpoint
     */
    public ControllerServer(String nodeId, String selfAddress, Map<String, String> peers, Path storageDir, Settings settings) {
        this(nodeId, selfAddress, peers, storageDir, settings, null);
    }

    /**
     * As above; with {@code tls}, the controller speaks Ratis over gRPC with mutual TLS instead of
     * plain Netty (Ratis's Netty transport has no TLS): a replica whose certificate the system's
     * authority did not sign can neither vote nor follow the log nor submit a command, so it cannot
     * register as a member; nor can one the authority signed for a client, or for another node
     * than the one it says it is ({@link CertificateNames}).
     */
    public ControllerServer(String nodeId, String selfAddress, Map<String, String> peers, Path storageDir, Settings settings,
            TlsFiles tls) {
        this.parameters = new Parameters();
        if (tls != null) {
            GrpcTlsConfig config = new GrpcTlsConfig(tls.key().toFile(), tls.certificate().toFile(), tls.authority().toFile(), true);
            GrpcConfigKeys.Server.setTlsConf(parameters, config);
            GrpcConfigKeys.Client.setTlsConf(parameters, config);
            GrpcConfigKeys.Admin.setTlsConf(parameters, config);
            GrpcConfigKeys.TLS.setConf(parameters, config);
            // Any certificate of the authority passes the handshake; this checks that only a node's
            // certificate speaks to the controller, and only for the node it names.
            CertificateNames names = new CertificateNames();
            GrpcConfigKeys.Server.setServicesCustomizer(parameters, (builder, types) -> builder.intercept(names));
        }
        this.nodeId = Objects.requireNonNull(nodeId, "nodeId");
        this.storageDir = Objects.requireNonNull(storageDir, "storageDir");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.peers = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(peers, "peers")));
        parseAddress(nodeId, Objects.requireNonNull(selfAddress, "selfAddress"));
        this.selfAddress = selfAddress;
        this.peers.forEach(ControllerServer::parseAddress);
        this.peerId = RaftPeerId.valueOf(nodeId);
        useVoters(this.peers);
        this.properties = serverProperties(selfAddress, storageDir, settings, tls != null);
        this.stateMachine = new ControllerStateMachine(new StateMachineEvents());
        this.events = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                threads("pairstep-controller-events-" + nodeId, false));
        this.submitters = new ThreadPoolExecutor(SUBMIT_THREADS, SUBMIT_THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                threads("pairstep-controller-submit-" + nodeId + "-", true));
        this.submitters.allowCoreThreadTimeOut(true);
    }

    /** The Ratis settings: Netty, fast elections on a LAN, a durable segmented log, automatic snapshots. */
    private static RaftProperties serverProperties(String address, Path storageDir, Settings settings, boolean tls) {
        RaftProperties p = new RaftProperties();
        String[] hostPort = parseAddress("this node", address);
        if (tls) {
            // One port for server, client and admin requests, as with Netty.
            RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
            GrpcConfigKeys.Server.setHost(p, hostPort[0]);
            GrpcConfigKeys.Server.setPort(p, Integer.parseInt(hostPort[1]));
        } else {
            RaftConfigKeys.Rpc.setType(p, SupportedRpcType.NETTY);
            NettyConfigKeys.Server.setHost(p, hostPort[0]);
            NettyConfigKeys.Server.setPort(p, Integer.parseInt(hostPort[1]));
        }
        RaftServerConfigKeys.setStorageDir(p, List.of(storageDir.toFile()));

        TimeDuration min = millis(settings.electionTimeoutMin());
        TimeDuration max = millis(settings.electionTimeoutMax());
        RaftServerConfigKeys.Rpc.setTimeoutMin(p, min);
        RaftServerConfigKeys.Rpc.setTimeoutMax(p, max);
        // The first election waits longer: nodes start one after another and their JVMs are slow
        // while they warm up, and a leader that flaps at start-up has been seen to wedge Ratis.
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, TimeDuration.valueOf(Math.max(1000, settings.electionTimeoutMin().toMillis()), TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, TimeDuration.valueOf(Math.max(1500, settings.electionTimeoutMax().toMillis()), TimeUnit.MILLISECONDS));
        // Server-to-server calls; a dead peer is noticed through the election timeout anyway.
        RaftServerConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(1, TimeUnit.SECONDS));
        RaftServerConfigKeys.Rpc.setSlownessTimeout(p, TimeDuration.valueOf(5, TimeUnit.SECONDS));
        // A leader steps down when it has not heard a majority within the election timeout (Ratis
        // does that by itself); after such a step-down, or a JVM pause this long, it stands aside
        // from elections for 2 s instead of the default 10 s.
        RaftServerConfigKeys.LeaderElection.setLeaderStepDownWaitTime(p, TimeDuration.valueOf(2, TimeUnit.SECONDS));
        RaftServerConfigKeys.LeaderElection.setPreVote(p, true);
        // Ratis closes a server after a JVM pause longer than this; nobody would restart it here.
        RaftServerConfigKeys.setCloseThreshold(p, TimeDuration.valueOf(1, TimeUnit.DAYS));

        RaftServerConfigKeys.Log.setUseMemory(p, false);
        RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf("1MB"));
        RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf("64KB"));
        RaftServerConfigKeys.Log.setSegmentCacheNumMax(p, 2);

        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, settings.snapshotThreshold());
        RaftServerConfigKeys.Snapshot.setCreationGap(p, Math.min(settings.snapshotThreshold(), 1024));
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);

        // Short: after the leader is paused, a submit waits this long before it tries a new leader.
        RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(500, TimeUnit.MILLISECONDS));
        return p;
    }

    private static TimeDuration millis(Duration duration) {
        return TimeDuration.valueOf(duration.toMillis(), TimeUnit.MILLISECONDS);
    }

    private static String[] parseAddress(String id, String address) {
        int colon = address == null ? -1 : address.lastIndexOf(':');
        if (colon <= 0 || colon == address.length() - 1) {
            throw new IllegalArgumentException("controller peer " + id + " needs a host:port address, was \"" + address + "\"");
        }
        String port = address.substring(colon + 1);
        try {
            int value = Integer.parseInt(port);
            if (value < 1 || value > 65535) {
                throw new NumberFormatException();
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("controller peer " + id + " has an invalid port in \"" + address + "\"");
        }
        return new String[] {address.substring(0, colon), port};
    }

    private static ThreadFactory threads(String name, boolean numbered) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new Thread(runnable, numbered ? name + count.incrementAndGet() : name);
            thread.setDaemon(true);
            return thread;
        };
    }

    public String nodeId() {
        return nodeId;
    }

    /** The voting controller replicas as this replica knows them now: node id to Raft {@code host:port}. */
    public Map<String, String> peers() {
        return addresses(voters);
    }

    /** How many voters the controller keeps: as many as the seeds it was configured with. */
    public int votersWanted() {
        return peers.size();
    }

    /** The ids of the nodes that vote in the controller now, as this replica knows them, sorted. */
    public List<String> voterIds() {
        return voters.stream().map(p -> p.getId().toString()).sorted().toList();
    }

    /**
     * The ids of the nodes that follow the controller's log as listeners, as of the last
     * configuration this replica applied, sorted: the candidates to take over a vote.
     */
    public List<String> listenerIds() {
        return listenerPeers.stream().map(p -> p.getId().toString()).sorted().toList();
    }

    private static Map<String, String> addresses(List<RaftPeer> raftPeers) {
        Map<String, String> map = new LinkedHashMap<>();
        raftPeers.forEach(p -> map.put(p.getId().toString(), p.getAddress()));
        return Collections.unmodifiableMap(map);
    }

    /** Sets the voters this replica starts with; it votes when it is one of them, else it listens. */
    private void useVoters(Map<String, String> voterAddresses) {
        List<RaftPeer> raftPeers = new ArrayList<>();
        voterAddresses.forEach((id, address) -> raftPeers.add(RaftPeer.newBuilder().setId(id).setAddress(address).build()));
        this.voters = List.copyOf(raftPeers);
        this.listener = voterAddresses.containsKey(nodeId)
                ? null
                : RaftPeer.newBuilder().setId(nodeId).setAddress(selfAddress)
                        .setStartupRole(org.apache.ratis.proto.RaftProtos.RaftPeerRole.LISTENER).build();
        if (listener != null) {
            raftPeers.add(listener);
        }
        this.group = RaftGroup.valueOf(GROUP_ID, raftPeers);
    }

    /**
     * The file next to the Raft storage ({@code DATA/controller-voters}) that holds the voters of
     * the last configuration this replica applied, one {@code id=host:port} a line. At the next
     * start it says whom to ask and, when nobody answers (the whole system restarts), who votes.
     */
    private Path votersFile() {
        return storageDir.resolveSibling(storageDir.getFileName() + "-voters");
    }

    private Map<String, String> readVotersFile() {
        Path file = votersFile();
        if (!Files.exists(file)) {
            return null;
        }
        try {
            Map<String, String> map = new LinkedHashMap<>();
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String text = line.strip();
                int equals = text.indexOf('=');
                if (text.isEmpty() || text.startsWith("#")) {
                    continue;
                }
                if (equals <= 0) {
                    throw new IllegalStateException("controller voters file " + file + " has a bad line \"" + line
                            + "\" (expected id=host:port)");
                }
                String id = text.substring(0, equals).strip();
                String address = text.substring(equals + 1).strip();
                parseAddress(id, address);
                map.put(id, address);
            }
            return map.isEmpty() ? null : map;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read the controller voters file " + file, e);
        }
    }

    private void writeVotersFile(List<RaftPeer> raftPeers) {
        Path file = votersFile();
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        StringBuilder text = new StringBuilder("# The controller's voters as node ").append(nodeId).append(" last saw them.\n");
        raftPeers.forEach(p -> text.append(p.getId()).append('=').append(p.getAddress()).append('\n'));
        try {
            Files.createDirectories(file.getParent());
            Files.writeString(temporary, text, StandardCharsets.UTF_8);
            Files.move(temporary, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("controller {}: cannot write {}: {}", nodeId, file, e.toString());
        }
    }

    /**
     * Decides, before the Raft server starts, whether this replica votes: the controller group's
     * own configuration decides, asked of the voters this replica last saw and of the seeds (one
     * pass; a seed that is gone only costs a refused connection). When nobody answers, the system
     * is starting (or restarting as a whole): the voters this replica last saw vote, or the seeds
     * on a new data directory.
     *
     * @throws IllegalStateException when this replica voted once and the group has since removed it
     */
    private void decideVoters() {
        Map<String, String> lastSeen = readVotersFile();
        Map<String, String> believed = lastSeen != null ? lastSeen : peers;
        Map<String, String> ask = new LinkedHashMap<>(believed);
        peers.forEach(ask::putIfAbsent);
        ask.remove(nodeId);
        org.apache.ratis.proto.RaftProtos.RaftConfigurationProto conf = askConfiguration(ask);
        if (conf == null) {
            useVoters(believed);
            LOG.info("controller {}: no controller replica answered; starting with the voters {} ({})", nodeId, believed.keySet(),
                    lastSeen != null ? "last seen by this node" : "the seeds");
            return;
        }
        List<RaftPeer> servers = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getPeersList());
        List<RaftPeer> listening = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getListenersList());
        Map<String, String> current = addresses(servers);
        boolean listed = current.containsKey(nodeId) || listening.stream().anyMatch(p -> p.getId().equals(peerId));
        boolean hasStorage = Files.isDirectory(storageDir.resolve(GROUP_ID.getUuid().toString()));
        if (!listed && hasStorage && believed.containsKey(nodeId)) {
            throw removedVoter(current.keySet());
        }
        this.listenerPeers = List.copyOf(listening);
        useVoters(current);
    }

    private IllegalStateException removedVoter(java.util.Collection<String> current) {
        return new IllegalStateException("node " + nodeId + " no longer votes in the controller: its vote moved to another node"
                + " (the voters are now " + String.join(", ", current) + "), and its data directory holds the old"
                + " controller log; start it on an empty data directory to join as a new node");
    }

    /**
     * For a replica that started as a voter because no other replica answered at its start: once
     * the group has a leader again, checks with it that the group still lists this replica, and
     * throws the same error as {@link #start()} when it was removed meanwhile (its vote moved while
     * it was down, and every other voter was down too when it started). Best effort: when no
     * replica tells its configuration, it returns.
     */
    public void confirmListed() {
        RaftClient raftClient = client;
        if (raftClient == null || listener != null) {
            return;
        }
        List<RaftPeerId> ask = new ArrayList<>();
        RaftPeerId leader = raftClient.getLeaderId();
        if (leader != null && !leader.equals(peerId)) {
            ask.add(leader);
        }
        voters.stream().map(RaftPeer::getId).filter(id -> !id.equals(peerId) && !ask.contains(id)).forEach(ask::add);
        for (RaftPeerId asked : ask) {
            try {
                org.apache.ratis.proto.RaftProtos.RaftConfigurationProto conf =
                        raftClient.getGroupManagementApi(asked).info(GROUP_ID).getConf().orElse(null);
                if (conf == null || conf.getPeersCount() == 0) {
                    continue;
                }
                List<RaftPeer> servers = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getPeersList());
                List<RaftPeer> listening = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getListenersList());
                if (find(servers, peerId) == null && find(listening, peerId) == null) {
                    throw removedVoter(addresses(servers).keySet());
                }
                return;
            } catch (IOException | RuntimeException e) {
                if (e instanceof IllegalStateException) {
                    throw (IllegalStateException) e;
                }
                LOG.debug("controller {}: {} did not tell the configuration: {}", nodeId, asked, describe(e));
            }
        }
    }

    /** The configuration of the controller group from the first of {@code candidates} that tells it, or null. */
    private org.apache.ratis.proto.RaftProtos.RaftConfigurationProto askConfiguration(Map<String, String> candidates) {
        if (candidates.isEmpty()) {
            return null;
        }
        List<RaftPeer> raftPeers = new ArrayList<>();
        candidates.forEach((id, address) -> raftPeers.add(RaftPeer.newBuilder().setId(id).setAddress(address).build()));
        try (RaftClient probe = RaftClient.newBuilder()
                .setRaftGroup(RaftGroup.valueOf(GROUP_ID, raftPeers))
                .setProperties(properties)
                .setParameters(parameters)
                .setRetryPolicy(org.apache.ratis.retry.RetryPolicies.noRetry())
                .build()) {
            for (RaftPeer candidate : raftPeers) {
                try {
                    org.apache.ratis.proto.RaftProtos.RaftConfigurationProto conf =
                            probe.getGroupManagementApi(candidate.getId()).info(GROUP_ID).getConf().orElse(null);
                    if (conf != null && conf.getPeersCount() > 0) {
                        return conf;
                    }
                } catch (IOException | RuntimeException e) {
                    LOG.debug("controller {}: {} did not tell the configuration: {}", nodeId, candidate.getId(), describe(e));
                }
            }
        } catch (IOException e) {
            LOG.debug("controller {}: closing the probe client failed: {}", nodeId, describe(e));
        }
        return null;
    }

    /**
     * Starts the Raft server, recovering the state from the latest snapshot and the log in the
     * storage directory, then tells the listeners the recovered state. A server starts once; to
     * start again after {@link #close()} (or a failed start), make a new one on the same directory.
     */
    public void start() throws IOException {
        synchronized (lifecycle) {
            if (closed) {
                throw new IllegalStateException("controller server " + nodeId + " is closed");
            }
            if (server != null) {
                throw new IllegalStateException("controller server " + nodeId + " is already started");
            }
            Files.createDirectories(storageDir);
            decideVoters();
            writeVotersFile(voters);
            RaftServer raftServer = RaftServer.newBuilder()
                    .setServerId(peerId)
                    .setGroup(group)
                    .setProperties(properties)
                    .setParameters(parameters)
                    .setStateMachine(stateMachine)
                    .setOption(RaftStorage.StartupOption.RECOVER)
                    .build();
            server = raftServer;
            try {
                raftServer.start();
                client = RaftClient.newBuilder()
                        .setRaftGroup(RaftGroup.valueOf(GROUP_ID, voters))
                        .setProperties(properties)
                        .setParameters(parameters)
                        .setRetryPolicy(this::retryDecision)
                        .build();
            } catch (IOException | RuntimeException e) {
                closed = true;
                closeQuietly(raftServer);
                submitters.shutdownNow();
                events.shutdown();
                throw e;
            }
            if (listener != null) {
                Thread joining = new Thread(this::joinAsListener, "pairstep-controller-join-" + nodeId);
                joining.setDaemon(true);
                joining.start();
            }
            stateMachine.copyState(state -> {
                started = true;
                List<Consumer<ControllerState>> targets = List.copyOf(listeners);
                post(() -> deliver(targets, state));
                return null;
            });
            LOG.info("controller {} started at {} as a {} with voters {}", nodeId, selfAddress,
                    listener == null ? "voter" : "listener", peers());
        }
    }

    /**
     * Asks the voters, until they agree, to add this replica to the group as a listener; then keeps
     * asking the leader for the state's version, which is how a listener knows its leader answers
     * (a listener does not track the leader's heartbeats the way a voter does).
     */
    private void joinAsListener() {
        join();
        Message probe = Message.valueOf(ControllerStateMachine.VERSION_QUERY);
        long lastReportNanos = System.nanoTime();
        String lastProblem = "none";
        while (!closed) {
            try {
                long askedAt = System.nanoTime();
                RaftClientReply reply = client.io().sendReadOnly(probe);
                if (reply.isSuccess()) {
                    leaderVersionSeen(Long.parseLong(reply.getMessage().getContent().toStringUtf8()), askedAt);
                } else {
                    lastProblem = describe(reply.getException());
                }
            } catch (IOException | RuntimeException e) {
                lastProblem = describe(e);
                LOG.debug("controller {}: the leader did not answer: {}", nodeId, lastProblem);
            }
            long now = System.nanoTime();
            if (leaderSilenceMillis() > STALE_REPORT_INTERVAL.toMillis() && now - lastReportNanos > STALE_REPORT_INTERVAL.toNanos()) {
                // A node that stays "still joining" says why (a restarted listener once stayed so for
                // 3 minutes in a clean-clone run, and its log said nothing).
                lastReportNanos = now;
                long mine = stateMachine.copyState(ControllerState::version);
                long awaited;
                synchronized (this) {
                    awaited = awaitedVersion;
                }
                LOG.warn("controller {}: this listener's state (version {}) is not known to be current: {}; last problem asking the leader: {}",
                        nodeId, mine, awaited == Long.MAX_VALUE ? "no answer from the leader " + client.getLeaderId()
                                + (lastLeaderAnswerNanos == 0 ? " since this replica joined" : " for " + leaderSilenceMillis() + " ms")
                                : "waiting since " + TimeUnit.NANOSECONDS.toMillis(now - awaitedSinceNanosSnapshot()) + " ms for version " + awaited
                                        + " from the leader " + client.getLeaderId(), lastProblem);
            }
            try {
                Thread.sleep(LISTENER_PROBE_INTERVAL.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Adds this replica to the listeners of the current configuration, read from a voter. The
     * change is compare-and-set: if the configuration moved meanwhile (another node joined), it is
     * read again, so that no join undoes another.
     */
    private void join() {
        String lastError = null;
        int attempts = 0;
        // When the leader first said a reconfiguration was in progress (System.nanoTime()), or 0;
        // cleared when the listeners change, since then the group moves.
        long reconfiguringSince = 0;
        List<RaftPeer> listenersSeen = List.of();
        while (!closed) {
            // The leader's configuration is the one the compare-and-set is checked against; a
            // follower's may lag behind it, so ask the leader when the client knows it.
            RaftPeerId leader = client.getLeaderId();
            List<RaftPeer> known = voters;
            RaftPeerId asked = leader != null && attempts % 2 == 0 ? leader : known.get(attempts % known.size()).getId();
            attempts++;
            try {
                org.apache.ratis.proto.RaftProtos.RaftConfigurationProto conf =
                        client.getGroupManagementApi(asked).info(GROUP_ID).getConf().orElse(null);
                if (conf != null) {
                    List<RaftPeer> servers = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getPeersList());
                    List<RaftPeer> listeners = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getListenersList());
                    if (listeners.stream().anyMatch(p -> p.getId().equals(peerId))) {
                        LOG.info("controller {} is a listener of the controller group", nodeId);
                        return;
                    }
                    if (servers.stream().anyMatch(p -> p.getId().equals(peerId))) {
                        LOG.info("controller {} votes in the controller group", nodeId); // promoted meanwhile
                        return;
                    }
                    if (!listeners.equals(listenersSeen)) {
                        listenersSeen = listeners; // another node joined: the group is not stuck
                        reconfiguringSince = 0;
                    }
                    List<RaftPeer> withMe = new ArrayList<>(listeners);
                    withMe.add(listener);
                    RaftClientReply reply = client.admin().setConfiguration(SetConfigurationRequest.Arguments.newBuilder()
                            .setServersInNewConf(servers)
                            .setListenersInNewConf(withMe)
                            .setServersInCurrentConf(servers)
                            .setListenersInCurrentConf(listeners)
                            .setMode(SetConfigurationRequest.Mode.COMPARE_AND_SET)
                            .build());
                    if (reply.isSuccess()) {
                        continue; // read it back: done once the configuration lists this replica
                    }
                    lastError = describe(reply.getException());
                    if (reconfigurationInProgress(reply.getException())) {
                        reconfiguringSince = since(reconfiguringSince);
                    }
                } else {
                    lastError = asked + " did not tell its configuration";
                }
            } catch (IOException | RuntimeException e) {
                lastError = describe(e);
                if (reconfigurationInProgress(e)) {
                    reconfiguringSince = since(reconfiguringSince);
                }
            }
            if (reconfiguringSince != 0 && System.nanoTime() - reconfiguringSince > STUCK_RECONFIGURATION.toNanos()) {
                stepDownStuckLeader(lastError);
                reconfiguringSince = 0;
            }
            if (attempts % 25 == 0) {
                LOG.info("controller {} is not in the controller group yet ({} attempts; last: {})", nodeId, attempts, lastError);
            }
            try {
                // Jittered, so that nodes joining together do not collide on every round.
                Thread.sleep(100 + java.util.concurrent.ThreadLocalRandom.current().nextLong(300));
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private static long since(long startedNanos) {
        return startedNanos != 0 ? startedNanos : System.nanoTime();
    }

    private static boolean reconfigurationInProgress(Throwable error) {
        for (Throwable e = error; e != null; e = e.getCause()) {
            if (e instanceof org.apache.ratis.protocol.exceptions.ReconfigurationInProgressException) {
                return true;
            }
        }
        return false;
    }

    /**
     * The leader has refused every join for {@link #STUCK_RECONFIGURATION} because it is still
     * adding a peer: ask it to step down, which drops the staging; the next leader holds only
     * committed configurations and takes the join.
     */
    private void stepDownStuckLeader(String lastError) {
        RaftPeerId leader = client.getLeaderId();
        if (leader == null) {
            return;
        }
        LOG.warn("controller {}: leader {} has been reconfiguring for more than {} ms ({}); asking it to step down",
                nodeId, leader, STUCK_RECONFIGURATION.toMillis(), lastError);
        try {
            RaftClientReply reply = client.admin().transferLeadership(null, leader, 3000);
            if (!reply.isSuccess()) {
                LOG.info("controller {}: leader {} did not step down: {}", nodeId, leader, describe(reply.getException()));
            }
        } catch (IOException | RuntimeException e) {
            LOG.info("controller {}: leader {} did not step down: {}", nodeId, leader, describe(e));
        }
    }

    /**
     * The leader had {@code version} at {@code askedAtNanos} or later. Once this replica has applied
     * that version, its state is known to be as new as the leader's was then.
     */
    private void leaderVersionSeen(long version, long askedAtNanos) {
        // Read outside this object's lock: the state machine calls applied() holding its own lock.
        long mine = stateMachine.copyState(ControllerState::version);
        synchronized (this) {
            leaderVersionSeen(version, askedAtNanos, mine);
        }
    }

    private void leaderVersionSeen(long version, long askedAtNanos, long mine) {
        if (mine >= version) {
            lastLeaderAnswerNanos = askedAtNanos;
            awaitedVersion = Long.MAX_VALUE;
        } else if (awaitedVersion == Long.MAX_VALUE) {
            awaitedVersion = version;
            awaitedSinceNanos = askedAtNanos;
        }
    }

    private synchronized long awaitedSinceNanosSnapshot() {
        return awaitedSinceNanos;
    }

    /** A listener applied {@code version}: if the leader had no more when last asked, the state is fresh from then. */
    private synchronized void applied(long version) {
        if (version >= awaitedVersion) {
            lastLeaderAnswerNanos = awaitedSinceNanos;
            awaitedVersion = Long.MAX_VALUE;
        }
    }

    /** True when this replica votes now (it may have been promoted from listener); false for a listener. */
    public boolean isVoter() {
        DivisionInfo info = info();
        if (info != null) {
            return info.getCurrentRole() != org.apache.ratis.proto.RaftProtos.RaftPeerRole.LISTENER;
        }
        return listener == null;
    }

    /**
     * Commits a command through the controller group and returns what the state machine made of
     * it. Any replica may be asked: the client finds the leader and follows it through elections
     * until {@link Settings#submitTimeout()}, then fails with a {@link ControllerUnavailableException}.
     */
    public CompletableFuture<ControlResult> submit(ControlCommand command) {
        Objects.requireNonNull(command, "command");
        byte[] bytes;
        try {
            bytes = ControlJson.encodeCommand(command);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (client == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("controller server " + nodeId + " is not started"));
        }
        SubmitTask task = new SubmitTask(command, bytes);
        try {
            submitters.execute(task);
        } catch (RejectedExecutionException e) {
            task.fail(closedError(command, e));
        }
        return task.future;
    }

    private final class SubmitTask implements Runnable {
        final CompletableFuture<ControlResult> future = new CompletableFuture<>();
        final ControlCommand command;
        final byte[] bytes;

        SubmitTask(ControlCommand command, byte[] bytes) {
            this.command = command;
            this.bytes = bytes;
        }

        @Override
        public void run() {
            try {
                future.complete(commit(command, bytes));
            } catch (Throwable t) {
                future.completeExceptionally(t);
            }
        }

        void fail(Throwable t) {
            future.completeExceptionally(t);
        }
    }

    private ControlResult commit(ControlCommand command, byte[] bytes) {
        String type = ControlJson.typeOf(command);
        long startNanos = System.nanoTime();
        long deadline = startNanos + settings.submitTimeout().toNanos();
        Message message = Message.valueOf(UnsafeByteOperations.unsafeWrap(bytes));
        Throwable lastError = null;
        int attempts = 0;
        submitDeadline.set(deadline);
        try {
            while (!closed) {
                attempts++;
                try {
                    // Within one send, Ratis retries with the same call id, so its retry cache
                    // keeps a command from being applied twice.
                    RaftClientReply reply = client.io().send(message);
                    if (reply.isSuccess()) {
                        return ControlJson.decodeResult(reply.getMessage().getContent().toByteArray());
                    }
                    lastError = reply.getException();
                } catch (StateMachineException | GroupMismatchException e) {
                    throw new ControllerUnavailableException("the controller group refused " + type + ": " + e.getMessage(), e);
                } catch (IOException | RuntimeException e) {
                    lastError = e;
                }
                if (closed || System.nanoTime() + RETRY_PAUSE.toNanos() >= deadline) {
                    break;
                }
                try {
                    Thread.sleep(RETRY_PAUSE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        } finally {
            submitDeadline.remove();
        }
        if (closed) {
            throw closedError(command, lastError);
        }
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
        throw new ControllerUnavailableException("could not commit " + type + " to the controller group " + peers()
                + " within " + elapsedMillis + " ms (" + attempts + (attempts == 1 ? " attempt" : " attempts")
                + "): no leader with a majority was reachable; last error: " + describe(lastError), lastError);
    }

    /** The Ratis client's retry decision: retry every 10 ms until the running submit's deadline; a takeover waits on it. */
    private RetryPolicy.Action retryDecision(RetryPolicy.Event event) {
        Long deadline = submitDeadline.get();
        if (closed || deadline == null || System.nanoTime() + RETRY_PAUSE.toNanos() >= deadline) {
            return RetryPolicy.NO_RETRY_ACTION;
        }
        return () -> RATIS_RETRY_PAUSE;
    }

    private ControllerUnavailableException closedError(ControlCommand command, Throwable cause) {
        return new ControllerUnavailableException(
                "controller server " + nodeId + " was closed before " + ControlJson.typeOf(command) + " was committed", cause);
    }

    private static String describe(Throwable error) {
        if (error == null) {
            return "none";
        }
        String message = error.getMessage();
        String text = error.getClass().getSimpleName() + (message == null ? "" : ": " + message);
        // A refused TLS handshake hides under gRPC's "io exception": name it, it is the operator's to fix.
        Throwable root = error;
        for (Throwable cause = error.getCause(); cause != null && cause != root; cause = cause.getCause()) {
            if (cause instanceof javax.net.ssl.SSLException) {
                return "TLS refused (is this node's certificate signed by the system's authority?): " + cause.getMessage();
            }
            root = cause;
        }
        // A Ratis client that gave up retrying says only how often it tried: name what it kept getting.
        return root == error ? text : text + " (cause: " + root.getClass().getSimpleName()
                + (root.getMessage() == null ? "" : ": " + root.getMessage()) + ")";
    }

    /** A consistent copy of the latest state applied on this replica. */
    public ControllerState current() {
        return stateMachine.copyState(state -> state);
    }

    /**
     * Adds a listener for the state. It is called on the event thread, with its own copy, after
     * every applied command that changed the state, in order and never concurrently with any other
     * listener. It first hears the state recovered at {@link #start()}; a listener added after the
     * start hears the current state at once.
     */
    public void addListener(Consumer<ControllerState> listener) {
        Objects.requireNonNull(listener, "listener");
        stateMachine.copyState(state -> {
            listeners.add(listener);
            if (started) {
                post(() -> deliver(List.of(listener), state));
            }
            return null;
        });
    }

    /**
     * Adds a listener told {@code true} when this replica becomes the leader and {@code false} when
     * it stops being the leader (or closes). Called on the event thread, like state listeners.
     */
    public void addLeadershipListener(Consumer<Boolean> listener) {
        leadershipListeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * Asks the controller group to hand the leadership to {@code node}: Ratis waits until that
     * replica's log has caught up, then has it start an election. Completes with true once the lead
     * moved, false when it did not within {@code timeout}.
     */
    public CompletableFuture<Boolean> transferLeadership(String node, Duration timeout) {
        RaftClient raftClient = client;
        if (raftClient == null || !peers().containsKey(node)) {
            return CompletableFuture.completedFuture(false);
        }
        return CompletableFuture.supplyAsync(() -> {
            try {
                return raftClient.admin().transferLeadership(RaftPeerId.valueOf(node), timeout.toMillis()).isSuccess();
            } catch (IOException | RuntimeException e) {
                LOG.info("controller {}: leadership did not move to {}: {}", nodeId, node, describe(e));
                return false;
            }
        }, submitters);
    }

    /**
     * Moves the vote of {@code old} to the listener {@code replacement}, one configuration change
     * at a time so that the group never loses its majority: first {@code replacement} becomes a
     * voter (the group briefly has one voter more), then {@code old} leaves the group (after the
     * leadership moved away from it, if it led). Each change is compare-and-set against the
     * leader's configuration and Ratis commits it through joint consensus, so a concurrent join
     * is not undone, and a call that failed half-way can be repeated: it resumes where the group is.
     * Completes once the group's configuration lists {@code replacement} and not {@code old} as
     * voters; fails with a {@link ControllerUnavailableException} when that did not happen within
     * {@code timeout}, or an {@link IllegalArgumentException} when {@code replacement} neither
     * listens nor votes, or votes already while the group has no more voters than the seeds (so
     * that two removals racing for the same listener cannot shrink the group).
     */
    public CompletableFuture<Void> replaceVoter(String old, String replacement, Duration timeout) {
        Objects.requireNonNull(old, "old");
        Objects.requireNonNull(replacement, "replacement");
        if (old.equals(replacement)) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("a vote cannot move from " + old + " to itself"));
        }
        RaftClient raftClient = client;
        if (raftClient == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("controller server " + nodeId + " is not started"));
        }
        return CompletableFuture.runAsync(() -> moveVote(raftClient, RaftPeerId.valueOf(old), RaftPeerId.valueOf(replacement), timeout, false),
                submitters);
    }

    /**
     * Only the first half of {@link #replaceVoter}: the listener becomes a voter and the group has
     * one voter more; for tests of a move that stopped there.
     */
    void promoteOnly(String listenerId, Duration timeout) {
        RaftPeerId id = RaftPeerId.valueOf(listenerId);
        moveVote(client, id, id, timeout, true);
    }

    private void moveVote(RaftClient raftClient, RaftPeerId old, RaftPeerId replacement, Duration timeout, boolean promoteOnly) {
        moveVote(raftClient, old, replacement, timeout, promoteOnly, System.nanoTime() + timeout.toNanos());
    }

    /**
     * Runs a request meant for the leader with the client's retries (through leader changes) for
     * at most 5 s; requests for one named server run without, so a dead one costs one attempt.
     */
    private <T> T toLeader(long deadline, org.apache.ratis.util.function.CheckedSupplier<T, IOException> request) throws IOException {
        submitDeadline.set(Math.min(deadline, System.nanoTime() + TimeUnit.SECONDS.toNanos(5)));
        try {
            return request.get();
        } finally {
            submitDeadline.remove();
        }
    }

    private void moveVote(RaftClient raftClient, RaftPeerId old, RaftPeerId replacement, Duration timeout, boolean promoteOnly,
            long deadline) {
        String lastError = "none";
        int attempts = 0;
        while (!closed && System.nanoTime() < deadline) {
            RaftPeerId leader = raftClient.getLeaderId();
            List<RaftPeer> known = voters;
            RaftPeerId asked = leader != null && attempts % 2 == 0 ? leader : known.get(attempts % known.size()).getId();
            attempts++;
            try {
                org.apache.ratis.protocol.GroupInfoReply info = raftClient.getGroupManagementApi(asked).info(GROUP_ID);
                org.apache.ratis.proto.RaftProtos.RaftConfigurationProto conf = info.getConf().orElse(null);
                if (conf == null || conf.getOldPeersCount() > 0) {
                    lastError = asked + (conf == null ? " did not tell its configuration" : " is between two configurations");
                    pause();
                    continue;
                }
                List<RaftPeer> servers = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getPeersList());
                List<RaftPeer> listening = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getListenersList());
                RaftPeer promoted = find(servers, replacement);
                RaftPeer leaving = find(servers, old);
                List<RaftPeer> newServers = new ArrayList<>(servers);
                List<RaftPeer> newListeners = new ArrayList<>(listening);
                if (promoted == null) {
                    RaftPeer listening1 = find(listening, replacement);
                    if (listening1 == null) {
                        throw new IllegalArgumentException("node " + replacement + " neither votes in nor listens to the controller group;"
                                + " it cannot take the vote of " + old);
                    }
                    newListeners.remove(listening1);
                    newServers.add(RaftPeer.newBuilder(listening1)
                            .setStartupRole(org.apache.ratis.proto.RaftProtos.RaftPeerRole.FOLLOWER).build());
                    LOG.info("controller {}: promoting listener {} to voter, to take the vote of {}", nodeId, replacement, old);
                } else if (promoteOnly) {
                    return;
                } else if (leaving != null) {
                    if (servers.size() <= peers.size()) {
                        // The replacement votes already, but not because this move promoted it
                        // (the group would be left one voter short): another removal took it.
                        throw new IllegalArgumentException("node " + replacement + " already votes in the controller (voters: "
                                + String.join(", ", addresses(servers).keySet()) + "); removing " + old
                                + " now would leave the controller one voter short; ask again to pick another node");
                    }
                    if (old.equals(leaderOf(asked, info))) {
                        // A leader that removes itself steps down only after the change commits;
                        // hand the lead over first, to the new voter, which has the whole log.
                        RaftClientReply moved = toLeader(deadline, () -> raftClient.admin().transferLeadership(replacement, 3000));
                        lastError = moved.isSuccess() ? "leadership moved" : describe(moved.getException());
                        pause();
                        continue;
                    }
                    newServers.remove(leaving);
                    RaftPeer stale = find(newListeners, old);
                    if (stale != null) {
                        newListeners.remove(stale);
                    }
                    LOG.info("controller {}: removing {} from the controller's voters", nodeId, old);
                } else {
                    LOG.info("controller {}: the vote of {} moved to {}; the voters are {}", nodeId, old, replacement, addresses(servers).keySet());
                    return;
                }
                SetConfigurationRequest.Arguments change = SetConfigurationRequest.Arguments.newBuilder()
                        .setServersInNewConf(newServers)
                        .setListenersInNewConf(newListeners)
                        .setServersInCurrentConf(servers)
                        .setListenersInCurrentConf(listening)
                        .setMode(SetConfigurationRequest.Mode.COMPARE_AND_SET)
                        .build();
                RaftClientReply reply = toLeader(deadline, () -> raftClient.admin().setConfiguration(change));
                if (reply.isSuccess()) {
                    continue; // read it back, then take the next step
                }
                lastError = describe(reply.getException());
            } catch (IllegalArgumentException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                lastError = describe(e);
            }
            pause();
        }
        throw new ControllerUnavailableException("could not move the vote of " + old + " to " + replacement + " within "
                + timeout.toMillis() + " ms (" + attempts + " attempts); last error: " + lastError, null);
    }

    /** The leader as the server that gave {@code info} knows it, or null. */
    private static RaftPeerId leaderOf(RaftPeerId asked, org.apache.ratis.protocol.GroupInfoReply info) {
        org.apache.ratis.proto.RaftProtos.RoleInfoProto role = info.getRoleInfoProto();
        if (role == null) {
            return null;
        }
        if (role.getRole() == org.apache.ratis.proto.RaftProtos.RaftPeerRole.LEADER) {
            return asked;
        }
        if (role.hasFollowerInfo() && role.getFollowerInfo().hasLeaderInfo()) {
            return RaftPeerId.valueOf(role.getFollowerInfo().getLeaderInfo().getId().getId());
        }
        return null;
    }

    private static RaftPeer find(List<RaftPeer> raftPeers, RaftPeerId id) {
        return raftPeers.stream().filter(p -> p.getId().equals(id)).findFirst().orElse(null);
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ControllerUnavailableException("interrupted while reconfiguring the controller group", e);
        }
    }

    /** True when this replica is the Raft leader right now. */
    public boolean isLeader() {
        DivisionInfo info = info();
        return info != null && info.isLeader();
    }

    /** The node id of the current leader as this replica knows it, or null when unknown. */
    public String leaderId() {
        DivisionInfo info = info();
        RaftPeerId leader = info == null ? null : info.getLeaderId();
        return leader == null ? null : leader.toString();
    }

    /**
     * How long ago this replica last heard from its leader, in milliseconds: 0 on the leader, and
     * {@code Long.MAX_VALUE} when it knows no leader. A replica that has not heard from its leader
     * for a while (its process was paused, or it is cut off) may hold an old state.
     */
    public long leaderSilenceMillis() {
        DivisionInfo info = info();
        if (listener != null && (info == null || info.getCurrentRole() == org.apache.ratis.proto.RaftProtos.RaftPeerRole.LISTENER)) {
            long answered = lastLeaderAnswerNanos;
            return answered == 0 || closed ? Long.MAX_VALUE : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - answered);
        }
        if (info == null) {
            return Long.MAX_VALUE;
        }
        if (info.isLeader()) {
            return 0;
        }
        org.apache.ratis.proto.RaftProtos.RoleInfoProto role = info.getRoleInfoProto();
        if (role == null || !role.hasFollowerInfo() || !role.getFollowerInfo().hasLeaderInfo()) {
            return Long.MAX_VALUE;
        }
        return role.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs();
    }

    private DivisionInfo info() {
        RaftServer raftServer = server;
        if (raftServer == null || closed) {
            return null;
        }
        try {
            return raftServer.getDivision(GROUP_ID).getInfo();
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Stops the Raft server and the client; pending submits fail. Events already queued are still delivered. */
    @Override
    public void close() {
        RaftServer raftServer;
        synchronized (lifecycle) {
            if (closed) {
                return;
            }
            closed = true;
            raftServer = server;
        }
        for (Runnable pending : submitters.shutdownNow()) {
            ((SubmitTask) pending).fail(closedError(((SubmitTask) pending).command, null));
        }
        RaftClient raftClient = client;
        if (raftClient != null) {
            closeQuietly(raftClient);
        }
        if (raftServer != null) {
            closeQuietly(raftServer);
        }
        awaitQuietly(submitters);
        events.shutdown();
        awaitQuietly(events);
        LOG.info("controller {} closed", nodeId);
    }

    private void closeQuietly(AutoCloseable closeable) {
        try {
            closeable.close();
        } catch (Exception e) {
            LOG.warn("controller {}: closing {} failed", nodeId, closeable, e);
        }
    }

    private void awaitQuietly(ExecutorService executor) {
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("controller {}: threads still busy after close", nodeId);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void post(Runnable task) {
        try {
            events.execute(task);
        } catch (RejectedExecutionException closing) {
            // Closed: listeners hear nothing more.
        }
    }

    private void deliver(List<Consumer<ControllerState>> targets, ControllerState state) {
        boolean first = true;
        for (Consumer<ControllerState> listener : targets) {
            try {
                listener.accept(first ? state : state.copy());
            } catch (RuntimeException e) {
                LOG.error("controller {}: state listener failed", nodeId, e);
            }
            first = false;
        }
    }

    private void reportLeadership(boolean leader) {
        if (leader == leadershipReported) {
            return;
        }
        leadershipReported = leader;
        LOG.info("controller {} {} the leader", nodeId, leader ? "became" : "is no longer");
        for (Consumer<Boolean> listener : leadershipListeners) {
            try {
                listener.accept(leader);
            } catch (RuntimeException e) {
                LOG.error("controller {}: leadership listener failed", nodeId, e);
            }
        }
    }

    /** Hands the state machine's events to the event thread. */
    private final class StateMachineEvents implements ControllerStateMachine.Events {
        @Override
        public void stateChanged(ControllerState copy) {
            if (listener != null) {
                applied(copy.version());
            }
            if (started) {
                // The listeners of this moment: one added later hears the current state on its own.
                List<Consumer<ControllerState>> targets = List.copyOf(listeners);
                post(() -> deliver(targets, copy));
            }
        }

        @Override
        public void leaderChanged(RaftPeerId leader) {
            boolean self = peerId.equals(leader);
            post(() -> reportLeadership(self));
        }

        @Override
        public void leadershipLost() {
            post(() -> reportLeadership(false));
        }

        @Override
        public void configurationChanged(org.apache.ratis.proto.RaftProtos.RaftConfigurationProto conf) {
            List<RaftPeer> servers = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getPeersList());
            List<RaftPeer> listening = org.apache.ratis.util.ProtoUtils.toRaftPeers(conf.getListenersList());
            if (servers.isEmpty()) {
                return;
            }
            post(() -> {
                listenerPeers = List.copyOf(listening);
                if (!addresses(servers).equals(addresses(voters))) {
                    LOG.info("controller {}: the voters are now {} (were {})", nodeId, addresses(servers).keySet(), addresses(voters).keySet());
                    voters = List.copyOf(servers);
                    writeVotersFile(voters);
                }
            });
        }
    }

    @Override
    public String toString() {
        return "ControllerServer{" + nodeId + " at " + selfAddress + "}";
    }
}
