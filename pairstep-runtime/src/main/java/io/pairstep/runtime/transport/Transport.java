package io.pairstep.runtime.transport;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.concurrent.Future;
import io.pairstep.client.TlsFiles;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.FrameCodec;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Frames over TCP, between nodes and between clients and nodes (Netty, NIO).
 *
 * <p>On the wire each frame is a 4-byte big-endian length, at most {@link
 * FrameCodec#FRAME_LENGTH_MAX}, then the body of {@link FrameCodec}. Frames received on a
 * connection are delivered in order, on that connection's event-loop thread. A malformed frame
 * closes its connection with a WARN naming the peer; it never harms the rest of the transport.
 *
 * <p>Node connections: {@link #send(String, InetSocketAddress, Frame)} keeps one outbound
 * connection per node, opened on demand with a {@link Frame.Hello} as first frame. An inbound
 * connection is associated with a node when a Hello arrives on it. Frames are encoded by the
 * sender's thread and written by the event loop in batches, with one flush per batch.
 *
 * <p>Threads: one acceptor thread (only once {@link #listen} is called) and {@link
 * Options#workerThreads} I/O threads, all daemons named {@code pairstep-net-*}.
 */
public final class Transport implements AutoCloseable {

    static final Logger log = LoggerFactory.getLogger(Transport.class);

    /** Handler callbacks run on Netty event-loop threads; they must not block. */
    public interface Handler {

        /** A frame arrived; frames of one connection arrive in order. */
        void onFrame(Connection connection, Frame frame);

        /**
         * A connection closed: by either end, by a malformed frame, or by {@link Transport#close}. Called
         * once per connection that was established, after its last {@link #onFrame}. Also called
         * when a node connection opened by {@link #send} fails to connect (refused, timed out), so
         * that an unreachable node is noticed at once. {@code connection.peerNode()} is set if a
         * Hello was received or sent on it.
         */
        void onClosed(Connection connection);
    }

    /**
     * Tuning.
     *
     * @param workerThreads I/O threads
     * @param connectTimeoutMillis how long a connect may take
     * @param maxQueuedBytes per connection, the encoded frames waiting to be written (while
     *     connecting, or while the socket is full); over it new frames are dropped and counted
     * @param reconnectBackoffMillis after a node connection failed to connect, sends to that node
     *     are dropped for this long instead of connecting again at every send
     */
    public record Options(int workerThreads, int connectTimeoutMillis, long maxQueuedBytes, int reconnectBackoffMillis) {

        public Options {
            if (workerThreads < 1) {
                throw new IllegalArgumentException("workerThreads must be >= 1, was " + workerThreads);
            }
            if (connectTimeoutMillis < 1) {
                throw new IllegalArgumentException("connectTimeoutMillis must be >= 1, was " + connectTimeoutMillis);
            }
            if (maxQueuedBytes < 1) {
                throw new IllegalArgumentException("maxQueuedBytes must be >= 1, was " + maxQueuedBytes);
            }
            if (reconnectBackoffMillis < 0) {
                throw new IllegalArgumentException("reconnectBackoffMillis must be >= 0, was " + reconnectBackoffMillis);
            }
        }

        /** Up to 2 workers, 1 s connect timeout, 64 MiB queued per connection, 100 ms backoff. */
        public static Options defaults() {
            return new Options(Math.min(2, Runtime.getRuntime().availableProcessors()), 1000, 64L << 20, 100);
        }

        public Options withWorkerThreads(int workerThreads) {
            return new Options(workerThreads, connectTimeoutMillis, maxQueuedBytes, reconnectBackoffMillis);
        }

        public Options withConnectTimeoutMillis(int connectTimeoutMillis) {
            return new Options(workerThreads, connectTimeoutMillis, maxQueuedBytes, reconnectBackoffMillis);
        }

        public Options withMaxQueuedBytes(long maxQueuedBytes) {
            return new Options(workerThreads, connectTimeoutMillis, maxQueuedBytes, reconnectBackoffMillis);
        }

        public Options withReconnectBackoffMillis(int reconnectBackoffMillis) {
            return new Options(workerThreads, connectTimeoutMillis, maxQueuedBytes, reconnectBackoffMillis);
        }
    }

    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(512 * 1024, 2 * 1024 * 1024);

    private final String selfNode;
    private final long selfIncarnation;
    private final Handler handler;
    private final Options options;
    private final String threadPrefix;
    private final EventLoopGroup workers;
    private EventLoopGroup boss; // guarded by this, created by the first listen()
    private final ByteBufAllocator allocator = ByteBufAllocator.DEFAULT;

    private final Set<Channel> channels = ConcurrentHashMap.newKeySet();
    private final List<Channel> servers = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<String, NodeLink> links = new ConcurrentHashMap<>();
    private final AtomicLong dropped = new AtomicLong();
    private volatile boolean closed;
    /** TLS for accepted and for opened connections; both null for plain TCP. */
    private final SslContext serverTls;
    private final SslContext clientTls;

    /** selfNode null for pure clients: they send no Hello. */
    public Transport(String selfNode, long selfIncarnation, Handler handler) {
        this(selfNode, selfIncarnation, handler, Options.defaults());
    }

    public Transport(String selfNode, long selfIncarnation, Handler handler, Options options) {
        this(selfNode, selfIncarnation, handler, options, null);
    }

    /**
     * @param tls the certificates for TLS on every connection, accepted and opened, or null for
     *     plain TCP. Both ends must show a certificate signed by the system's authority, so a
     *     process without one can neither join as a node nor call as a client.
     */
    public Transport(String selfNode, long selfIncarnation, Handler handler, Options options, TlsFiles tls) {
        this.serverTls = tls == null ? null : tls.serverContext();
        this.clientTls = tls == null ? null : tls.clientContext();
        this.selfNode = selfNode;
        this.selfIncarnation = selfIncarnation;
        this.handler = Objects.requireNonNull(handler, "handler");
        this.options = Objects.requireNonNull(options, "options");
        if (selfNode != null) {
            encode(new Frame.Hello(selfNode, selfIncarnation)).release(); // fails now if it cannot be encoded
        }
        this.threadPrefix = "pairstep-net-" + (selfNode == null ? "client" : selfNode) + "-";
        this.workers = new MultiThreadIoEventLoopGroup(
                options.workerThreads(), threads(threadPrefix + "worker-"), NioIoHandler.newFactory());
    }

    // ------------------------------------------------------------------------------------------
    // Public API

    /**
     * Accepts connections on {@code bind} (port 0 for an ephemeral port); may be called more than
     * once for several addresses. Returns the bound address. Blocks until bound: not to be called
     * on an event-loop thread.
     *
     * @throws BindException "port P on H is already in use" when the port is taken
     */
    public InetSocketAddress listen(InetSocketAddress bind) throws IOException {
        Objects.requireNonNull(bind, "bind");
        EventLoopGroup acceptor;
        synchronized (this) {
            if (closed) {
                throw new IOException("transport is closed");
            }
            if (boss == null) {
                boss = new MultiThreadIoEventLoopGroup(1, threads(threadPrefix + "boss-"), NioIoHandler.newFactory());
            }
            acceptor = boss;
        }
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(acceptor, workers)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        init(ch, new NettyConnection(Transport.this, null, ch.remoteAddress(), false, null), serverTls, null);
                    }
                });
        ChannelFuture bound = bootstrap.bind(bind).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            Throwable cause = bound.cause();
            String where = "port " + bind.getPort() + " on " + host(bind);
            if (cause instanceof BindException) {
                String message = String.valueOf(cause.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("in use")
                        ? where + " is already in use"
                        : "cannot bind " + where + ": " + cause.getMessage();
                BindException clear = new BindException(message);
                clear.initCause(cause);
                throw clear;
            }
            throw new IOException("cannot listen on " + where + ": " + cause, cause);
        }
        Channel server = bound.channel();
        servers.add(server);
        if (closed) { // closed meanwhile
            server.close();
            throw new IOException("transport is closed");
        }
        InetSocketAddress local = (InetSocketAddress) server.localAddress();
        log.info("listening on {}", local);
        return local;
    }

    /**
     * Sends to a node, connecting (and sending Hello(selfNode, selfIncarnation) first) if needed.
     * Frames are queued while connecting (bounded; dropped and counted when over the bound) and
     * flushed in batches. Never blocks. After the connection closed, the next send connects
     * again; after a connect failed, sends within {@link Options#reconnectBackoffMillis} are
     * dropped. A new address for the node replaces the connection to the old one. Frames sent
     * from one thread arrive in order as long as the connection lasts.
     *
     * @throws IllegalArgumentException when the frame cannot be encoded
     */
    public void send(String node, InetSocketAddress address, Frame frame) {
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(address, "address");
        ByteBuf encoded = encode(frame);
        if (closed) {
            dropped(encoded);
            return;
        }
        NodeLink link = links.computeIfAbsent(node, NodeLink::new);
        NettyConnection connection;
        NettyConnection replaced = null;
        boolean connect = false;
        synchronized (link) {
            connection = link.current;
            if (connection != null && !connection.isClosed() && !address.equals(link.address)) {
                replaced = connection; // the node moved
                connection = null;
                link.backoff = false;
            }
            if (connection == null || connection.isClosed()) {
                if (link.backoff && System.nanoTime() - link.retryAtNanos < 0) {
                    connection = null;
                } else {
                    link.backoff = false;
                    connection = new NettyConnection(this, node, address, selfNode != null, null);
                    link.current = connection;
                    link.address = address;
                    connect = true;
                }
            }
        }
        if (replaced != null) {
            log.info("node {} moved from {} to {}: reconnecting", node, replaced.remoteAddress(), address);
            replaced.close();
        }
        if (connection == null) {
            dropped(encoded);
            return;
        }
        connection.enqueue(encoded);
        if (connect) {
            connectNode(link, connection, address);
        }
    }

    /**
     * Connects as a client (no Hello) to any address; the future completes, on an event-loop
     * thread, when the connection is established, or exceptionally when connecting fails.
     */
    public CompletableFuture<Connection> connect(InetSocketAddress address) {
        Objects.requireNonNull(address, "address");
        CompletableFuture<Connection> established = new CompletableFuture<>();
        if (closed) {
            established.completeExceptionally(new IOException("transport is closed"));
            return established;
        }
        NettyConnection connection = new NettyConnection(this, null, address, false, established);
        open(connection, address).addListener(future -> {
            if (!future.isSuccess()) {
                connection.onConnectFailed(future.cause());
            }
        });
        return established;
    }

    /** Frames dropped so far: over a queue bound, queued on a connection that closed or failed, sent after close. */
    public long droppedFrames() {
        return dropped.get();
    }

    public String selfNode() {
        return selfNode;
    }

    public long selfIncarnation() {
        return selfIncarnation;
    }

    /**
     * Closes every connection and listener and stops the threads. Handlers see {@code onClosed}
     * for open connections. Waits up to a few seconds, unless called on an event-loop thread.
     */
    @Override
    public void close() {
        EventLoopGroup acceptor;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            acceptor = boss;
        }
        boolean wait = !inEventLoop(workers) && (acceptor == null || !inEventLoop(acceptor));
        List<ChannelFuture> closing = new ArrayList<>();
        for (Channel server : servers) {
            closing.add(server.close());
        }
        for (NodeLink link : links.values()) {
            NettyConnection connection;
            synchronized (link) {
                connection = link.current;
            }
            if (connection != null) {
                connection.close();
            }
        }
        for (Channel channel : channels) {
            closing.add(channel.close());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        if (wait) {
            for (ChannelFuture future : closing) {
                future.awaitUninterruptibly(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
        }
        List<Future<?>> terminating = new ArrayList<>();
        terminating.add(workers.shutdownGracefully(0, 2, TimeUnit.SECONDS));
        if (acceptor != null) {
            terminating.add(acceptor.shutdownGracefully(0, 2, TimeUnit.SECONDS));
        }
        if (wait) {
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            for (Future<?> future : terminating) {
                future.awaitUninterruptibly(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Internals

    /** Encodes a frame with its length prefix. */
    ByteBuf encode(Frame frame) {
        Objects.requireNonNull(frame, "frame");
        ByteBuf buffer = allocator.ioBuffer(256);
        boolean ok = false;
        try {
            buffer.writeInt(0);
            FrameCodec.encode(frame, new ByteBufOutputStream(buffer));
            int length = buffer.readableBytes() - Integer.BYTES;
            if (length > FrameCodec.FRAME_LENGTH_MAX) {
                throw new IllegalArgumentException(frame.getClass().getSimpleName() + " frame of " + length
                        + " bytes is over the limit of " + FrameCodec.FRAME_LENGTH_MAX);
            }
            buffer.setInt(0, length);
            ok = true;
            return buffer;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot encode " + frame.getClass().getSimpleName() + ": " + e, e);
        } catch (NullPointerException e) {
            throw new IllegalArgumentException(
                    "cannot encode " + frame.getClass().getSimpleName() + ": " + e.getMessage() + " is null", e);
        } finally {
            if (!ok) {
                buffer.release();
            }
        }
    }

    long maxQueuedBytes() {
        return options.maxQueuedBytes();
    }

    void dropped(ByteBuf frame) {
        frame.release();
        dropped.incrementAndGet();
    }

    void deliver(NettyConnection connection, Frame frame) {
        try {
            handler.onFrame(connection, frame);
        } catch (RuntimeException e) {
            log.error("handler failed on a {} frame from {}", frame.getClass().getSimpleName(), connection.describe(), e);
        }
    }

    void onInactive(NettyConnection connection) {
        if (connection.onInactive()) {
            if (connection.peerNode() != null && !closed) {
                log.info("connection with {} closed", connection.describe());
            } else {
                log.debug("connection with {} closed", connection.describe());
            }
            fireClosed(connection);
        }
    }

    private void fireClosed(NettyConnection connection) {
        try {
            handler.onClosed(connection);
        } catch (RuntimeException e) {
            log.error("handler failed on the closing of {}", connection.describe(), e);
        }
    }

    private void init(Channel ch, NettyConnection connection, SslContext tls, InetSocketAddress peer) {
        channels.add(ch);
        ch.closeFuture().addListener(future -> channels.remove(ch));
        if (closed) {
            ch.close();
        }
        connection.attach(ch);
        if (tls != null) {
            // Frames wait behind the handshake; a handshake that fails (a certificate the system's
            // authority did not sign, or none) closes the connection before any frame is read.
            SslHandler handler = peer == null ? tls.newHandler(ch.alloc()) : tls.newHandler(ch.alloc(), peer.getHostString(), peer.getPort());
            handler.handshakeFuture().addListener(done -> {
                if (!done.isSuccess()) {
                    log.warn("TLS handshake with {} failed: {}", ch.remoteAddress(), done.cause().toString());
                }
            });
            ch.pipeline().addLast("tls", handler);
        }
        ch.pipeline()
                .addLast("frames", new LengthFieldBasedFrameDecoder(
                        FrameCodec.FRAME_LENGTH_MAX + Integer.BYTES, 0, Integer.BYTES, 0, Integer.BYTES))
                .addLast("connection", new ConnectionHandler(this, connection));
    }

    private ChannelFuture open(NettyConnection connection, InetSocketAddress address) {
        return new Bootstrap()
                .group(workers)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, options.connectTimeoutMillis())
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        init(ch, connection, clientTls, address);
                    }
                })
                .connect(address);
    }

    private void connectNode(NodeLink link, NettyConnection connection, InetSocketAddress address) {
        open(connection, address).addListener(future -> {
            if (future.isSuccess()) {
                boolean recovered;
                synchronized (link) {
                    recovered = link.failing;
                    link.failing = false;
                }
                if (recovered) {
                    log.info("connected to node {} at {}", link.node, address);
                }
                return;
            }
            boolean deliberate = connection.isClosed();
            connection.onConnectFailed(future.cause());
            if (closed || deliberate) {
                return;
            }
            boolean alreadyFailing;
            synchronized (link) {
                alreadyFailing = link.failing;
                link.failing = true;
                if (link.current == connection) {
                    link.backoff = options.reconnectBackoffMillis() > 0;
                    link.retryAtNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(options.reconnectBackoffMillis());
                }
            }
            if (alreadyFailing) {
                log.debug("cannot connect to node {} at {}: {}", link.node, address, future.cause().toString());
            } else {
                log.warn("cannot connect to node {} at {}: {}", link.node, address, future.cause().toString());
            }
            fireClosed(connection);
        });
    }

    private static String host(InetSocketAddress address) {
        return address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
    }

    private static boolean inEventLoop(EventLoopGroup group) {
        for (EventExecutor executor : group) {
            if (executor.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return runnable -> {
            Thread thread = new FastThreadLocalThread(runnable, prefix + count.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        };
    }

    /** The outbound connection to one node. */
    private static final class NodeLink {
        final String node;
        // all guarded by this
        InetSocketAddress address;
        NettyConnection current;
        boolean backoff;
        long retryAtNanos;
        boolean failing;

        NodeLink(String node) {
            this.node = node;
        }
    }
}
