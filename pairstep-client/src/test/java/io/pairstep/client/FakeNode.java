package io.pairstep.client;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.pairstep.core.replica.Reply;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.FrameCodec;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A tiny stand-in for a node, on 127.0.0.1: answers TopologyRequest with {@link #topologyJson}, holds
 * a TopologyWatch until {@link #publish} serves a document that satisfies it (or its wait ends), and
 * ClientRequest with whatever {@link #responder} says (null: hold the request; the test may answer
 * it later through {@link Received#reply}).
 */
final class FakeNode implements AutoCloseable {

    /** A request the node received, with the channel to answer on. */
    record Received(Frame.ClientRequest request, Channel channel) {
        void reply(Reply reply) {
            channel.writeAndFlush(new Frame.ClientResponse(request.requestId(), reply));
        }

        String payload() {
            return new String(request.payload(), StandardCharsets.UTF_8);
        }
    }

    final String id;
    volatile String topologyJson = "{}";
    volatile Function<Received, Frame> responder = received -> null;
    final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    final AtomicInteger topologyRequests = new AtomicInteger();
    /** Runs before each TopologyRequest is answered. */
    volatile Runnable onTopologyRequest = () -> {};
    final AtomicInteger watchRequests = new AtomicInteger();
    /** Watches not answered yet; guarded by itself. */
    private final List<HeldWatch> held = new ArrayList<>();

    private record HeldWatch(Frame.TopologyWatch watch, Channel channel) {}

    private final EventLoopGroup group;
    private final Channel server;
    private final Set<Channel> children = ConcurrentHashMap.newKeySet();

    FakeNode(String id) throws InterruptedException {
        this.id = id;
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("fake-" + id, true), NioIoHandler.newFactory());
        this.server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        children.add(ch);
                        ch.closeFuture().addListener(f -> children.remove(ch));
                        ch.pipeline().addLast(
                                new LengthFieldBasedFrameDecoder(FrameCodec.FRAME_LENGTH_MAX, 0, 4, 0, 4),
                                new LengthFieldPrepender(4),
                                new Encoder(),
                                new Handler());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0))
                .sync()
                .channel();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) server.localAddress();
    }

    /** "host:port" as in the status document. */
    String rpc() {
        return "127.0.0.1:" + address().getPort();
    }

    /** Answers every request with Ok(id + ":" + payload). */
    FakeNode answeringOk() {
        responder = r -> new Frame.ClientResponse(r.request().requestId(),
                new Reply.Ok((id + ":" + r.payload()).getBytes(StandardCharsets.UTF_8)));
        return this;
    }

    /** Serves a new document and answers the watches it satisfies, as a node does when it applies a configuration. */
    void publish(String json) {
        topologyJson = json;
        List<HeldWatch> due = new ArrayList<>();
        synchronized (held) {
            for (HeldWatch watch : List.copyOf(held)) {
                if (passed(watch.watch(), json)) {
                    held.remove(watch);
                    due.add(watch);
                }
            }
        }
        due.forEach(watch -> watch.channel().writeAndFlush(new Frame.TopologyResponse(watch.watch().requestId(), json)));
    }

    private static boolean passed(Frame.TopologyWatch watch, String json) {
        return Topology.parse(json).group(watch.service(), watch.partition()).map(g -> g.epoch() > watch.afterEpoch()).orElse(true);
    }

    private void expire(HeldWatch watch) {
        synchronized (held) {
            if (!held.remove(watch)) {
                return;
            }
        }
        watch.channel().writeAndFlush(new Frame.TopologyResponse(watch.watch().requestId(), topologyJson));
    }

    static Frame reply(Received r, Reply reply) {
        return new Frame.ClientResponse(r.request().requestId(), reply);
    }

    Received nextRequest() throws InterruptedException {
        Received next = received.poll(5, TimeUnit.SECONDS);
        if (next == null) {
            throw new AssertionError(id + " received no request within 5 s");
        }
        return next;
    }

    /** The next request carrying {@code payload}, skipping others (such as duplicates sent by retries). */
    Received nextRequest(String payload) throws InterruptedException {
        while (true) {
            Received next = nextRequest();
            if (next.payload().equals(payload)) {
                return next;
            }
        }
    }

    /** Stops listening and drops every connection, as a killed node would. */
    @Override
    public void close() {
        server.close().awaitUninterruptibly();
        for (Channel child : children) {
            child.close().awaitUninterruptibly();
        }
        group.shutdownGracefully(0, 100, TimeUnit.MILLISECONDS).awaitUninterruptibly();
    }

    private static final class Encoder extends MessageToByteEncoder<Frame> {
        @Override
        protected void encode(ChannelHandlerContext ctx, Frame frame, ByteBuf out) throws Exception {
            FrameCodec.encode(frame, new ByteBufOutputStream(out));
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf body) throws Exception {
            Frame frame;
            try (ByteBufInputStream in = new ByteBufInputStream(body)) {
                frame = FrameCodec.decode(in);
            }
            switch (frame) {
                case Frame.TopologyRequest request -> {
                    topologyRequests.incrementAndGet();
                    onTopologyRequest.run();
                    ctx.writeAndFlush(new Frame.TopologyResponse(request.requestId(), topologyJson));
                }
                case Frame.TopologyWatch watch -> {
                    watchRequests.incrementAndGet();
                    String json = topologyJson;
                    if (passed(watch, json)) {
                        ctx.writeAndFlush(new Frame.TopologyResponse(watch.requestId(), json));
                    } else {
                        HeldWatch waiting = new HeldWatch(watch, ctx.channel());
                        synchronized (held) {
                            held.add(waiting);
                        }
                        ctx.executor().schedule(() -> expire(waiting), watch.waitMillis(), TimeUnit.MILLISECONDS);
                    }
                }
                case Frame.ClientRequest request -> {
                    Received r = new Received(request, ctx.channel());
                    received.add(r);
                    Frame answer = responder.apply(r);
                    if (answer != null) {
                        ctx.writeAndFlush(answer);
                    }
                }
                default -> ctx.writeAndFlush(new Frame.Error(0, "UNEXPECTED", frame.getClass().getSimpleName()));
            }
        }
    }
}
