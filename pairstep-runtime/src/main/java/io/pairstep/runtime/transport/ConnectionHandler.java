package io.pairstep.runtime.transport;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufInputStream;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.FrameCodec;
import io.pairstep.core.wire.MalformedFrameException;
import java.io.IOException;
import java.security.cert.X509Certificate;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * Last handler of every pipeline: decodes frame bodies (the length prefix is already stripped),
 * delivers them in order, and reports the connection's life cycle to the {@link Transport}.
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter {

    private final Transport transport;
    private final NettyConnection connection;

    ConnectionHandler(Transport transport, NettyConnection connection) {
        this.transport = transport;
        this.connection = connection;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        connection.onActive(ctx.channel());
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf body = (ByteBuf) msg;
        try {
            if (connection.discarding) {
                return;
            }
            Frame frame;
            try {
                frame = FrameCodec.decode(new ByteBufInputStream(body));
                if (body.isReadable()) {
                    throw new MalformedFrameException(body.readableBytes() + " trailing bytes after a "
                            + frame.getClass().getSimpleName() + " frame");
                }
            } catch (IOException e) {
                malformed(ctx, e.getMessage());
                return;
            }
            if (frame instanceof Frame.Hello hello) {
                String refusal = impostor(ctx, hello.node());
                if (refusal != null) {
                    connection.discarding = true;
                    Transport.log.warn("{}; closing the connection", refusal);
                    ctx.close();
                    return;
                }
                connection.onHello(hello);
            }
            transport.deliver(connection, frame);
        } finally {
            body.release();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (ctx.channel().isWritable()) {
            connection.onWritable();
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        transport.onInactive(connection);
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof DecoderException) {
            // from the length decoder: a negative or too long length prefix
            malformed(ctx, cause.getMessage());
        } else if (cause instanceof IOException) {
            Transport.log.debug("connection with {} failed: {}", connection.describe(), cause.toString());
            ctx.close();
        } else {
            Transport.log.warn("error on the connection with {}; closing it", connection.describe(), cause);
            ctx.close();
        }
    }

    /**
     * Over TLS, why a Hello may not be believed: the certificate the peer showed names another node
     * (its CN is the node id, as {@code pairstep certs} makes it). Null when it matches, or without TLS.
     */
    private static String impostor(ChannelHandlerContext ctx, String node) {
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        if (tls == null) {
            return null;
        }
        try {
            X509Certificate peer = (X509Certificate) tls.engine().getSession().getPeerCertificates()[0];
            for (Rdn rdn : new LdapName(peer.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN") && node.equals(String.valueOf(rdn.getValue()))) {
                    return null;
                }
            }
            return "a peer whose certificate is for " + peer.getSubjectX500Principal().getName() + " says it is node " + node;
        } catch (SSLPeerUnverifiedException | InvalidNameException | RuntimeException e) {
            return "cannot tell whose certificate a peer that says it is node " + node + " showed: " + e;
        }
    }

    private void malformed(ChannelHandlerContext ctx, String problem) {
        if (!connection.discarding) {
            connection.discarding = true;
            Transport.log.warn("malformed frame from {}: {}; closing the connection", connection.describe(), problem);
        }
        ctx.close();
    }
}
