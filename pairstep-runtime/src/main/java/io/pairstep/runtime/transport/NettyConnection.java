package io.pairstep.runtime.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.pairstep.core.wire.Frame;
import java.net.SocketAddress;
import java.nio.channels.ClosedChannelException;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A connection over one Netty channel. Senders on any thread encode their frame and put it in a
 * queue; one task on the channel's event loop writes everything queued and flushes once, so a
 * burst costs one syscall, not one per frame. While the channel is connecting or not writable the
 * frames wait in the queue, which is bounded in bytes.
 */
final class NettyConnection implements Connection {

    private final Transport transport;
    /** True for the node connections of {@link Transport#send}: they start with a Hello. */
    private final boolean sendsHello;
    /** Completed when a client connection of {@link Transport#connect} is established. */
    private final CompletableFuture<Connection> established;

    private volatile String peerNode;
    private volatile SocketAddress remoteAddress;
    private volatile Channel channel;
    private volatile boolean open;
    private volatile boolean closed;
    private volatile boolean dropWarned;

    private final Queue<ByteBuf> queue = new ConcurrentLinkedQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    private final Runnable drainTask = this::drain;

    /** Event loop only: set after a malformed frame, so nothing more is delivered. */
    boolean discarding;

    NettyConnection(
            Transport transport,
            String peerNode,
            SocketAddress remoteAddress,
            boolean sendsHello,
            CompletableFuture<Connection> established) {
        this.transport = transport;
        this.peerNode = peerNode;
        this.remoteAddress = remoteAddress;
        this.sendsHello = sendsHello;
        this.established = established;
    }

    @Override
    public void send(Frame frame) {
        enqueue(transport.encode(frame));
    }

    @Override
    public String peerNode() {
        return peerNode;
    }

    @Override
    public SocketAddress remoteAddress() {
        return remoteAddress;
    }

    @Override
    public boolean isOpen() {
        return open && !closed;
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public void reading(boolean on) {
        Channel current = channel;
        if (current != null && current.config().isAutoRead() != on) {
            current.config().setAutoRead(on);
        }
    }

    @Override
    public void close() {
        closed = true;
        Channel ch = channel;
        if (ch != null) {
            ch.close();
        }
        purge();
    }

    @Override
    public String toString() {
        return describe();
    }

    /** For logs: the node and address when known. */
    String describe() {
        String node = peerNode;
        SocketAddress address = remoteAddress;
        return node != null ? "node " + node + " (" + address + ")" : String.valueOf(address);
    }

    // ------------------------------------------------------------------------------------------
    // Outbound queue

    /** Queues an encoded frame (length prefix included); takes ownership of {@code frame}. */
    void enqueue(ByteBuf frame) {
        if (closed) {
            transport.dropped(frame);
            return;
        }
        int size = frame.readableBytes();
        long total = queuedBytes.addAndGet(size);
        // one frame is always accepted on an empty queue, so any legal frame can be sent
        if (total > transport.maxQueuedBytes() && total != size) {
            queuedBytes.addAndGet(-size);
            transport.dropped(frame);
            if (!dropWarned) {
                dropWarned = true;
                Transport.log.warn(
                        "dropping frames to {}: over {} bytes queued (more drops are counted, not logged)",
                        describe(),
                        transport.maxQueuedBytes());
            }
            return;
        }
        queue.add(frame);
        if (closed) {
            purge();
        } else if (open) {
            scheduleDrain();
        }
    }

    void scheduleDrain() {
        if (drainScheduled.compareAndSet(false, true)) {
            try {
                channel.eventLoop().execute(drainTask);
            } catch (RejectedExecutionException e) { // the transport is shutting down
                drainScheduled.set(false);
                closed = true;
                purge();
            }
        }
    }

    /** On the event loop: writes what is queued while the channel is writable, then flushes once. */
    private void drain() {
        drainScheduled.set(false);
        Channel ch = channel;
        if (closed || !ch.isActive()) {
            purge();
            return;
        }
        boolean wrote = false;
        ByteBuf frame;
        while (ch.isWritable() && (frame = queue.poll()) != null) {
            queuedBytes.addAndGet(-frame.readableBytes());
            ch.write(frame, ch.voidPromise());
            wrote = true;
        }
        if (wrote) {
            ch.flush();
        }
    }

    /** Releases what is queued; the frames count as dropped. */
    private void purge() {
        ByteBuf frame;
        while ((frame = queue.poll()) != null) {
            queuedBytes.addAndGet(-frame.readableBytes());
            transport.dropped(frame);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Channel life cycle, called by Transport and ConnectionHandler on the event loop

    void attach(Channel ch) {
        channel = ch;
        if (closed) {
            ch.close();
        }
    }

    void onActive(Channel ch) {
        if (closed) {
            ch.close();
            if (established != null) {
                established.completeExceptionally(new ClosedChannelException());
            }
            return;
        }
        remoteAddress = ch.remoteAddress();
        if (sendsHello) {
            ch.write(transport.encode(new Frame.Hello(transport.selfNode(), transport.selfIncarnation())), ch.voidPromise());
        }
        open = true;
        drain();
        ch.flush();
        if (established != null) {
            established.complete(this);
        }
    }

    /** Returns true when the connection had been open, so its closing is to be reported. */
    boolean onInactive() {
        boolean wasOpen = open;
        open = false;
        closed = true;
        purge();
        return wasOpen;
    }

    /** A connect that failed: nothing to report as closed beyond what the caller decides. */
    void onConnectFailed(Throwable cause) {
        closed = true;
        purge();
        if (established != null) {
            established.completeExceptionally(cause);
        }
    }

    /** On the event loop: records the node a Hello announces. */
    void onHello(Frame.Hello hello) {
        if (peerNode == null) {
            peerNode = hello.node();
        }
    }

    void onWritable() {
        if (!queue.isEmpty() && open) {
            scheduleDrain();
        }
    }
}
