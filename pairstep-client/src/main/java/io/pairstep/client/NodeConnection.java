package io.pairstep.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.ByteBufOutputStream;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.LengthFieldPrepender;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.handler.ssl.SslContext;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.FrameCodec;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One TCP connection to one node, shared by every call to that node: requests are pipelined and
 * matched to their responses by request id. When the connection closes (or never opens), every
 * request in flight on it fails over at once.
 */
final class NodeConnection {

    private static final Logger LOG = LoggerFactory.getLogger(NodeConnection.class);

    /** Whoever waits for the response to one request. Exactly one of the two methods is called, once. */
    interface Pending {
        void onFrame(NodeConnection connection, Frame frame);

        /**
         * The connection is gone.
         *
         * @param maybeDelivered false when the request surely never left this client
         */
        void onLost(NodeConnection connection, String reason, boolean maybeDelivered);
    }

    private static final LengthFieldPrepender PREPENDER = new LengthFieldPrepender(4);

    final InetSocketAddress address;
    private final PairstepClient client;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private volatile ChannelFuture connectFuture;

    NodeConnection(PairstepClient client, InetSocketAddress address) {
        this.client = client;
        this.address = address;
    }

    /** Starts connecting, over TLS unless {@code tls} is null. Called once, outside any map operation. */
    void start(Bootstrap template, SslContext tls) {
        NodeConnection self = this;
        ChannelFuture future = template.clone()
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) {
                            // Frames queue behind the handshake; a refused handshake closes the connection.
                            ch.pipeline().addLast(tls.newHandler(ch.alloc(), address.getHostString(), address.getPort()));
                        }
                        ch.pipeline().addLast(
                                new LengthFieldBasedFrameDecoder(FrameCodec.FRAME_LENGTH_MAX, 0, 4, 0, 4),
                                PREPENDER,
                                new FrameEncoder(),
                                new FrameHandler(self));
                    }
                })
                .connect(address);
        connectFuture = future;
        future.addListener(f -> {
            if (!f.isSuccess()) {
                markClosed("cannot connect to " + address + ": " + f.cause(), false);
            } else if (closed) {
                future.channel().close();
            }
        });
        future.channel().closeFuture().addListener(f -> markClosed("connection to " + address + " closed", true));
    }

    /** Sends a request; {@code waiter} hears of its response or of the connection's loss. */
    void send(long requestId, Frame request, Pending waiter) {
        pending.put(requestId, waiter);
        if (closed) {
            if (pending.remove(requestId) != null) {
                waiter.onLost(this, "connection to " + address + " closed", false);
            }
            return;
        }
        ChannelFuture connected = connectFuture;
        if (connected.isDone()) {
            if (connected.isSuccess()) {
                write(connected.channel(), request);
            }
            // else markClosed runs (or ran) and fails the request.
        } else {
            connected.addListener(f -> {
                if (f.isSuccess()) {
                    write(connected.channel(), request);
                }
            });
        }
    }

    private static void write(Channel channel, Frame request) {
        // Failures surface as exceptionCaught / close, which fails every request in flight.
        channel.writeAndFlush(request, channel.voidPromise());
    }

    /** Forgets a request (its attempt timed out). True if it was still waiting. */
    boolean forget(long requestId, Pending waiter) {
        return pending.remove(requestId, waiter);
    }

    boolean isClosed() {
        return closed;
    }

    void close() {
        ChannelFuture future = connectFuture;
        markClosed("client closed", true);
        if (future != null) {
            future.channel().close();
        }
    }

    private void markClosed(String reason, boolean maybeDelivered) {
        closed = true;
        client.forgetConnection(this);
        ChannelFuture future = connectFuture;
        boolean delivered = maybeDelivered && future != null && future.isSuccess();
        for (Long id : pending.keySet()) {
            Pending waiter = pending.remove(id);
            if (waiter != null) {
                try {
                    waiter.onLost(this, reason, delivered);
                } catch (RuntimeException e) {
                    LOG.warn("failing over request {} after {} threw", id, reason, e);
                }
            }
        }
    }

    private void received(Frame frame) {
        long requestId = switch (frame) {
            case Frame.ClientResponse response -> response.requestId();
            case Frame.TopologyResponse response -> response.requestId();
            case Frame.Error error -> error.requestId();
            default -> Long.MIN_VALUE;
        };
        Pending waiter = requestId == Long.MIN_VALUE ? null : pending.remove(requestId);
        if (waiter == null) {
            if (frame instanceof Frame.Error error) {
                LOG.debug("{} sent an error for no pending request: {} {}", address, error.code(), error.message());
            }
            return; // a late answer to an attempt that timed out
        }
        try {
            waiter.onFrame(this, frame);
        } catch (RuntimeException e) {
            LOG.warn("handling a response from {} threw", address, e);
        }
    }

    /** Frame -> body bytes; {@link LengthFieldPrepender} adds the length. */
    private static final class FrameEncoder extends MessageToByteEncoder<Frame> {
        FrameEncoder() {
            super(Frame.class);
        }

        @Override
        protected void encode(ChannelHandlerContext ctx, Frame frame, ByteBuf out) throws Exception {
            FrameCodec.encode(frame, new ByteBufOutputStream(out));
        }
    }

    private static final class FrameHandler extends SimpleChannelInboundHandler<ByteBuf> {
        private final NodeConnection connection;

        FrameHandler(NodeConnection connection) {
            this.connection = connection;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf body) throws Exception {
            Frame frame;
            try (ByteBufInputStream in = new ByteBufInputStream(body)) {
                frame = FrameCodec.decode(in);
            }
            connection.received(frame);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("closing connection to {}: {}", connection.address, cause.toString());
            ctx.close();
        }
    }
}
