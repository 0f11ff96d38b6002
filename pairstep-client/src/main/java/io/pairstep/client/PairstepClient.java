package io.pairstep.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import io.pairstep.core.GroupId;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.FrameCodec;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client of a Pairstep system. Routes each command by key to the primary of its group and keeps
 * trying, through takeovers, until the primary answers or the call's deadline passes: a takeover
 * looks like a short pause, never an error. Retries are exactly-once: every attempt of a call
 * repeats the same (session, sequence), and the servers keep the last reply of every session.
 *
 * <p>Thread-safe; one client per process is enough. Futures complete on the client's I/O or
 * scheduler threads: do not block in their dependent stages (use the {@code *Async} variants to
 * hand work to another executor).
 */
public final class PairstepClient implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PairstepClient.class);

    /** Largest command accepted: the frame limit less room for the other fields. */
    static final int COMMAND_BYTES_MAX = FrameCodec.FRAME_LENGTH_MAX - 70_000;
    /** How long a node holds a watch for a group's new epoch before it answers with what it has. */
    static final int WATCH_WAIT_MILLIS = 250;

    final long callTimeoutNanos;
    final long attemptTimeoutNanos;
    final SessionPool sessions = new SessionPool();

    private final List<InetSocketAddress> seeds;
    private final EventLoopGroup group;
    private final Bootstrap bootstrap;
    /** TLS for every connection, or null for plain TCP. */
    private final SslContext tls;
    private final ScheduledThreadPoolExecutor scheduler;
    private final Map<InetSocketAddress, NodeConnection> connections = new ConcurrentHashMap<>();
    private final Object connectLock = new Object();
    private final Set<Call> active = ConcurrentHashMap.newKeySet();
    private final AtomicLong requestIds = new AtomicLong();
    private final AtomicReference<CompletableFuture<Topology>> refreshing = new AtomicReference<>();
    private final Map<WatchKey, CompletableFuture<Topology>> watches = new ConcurrentHashMap<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Topology topology = Topology.EMPTY;
    private volatile boolean lastRefreshFailed;

    private PairstepClient(ClientOptions options) {
        this.seeds = options.seeds();
        this.callTimeoutNanos = options.callTimeout().toNanos();
        this.attemptTimeoutNanos = options.attemptTimeout().toNanos();
        this.group = new MultiThreadIoEventLoopGroup(options.ioThreads(),
                new DefaultThreadFactory("pairstep-client", true), NioIoHandler.newFactory());
        this.tls = options.tls() == null ? null : options.tls().clientContext();
        this.bootstrap = new Bootstrap()
                .group(group)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, options.connectTimeout().toMillis()));
        this.scheduler = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "pairstep-client-timer");
            thread.setDaemon(true);
            return thread;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        scheduler.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        long interval = options.refreshInterval().toNanos();
        scheduler.scheduleWithFixedDelay(this::backgroundRefresh, interval, interval, TimeUnit.NANOSECONDS);
    }

    /**
     * Starts a client. Does not wait for the cluster: the routing table is fetched in the
     * background, and the first calls wait for it (within their deadline).
     */
    public static PairstepClient connect(ClientOptions options) {
        Objects.requireNonNull(options, "options");
        PairstepClient client = new PairstepClient(options);
        client.refresh();
        return client;
    }

    /** Runs {@code command} on the primary of the partition of {@code key} of {@code service}. */
    public CompletableFuture<byte[]> call(String service, String key, byte[] command) {
        check(service, command);
        return start(new Call(this, service, key, command, 0, 0, false));
    }

    /**
     * Runs {@code command} in an explicit session: the servers run it at most once per
     * (session, sequence) and answer a repeat with the first answer. The caller must not have two
     * commands of one session in flight at once.
     */
    public CompletableFuture<byte[]> call(String service, String key, byte[] command, long session, long sequence) {
        check(service, command);
        if (sequence < 1) {
            throw new IllegalArgumentException("sequence must be >= 1, was " + sequence);
        }
        return start(new Call(this, service, key, command, session, sequence, true));
    }

    /**
     * {@link #call(String, String, byte[])}, waiting for its answer.
     *
     * @throws PairstepException when the call fails
     * @throws IllegalStateException on one of this client's I/O threads, where waiting would deadlock
     */
    public byte[] callSync(String service, String key, byte[] command) throws PairstepException {
        for (EventExecutor executor : group) {
            if (executor.inEventLoop()) {
                throw new IllegalStateException("callSync on a pairstep-client I/O thread would deadlock; use call()");
            }
        }
        try {
            return call(service, key, command).join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof PairstepException error) {
                // A new exception so that its stack trace shows the caller.
                throw new PairstepException(error.code(), error.getMessage(), error);
            }
            throw e;
        } catch (CancellationException e) {
            throw new PairstepException(PairstepException.CLOSED, "call cancelled", e);
        }
    }

    /**
     * A typed proxy of a plain Java object service: calling a method of {@code type} runs the
     * service's public method of the same name and number of arguments, on the partition of {@code
     * key}, and returns its answer decoded into the method's return type. Each call waits like
     * {@link #callSync}; a refusal by the service (an exception thrown by its method, an unknown
     * method, arguments of the wrong type) throws a {@link PairstepException} with code {@link
     * PairstepException#APPLICATION_ERROR}.
     *
     * @param type an interface that lists the methods to call, with their argument and return
     *     types as JSON carries them
     */
    public <T> T proxy(Class<T> type, String service, String key) {
        return ServiceProxy.create(this, type, service, key);
    }

    /** The latest routing table; {@link Topology#EMPTY} until a node answered. */
    public Topology topology() {
        return topology;
    }

    /** Ends every call in progress with {@code CLOSED} and closes all connections. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        for (Call call : active) {
            call.fail(PairstepException.CLOSED, "the client was closed");
        }
        for (NodeConnection connection : connections.values()) {
            connection.close();
        }
        CompletableFuture<Topology> refresh = refreshing.getAndSet(null);
        if (refresh != null) {
            refresh.completeExceptionally(new PairstepException(PairstepException.CLOSED, "the client was closed"));
        }
        scheduler.shutdownNow();
        io.netty.util.concurrent.Future<?> shutdown = group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        boolean onIoThread = false;
        for (EventExecutor executor : group) {
            onIoThread |= executor.inEventLoop();
        }
        if (!onIoThread) {
            shutdown.awaitUninterruptibly(2, TimeUnit.SECONDS);
        }
    }

    // ----------------------------------------------------------------------------------------
    // For calls and connections

    private static void check(String service, byte[] command) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(command, "command");
        if (command.length > COMMAND_BYTES_MAX) {
            throw new IllegalArgumentException("command of " + command.length + " bytes is over the limit of " + COMMAND_BYTES_MAX);
        }
    }

    private CompletableFuture<byte[]> start(Call call) {
        active.add(call);
        call.start();
        return call.future;
    }

    void ended(Call call) {
        active.remove(call);
    }

    boolean isClosed() {
        return closed.get();
    }

    long nextRequestId() {
        return requestIds.incrementAndGet();
    }

    /** Schedules a task; null when the client is closed. */
    Future<?> schedule(Runnable task, long delayNanos) {
        try {
            return scheduler.schedule(task, delayNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            return null;
        }
    }

    /** The shared connection to a node, opened on first use; null when the client is closed. */
    NodeConnection connection(InetSocketAddress address) {
        NodeConnection connection = connections.get(address);
        if (connection != null) {
            return connection;
        }
        synchronized (connectLock) {
            if (closed.get()) {
                return null;
            }
            connection = connections.get(address);
            if (connection != null) {
                return connection;
            }
            connection = new NodeConnection(this, address);
            connection.start(bootstrap, tls);
            connections.put(address, connection);
            if (connection.isClosed()) {
                // It failed at once; its close already tried to forget it, before it was in the map.
                connections.remove(address, connection);
            }
            return connection;
        }
    }

    void forgetConnection(NodeConnection connection) {
        connections.remove(connection.address, connection);
    }

    // ----------------------------------------------------------------------------------------
    // Routing table

    /** A routing table requested at or after {@code nanos}: the current one if it is that fresh, else a refresh. */
    CompletableFuture<Topology> refreshIfOlderThan(long nanos) {
        Topology current = topology;
        if (current.fetchedSince(nanos)) {
            return CompletableFuture.completedFuture(current);
        }
        return refresh();
    }

    /** Fetches the routing table from any node that answers. At most one refresh runs at a time; callers share it. */
    CompletableFuture<Topology> refresh() {
        while (true) {
            CompletableFuture<Topology> running = refreshing.get();
            if (running != null) {
                return running;
            }
            if (closed.get()) {
                return CompletableFuture.failedFuture(new PairstepException(PairstepException.CLOSED, "the client is closed"));
            }
            CompletableFuture<Topology> mine = new CompletableFuture<>();
            if (refreshing.compareAndSet(null, mine)) {
                new TopologyFetch(mine, candidates()).next();
                return mine;
            }
        }
    }

    private void backgroundRefresh() {
        try {
            refresh();
        } catch (RuntimeException e) {
            LOG.warn("background topology refresh failed to start", e);
        }
    }

    /** Seeds and every known node, in random order. */
    private List<InetSocketAddress> candidates() {
        Set<InetSocketAddress> addresses = new LinkedHashSet<>(seeds);
        for (Topology.Node node : topology.nodes().values()) {
            addresses.add(node.rpc());
        }
        List<InetSocketAddress> list = new ArrayList<>(addresses);
        Collections.shuffle(list, ThreadLocalRandom.current());
        return list;
    }

    /**
     * Makes {@code fresh} the routing table unless the current one is newer (a node that lags
     * behind may answer with an older configuration); returns the table now in force.
     */
    private synchronized Topology install(Topology fresh) {
        Topology current = topology;
        if (fresh.version() < current.version() && java.util.Objects.equals(fresh.systemId(), current.systemId())) {
            return current;
        }
        topology = fresh;
        return fresh;
    }

    private void installed(CompletableFuture<Topology> refresh, Topology fresh, Throwable error) {
        if (fresh != null) {
            fresh = install(fresh);
            if (lastRefreshFailed) {
                lastRefreshFailed = false;
                LOG.info("routing table refreshed again");
            }
        } else if (!lastRefreshFailed && !closed.get()) {
            lastRefreshFailed = true;
            LOG.warn("cannot refresh the routing table: {}", error.getMessage());
        }
        refreshing.compareAndSet(refresh, null);
        if (fresh != null) {
            refresh.complete(fresh);
        } else {
            refresh.completeExceptionally(error);
        }
    }

    /**
     * The routing table once {@code group} is past {@code afterEpoch}, or the latest one after a
     * node held the question for {@link #WATCH_WAIT_MILLIS}. The question goes to a live node other
     * than {@code suspect}, the group's in-sync backup first: that is the node that takes over, so it
     * knows as early as anyone. Calls waiting on one group share one watch. Fails when the node
     * asked cannot answer; the caller then falls back to polling.
     */
    CompletableFuture<Topology> awaitEpochAfter(GroupId group, long afterEpoch, String suspect) {
        Topology current = topology;
        Topology.Group known = current.groupOrNull(group);
        if (known != null && known.epoch() > afterEpoch) {
            return CompletableFuture.completedFuture(current);
        }
        WatchKey key = new WatchKey(group, afterEpoch);
        CompletableFuture<Topology> mine = new CompletableFuture<>();
        // A finished watch may still be in the map while its dependents run (the removal below is
        // one of them, and dependents run in no promised order): it does not count.
        CompletableFuture<Topology> shared = watches.compute(key, (k, old) -> old != null && !old.isDone() ? old : mine);
        if (shared != mine) {
            return shared;
        }
        mine.whenComplete((ignored, error) -> watches.remove(key, mine));
        String target = watchTarget(current, known, suspect);
        if (target == null) {
            mine.completeExceptionally(new java.io.IOException("no other live node to watch " + group + " from"));
            return mine;
        }
        NodeConnection connection = connection(current.nodeAddress(target));
        if (connection == null) {
            mine.completeExceptionally(new PairstepException(PairstepException.CLOSED, "the client is closed"));
            return mine;
        }
        new Watch(mine, connection, group, afterEpoch).send();
        return mine;
    }

    /** The group's in-sync backup if it is up and not the suspect, else any other up node (random), else null. */
    private static String watchTarget(Topology topology, Topology.Group known, String suspect) {
        if (known != null && known.backup() != null && !known.backup().equals(suspect) && topology.isUp(known.backup())) {
            return known.backup();
        }
        List<String> others = new ArrayList<>();
        for (Topology.Node node : topology.nodes().values()) {
            if (node.up() && !node.id().equals(suspect)) {
                others.add(node.id());
            }
        }
        return others.isEmpty() ? null : others.get(ThreadLocalRandom.current().nextInt(others.size()));
    }

    private record WatchKey(GroupId group, long afterEpoch) {}

    /** One watch request in flight. */
    private final class Watch implements NodeConnection.Pending {
        private final CompletableFuture<Topology> result;
        private final NodeConnection connection;
        private final GroupId group;
        private final long afterEpoch;
        private final long requestId = nextRequestId();
        private volatile Future<?> timer;
        private long sentAtNanos;

        Watch(CompletableFuture<Topology> result, NodeConnection connection, GroupId group, long afterEpoch) {
            this.result = result;
            this.connection = connection;
            this.group = group;
            this.afterEpoch = afterEpoch;
        }

        void send() {
            sentAtNanos = System.nanoTime();
            timer = schedule(() -> {
                if (connection.forget(requestId, this)) {
                    result.completeExceptionally(new java.io.IOException(connection.address + " did not answer a watch"));
                }
            }, TimeUnit.MILLISECONDS.toNanos(WATCH_WAIT_MILLIS) + attemptTimeoutNanos);
            if (timer == null) {
                result.completeExceptionally(new PairstepException(PairstepException.CLOSED, "the client is closed"));
                return;
            }
            connection.send(requestId, new Frame.TopologyWatch(requestId, group.service(), group.partition(), afterEpoch,
                    WATCH_WAIT_MILLIS), this);
        }

        @Override
        public void onFrame(NodeConnection from, Frame frame) {
            timer.cancel(false);
            if (frame instanceof Frame.TopologyResponse response && response.json() != null) {
                try {
                    result.complete(install(Topology.parse(response.json(), sentAtNanos)));
                    return;
                } catch (IllegalArgumentException e) {
                    result.completeExceptionally(e);
                    return;
                }
            }
            result.completeExceptionally(new java.io.IOException(from.address + " answered a watch with "
                    + (frame instanceof Frame.Error error ? error.code() + " " + error.message() : frame.getClass().getSimpleName())));
        }

        @Override
        public void onLost(NodeConnection from, String reason, boolean maybeDelivered) {
            Future<?> scheduled = timer;
            if (scheduled != null) {
                scheduled.cancel(false);
            }
            result.completeExceptionally(new java.io.IOException(reason));
        }
    }

    /** Asks the candidates one after another until one answers. */
    private final class TopologyFetch implements NodeConnection.Pending {
        private final CompletableFuture<Topology> result;
        private final List<InetSocketAddress> candidates;
        private int index;
        private String lastError = "no node to ask";
        private volatile Future<?> timer;
        private long sentAtNanos;

        TopologyFetch(CompletableFuture<Topology> result, List<InetSocketAddress> candidates) {
            this.result = result;
            this.candidates = candidates;
        }

        void next() {
            if (result.isDone()) {
                return;
            }
            if (closed.get()) {
                installed(result, null, new PairstepException(PairstepException.CLOSED, "the client is closed"));
                return;
            }
            if (index >= candidates.size()) {
                installed(result, null, new java.io.IOException("no node answered a topology request (last: " + lastError + ")"));
                return;
            }
            InetSocketAddress address = candidates.get(index++);
            NodeConnection connection = connection(address);
            if (connection == null) {
                installed(result, null, new PairstepException(PairstepException.CLOSED, "the client is closed"));
                return;
            }
            long requestId = nextRequestId();
            sentAtNanos = System.nanoTime();
            timer = schedule(() -> {
                if (connection.forget(requestId, this)) {
                    lastError = "no answer from " + address + " within " + TimeUnit.NANOSECONDS.toMillis(attemptTimeoutNanos) + " ms";
                    next();
                }
            }, attemptTimeoutNanos);
            connection.send(requestId, new Frame.TopologyRequest(requestId), this);
        }

        @Override
        public void onFrame(NodeConnection connection, Frame frame) {
            cancelTimer();
            if (frame instanceof Frame.TopologyResponse response && response.json() != null) {
                try {
                    installed(result, Topology.parse(response.json(), sentAtNanos), null);
                    return;
                } catch (IllegalArgumentException e) {
                    lastError = connection.address + " sent a bad status document: " + e.getMessage();
                }
            } else if (frame instanceof Frame.Error error) {
                lastError = connection.address + " refused: " + error.code() + " " + error.message();
            } else {
                lastError = connection.address + " answered with " + frame.getClass().getSimpleName();
            }
            next();
        }

        @Override
        public void onLost(NodeConnection connection, String reason, boolean maybeDelivered) {
            cancelTimer();
            lastError = reason;
            next();
        }

        private void cancelTimer() {
            Future<?> scheduled = timer;
            if (scheduled != null) {
                scheduled.cancel(false);
            }
        }
    }
}
