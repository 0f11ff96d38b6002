package io.pairstep.runtime.transport;

import io.pairstep.core.wire.Frame;
import java.net.SocketAddress;

/** One TCP connection of a {@link Transport}, inbound or outbound. Thread-safe. */
public interface Connection {

    /**
     * Queues a frame; never blocks. Frames sent from one thread arrive in order. Frames sent on a
     * closed connection, or over the transport's queue bound, are dropped and counted in
     * {@link Transport#droppedFrames()}.
     *
     * @throws IllegalArgumentException when the frame cannot be encoded (a null id, a body over
     *     {@link io.pairstep.core.wire.FrameCodec#FRAME_LENGTH_MAX})
     */
    void send(Frame frame);

    /**
     * The node at the other end: set once a {@link Frame.Hello} was received on this connection,
     * or at creation for the node connections of {@link Transport#send}; null for plain clients.
     */
    String peerNode();

    /** The other end's address; for an outbound connection still connecting, the address it connects to. */
    SocketAddress remoteAddress();

    /** True while the connection is established and not closed. */
    boolean isOpen();

    /** Closes the connection; the handler's {@code onClosed} follows if it was open. Idempotent. */
    void close();

    /**
     * Stops ({@code false}) or resumes ({@code true}) reading frames from the other end: while
     * stopped, what it sends waits in the sockets' buffers and then in the sender, which TCP slows
     * down. Frames already read are still delivered. Idempotent.
     */
    default void reading(boolean on) {}
}
