package io.pairstep.runtime.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.pairstep.core.GroupId;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.Reply;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.FrameCodec;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.BindException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class TransportTest {

    private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
    private static final InetSocketAddress EPHEMERAL = new InetSocketAddress(LOOPBACK, 0);
    private static final Duration PROMPTLY = Duration.ofSeconds(2);

    private final List<Transport> transports = new ArrayList<>();
    private final List<AutoCloseable> sockets = new ArrayList<>();

    @BeforeAll
    static void quietNetty() {
        ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.netty")).setLevel(Level.INFO);
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable socket : sockets) {
            socket.close();
        }
        for (Transport transport : transports) {
            transport.close();
        }
    }

    private Transport transport(String node, long incarnation, Recorder recorder) {
        return transport(node, incarnation, recorder, Transport.Options.defaults());
    }

    private Transport transport(String node, long incarnation, Recorder recorder, Transport.Options options) {
        Transport transport = new Transport(node, incarnation, recorder, options);
        transports.add(transport);
        return transport;
    }

    /** Records what a handler sees; optionally answers. */
    static final class Recorder implements Transport.Handler {
        record Received(Connection connection, Frame frame, String thread, boolean daemon) {}

        final BlockingQueue<Received> frames = new LinkedBlockingQueue<>();
        final BlockingQueue<Connection> closed = new LinkedBlockingQueue<>();
        volatile BiConsumer<Connection, Frame> answer;

        @Override
        public void onFrame(Connection connection, Frame frame) {
            frames.add(new Received(connection, frame, Thread.currentThread().getName(), Thread.currentThread().isDaemon()));
            BiConsumer<Connection, Frame> a = answer;
            if (a != null) {
                a.accept(connection, frame);
            }
        }

        @Override
        public void onClosed(Connection connection) {
            closed.add(connection);
        }

        Received next() throws InterruptedException {
            Received received = frames.poll(5, TimeUnit.SECONDS);
            assertThat(received).as("a frame within 5 s").isNotNull();
            return received;
        }

        Connection nextClosed(Duration within) throws InterruptedException {
            Connection connection = closed.poll(within.toMillis(), TimeUnit.MILLISECONDS);
            assertThat(connection).as("onClosed within %s", within).isNotNull();
            return connection;
        }
    }

    /** One frame of every kind, with some large contents. */
    static List<Frame> everyKind() {
        Random random = new Random(42);
        byte[] big = new byte[1 << 20];
        random.nextBytes(big);
        byte[] small = {1, 2, 3};
        GroupId group = new GroupId("accounts", 3);
        return List.of(
                new Frame.Heartbeat("a", 7),
                new Frame.Suspect("a", "c", false, "no append ack for 500 ms"),
                new Frame.Suspect("a", "c", true, null),
                new Frame.ClientRequest(1, "accounts", 3, 99, 5, small),
                new Frame.ClientRequest(2, "accounts", 3, 99, 6, big),
                new Frame.ClientResponse(1, new Reply.Ok(small)),
                new Frame.ClientResponse(2, new Reply.ApplicationError("insufficient funds")),
                new Frame.ClientResponse(3, new Reply.NotPrimary(4, "b")),
                new Frame.ClientResponse(4, new Reply.Rejected(Reply.SESSION_EXPIRED, "session 99 expired")),
                new Frame.TopologyRequest(5),
                new Frame.TopologyResponse(5, "{\"nodes\":[" + "\"n\",".repeat(40_000) + "\"n\"]}"),
                new Frame.Error(6, "UNKNOWN_SERVICE", "no service named nope"),
                new Frame.Peer(new PeerMessage.Append(group, 4, 10, List.of(
                        new LogEntry(11, 4, 1_700_000_000_000L, 99, 5, small),
                        new LogEntry(12, 4, 1_700_000_000_001L, 99, 6, big)), 10)),
                new Frame.Peer(new PeerMessage.Append(group, 4, 12, List.of(), 12)),
                new Frame.Peer(new PeerMessage.AppendAck(group, 4, 12, 13, false)),
                new Frame.Peer(new PeerMessage.AppendAck(group, 4, 12, 13, true)),
                new Frame.Peer(new PeerMessage.InstallSnapshot(group, 4, 12, big)),
                new Frame.Hello("a", 7));
    }

    private static void assertSameFrame(Frame actual, Frame expected) {
        assertThat(actual)
                .usingRecursiveComparison()
                .withEqualsForType(Arrays::equals, byte[].class)
                .isEqualTo(expected);
    }

    // ------------------------------------------------------------------------------------------

    @Test
    void nodesExchangeEveryFrameKindInOrderOnNetThreads() throws Exception {
        Recorder atA = new Recorder();
        Recorder atB = new Recorder();
        Transport a = transport("a", 7, atA);
        Transport b = transport("b", 8, atB);
        atB.answer = (connection, frame) -> {
            if (!(frame instanceof Frame.Hello)) {
                connection.send(frame); // echo on the same connection
            }
        };
        InetSocketAddress addressB = b.listen(EPHEMERAL);

        List<Frame> frames = everyKind();
        for (Frame frame : frames) {
            a.send("b", addressB, frame);
        }

        Recorder.Received hello = atB.next();
        assertSameFrame(hello.frame(), new Frame.Hello("a", 7));
        assertThat(hello.connection().peerNode()).isEqualTo("a");
        for (Frame frame : frames) {
            Recorder.Received received = atB.next();
            assertSameFrame(received.frame(), frame);
            assertThat(received.connection()).isSameAs(hello.connection());
            assertThat(received.thread()).startsWith("pairstep-net-");
            assertThat(received.daemon()).isTrue();
        }
        for (Frame frame : frames.subList(0, frames.size() - 1)) {
            Recorder.Received echoed = atA.next();
            assertSameFrame(echoed.frame(), frame);
            assertThat(echoed.connection().peerNode()).isEqualTo("b");
            assertThat(echoed.connection().isOpen()).isTrue();
            assertThat(echoed.connection().remoteAddress()).isEqualTo(addressB);
            assertThat(echoed.thread()).startsWith("pairstep-net-a-worker-");
        }
        // the second Hello was delivered too, and did not change the association
        assertThat(hello.connection().peerNode()).isEqualTo("a");
        assertThat(a.droppedFrames()).isZero();
        assertThat(Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith("pairstep-net-"))
                        .allMatch(Thread::isDaemon))
                .isTrue();
    }

    @Test
    void hundredThousandFramesArriveInOrder() throws Exception {
        int count = 100_000;
        AtomicLong next = new AtomicLong();
        AtomicReference<String> disorder = new AtomicReference<>();
        Transport.Handler counting = new Transport.Handler() {
            @Override
            public void onFrame(Connection connection, Frame frame) {
                if (frame instanceof Frame.ClientRequest request) {
                    if (request.sequence() != next.get()) {
                        disorder.compareAndSet(null, "expected " + next.get() + ", got " + request.sequence());
                    }
                    next.incrementAndGet();
                }
            }

            @Override
            public void onClosed(Connection connection) {}
        };
        Transport b = new Transport("b", 1, counting);
        transports.add(b);
        Transport a = transport("a", 1, new Recorder());
        InetSocketAddress addressB = b.listen(EPHEMERAL);
        byte[] payload = new byte[32];
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            a.send("b", addressB, new Frame.ClientRequest(i, "svc", 0, 1, i, payload));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> next.get() >= count || disorder.get() != null);
        System.out.printf("%d frames in %d ms%n", count, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        assertThat(disorder.get()).isNull();
        assertThat(next.get()).isEqualTo(count);
        assertThat(a.droppedFrames()).isZero();
    }

    @Test
    void framesOfEachOfManySendingThreadsArriveInOrder() throws Exception {
        int threads = 4;
        int perThread = 10_000;
        long[] next = new long[threads];
        AtomicLong total = new AtomicLong();
        AtomicReference<String> disorder = new AtomicReference<>();
        Transport.Handler checking = new Transport.Handler() {
            @Override
            public void onFrame(Connection connection, Frame frame) {
                if (frame instanceof Frame.ClientRequest request) {
                    int thread = request.partition();
                    if (request.sequence() != next[thread]) { // one event-loop thread per connection
                        disorder.compareAndSet(null, "thread " + thread + ": expected " + next[thread] + ", got " + request.sequence());
                    }
                    next[thread]++;
                    total.incrementAndGet();
                }
            }

            @Override
            public void onClosed(Connection connection) {}
        };
        Transport b = new Transport("b", 1, checking);
        transports.add(b);
        Transport a = transport("a", 1, new Recorder());
        InetSocketAddress addressB = b.listen(EPHEMERAL);
        List<Thread> senders = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            senders.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perThread; i++) {
                    a.send("b", addressB, new Frame.ClientRequest(i, "svc", thread, 1, i, new byte[8]));
                }
            }));
        }
        for (Thread sender : senders) {
            sender.join();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> total.get() >= threads * perThread || disorder.get() != null);
        assertThat(disorder.get()).isNull();
        assertThat(total.get()).isEqualTo(threads * perThread);
        assertThat(a.droppedFrames()).isZero();
    }

    @Test
    void closingIsReportedPromptlyOnBothSides() throws Exception {
        Recorder atA = new Recorder();
        Recorder atB = new Recorder();
        Transport a = transport("a", 1, atA);
        Transport b = transport("b", 1, atB);
        InetSocketAddress addressB = b.listen(EPHEMERAL);
        a.send("b", addressB, new Frame.Heartbeat("a", 1));
        assertThat(atB.next().frame()).isInstanceOf(Frame.Hello.class);
        Connection inbound = atB.next().connection();

        // the other side goes away: reported at a
        b.close();
        Connection closedAtA = atA.nextClosed(PROMPTLY);
        assertThat(closedAtA.peerNode()).isEqualTo("b");
        assertThat(closedAtA.isOpen()).isFalse();
        // and b reported its own connection as closed
        assertThat(atB.nextClosed(PROMPTLY)).isSameAs(inbound);
        assertThat(inbound.peerNode()).isEqualTo("a");
    }

    @Test
    void abortiveCloseOfAPeerLikeAKillIsReported() throws Exception {
        Recorder atB = new Recorder();
        Transport b = transport("b", 1, atB);
        InetSocketAddress addressB = b.listen(EPHEMERAL);
        Socket socket = new Socket(LOOPBACK, addressB.getPort());
        sockets.add(socket);
        writeFrame(socket, FrameCodec.toBytes(new Frame.Hello("z", 3)));
        assertThat(atB.next().connection().peerNode()).isEqualTo("z");
        socket.setSoLinger(true, 0); // RST, as when the process dies with unread data
        socket.close();
        Connection closed = atB.nextClosed(PROMPTLY);
        assertThat(closed.peerNode()).isEqualTo("z");
        assertThat(closed.isOpen()).isFalse();
    }

    @Test
    void reconnectsAfterThePeerRestartsOnTheSamePort() throws Exception {
        Recorder atA = new Recorder();
        Recorder atB = new Recorder();
        Transport a = transport("a", 1, atA);
        Transport b = transport("b", 1, atB);
        InetSocketAddress addressB = b.listen(EPHEMERAL);
        a.send("b", addressB, new Frame.Heartbeat("a", 1));
        assertThat(atB.next().frame()).isInstanceOf(Frame.Hello.class);
        assertThat(atB.next().frame()).isInstanceOf(Frame.Heartbeat.class);

        b.close();
        atA.nextClosed(PROMPTLY);

        Recorder atB2 = new Recorder();
        Transport b2 = transport("b", 2, atB2);
        assertThat(b2.listen(addressB)).isEqualTo(addressB);
        await().atMost(PROMPTLY).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
            a.send("b", addressB, new Frame.Heartbeat("a", 2));
            assertThat(atB2.frames).isNotEmpty();
        });
        Recorder.Received hello = atB2.next();
        assertSameFrame(hello.frame(), new Frame.Hello("a", 1));
        assertSameFrame(atB2.next().frame(), new Frame.Heartbeat("a", 2));
    }

    @Test
    void aUsedPortGivesAClearBindException() throws Exception {
        Transport b = transport("b", 1, new Recorder());
        InetSocketAddress addressB = b.listen(EPHEMERAL);
        Transport c = transport("c", 1, new Recorder());
        assertThatThrownBy(() -> c.listen(addressB))
                .isInstanceOf(BindException.class)
                .hasMessage("port " + addressB.getPort() + " on 127.0.0.1 is already in use");
        // and the transport still works
        assertThat(c.listen(EPHEMERAL).getPort()).isPositive();
    }

    @Test
    void aClientGetsItsAnswerOnTheSameConnection() throws Exception {
        Recorder atB = new Recorder();
        Transport b = transport("b", 1, atB);
        atB.answer = (connection, frame) -> {
            if (frame instanceof Frame.TopologyRequest request) {
                connection.send(new Frame.TopologyResponse(request.requestId(), "{\"nodes\":[]}"));
            }
        };
        InetSocketAddress addressB = b.listen(EPHEMERAL);
        Recorder atClient = new Recorder();
        Transport client = transport(null, 0, atClient);

        Connection connection = client.connect(addressB).get(2, TimeUnit.SECONDS);
        assertThat(connection.isOpen()).isTrue();
        assertThat(connection.peerNode()).isNull();
        assertThat(connection.remoteAddress()).isEqualTo(addressB);
        connection.send(new Frame.TopologyRequest(42));

        Recorder.Received request = atB.next();
        assertSameFrame(request.frame(), new Frame.TopologyRequest(42)); // no Hello from a client
        assertThat(request.connection().peerNode()).isNull();
        Recorder.Received response = atClient.next();
        assertThat(response.connection()).isSameAs(connection);
        assertSameFrame(response.frame(), new Frame.TopologyResponse(42, "{\"nodes\":[]}"));
        assertThat(response.thread()).startsWith("pairstep-net-client-worker-");

        connection.close();
        assertThat(atClient.nextClosed(PROMPTLY)).isSameAs(connection);
        assertThat(atB.nextClosed(PROMPTLY)).isSameAs(request.connection());
        connection.send(new Frame.TopologyRequest(43)); // dropped, not thrown
        assertThat(client.droppedFrames()).isEqualTo(1);
    }

    @Test
    void aFailedClientConnectFailsTheFuture() throws Exception {
        Transport client = transport(null, 0, new Recorder());
        assertThatThrownBy(() -> client.connect(deadAddress()).get(2, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(ConnectException.class);
    }

    @Test
    void anUnreachableNodeIsReportedThenReachedOnceItListens() throws Exception {
        Recorder atA = new Recorder();
        Transport a = transport("a", 1, atA, Transport.Options.defaults().withReconnectBackoffMillis(50));
        InetSocketAddress dead = deadAddress();
        a.send("x", dead, new Frame.Heartbeat("a", 1));
        Connection failed = atA.nextClosed(PROMPTLY);
        assertThat(failed.peerNode()).isEqualTo("x");
        assertThat(failed.isOpen()).isFalse();
        assertThat(a.droppedFrames()).isEqualTo(1);

        Recorder atX = new Recorder();
        Transport x = transport("x", 1, atX);
        x.listen(dead);
        await().atMost(PROMPTLY).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
            a.send("x", dead, new Frame.Heartbeat("a", 1));
            assertThat(atX.frames).isNotEmpty();
        });
        assertSameFrame(atX.next().frame(), new Frame.Hello("a", 1));
    }

    @Test
    void aMalformedFrameClosesOnlyItsConnectionWithAWarning() throws Exception {
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Transport.class);
        logger.addAppender(logs);
        try {
            Recorder atB = new Recorder();
            Transport b = transport("b", 1, atB);
            InetSocketAddress addressB = b.listen(EPHEMERAL);

            // an unknown frame type after a Hello: the warning names the node
            Socket named = new Socket(LOOPBACK, addressB.getPort());
            sockets.add(named);
            writeFrame(named, FrameCodec.toBytes(new Frame.Hello("z", 1)));
            writeFrame(named, new byte[] {0x7f, 0, 0, 0, 0, 0, 0, 0, 0});
            try {
                writeFrame(named, FrameCodec.toBytes(new Frame.Heartbeat("z", 1))); // never delivered
            } catch (java.net.SocketException alreadyClosed) {
                // The peer may close before this write: either way the frame is not delivered.
            }
            assertClosedByPeer(named);
            assertThat(atB.next().frame()).isInstanceOf(Frame.Hello.class);
            assertThat(atB.nextClosed(PROMPTLY).peerNode()).isEqualTo("z");

            // an absurd length prefix, from an anonymous peer: the warning names the address
            Socket anonymous = new Socket(LOOPBACK, addressB.getPort());
            sockets.add(anonymous);
            new DataOutputStream(anonymous.getOutputStream()).writeInt(Integer.MAX_VALUE);
            assertClosedByPeer(anonymous);
            atB.nextClosed(PROMPTLY);

            // a truncated body: trailing garbage inside the length
            Socket truncated = new Socket(LOOPBACK, addressB.getPort());
            sockets.add(truncated);
            writeFrame(truncated, new byte[] {0x01, 0, 5, 'a'});
            assertClosedByPeer(truncated);
            atB.nextClosed(PROMPTLY);

            await().atMost(PROMPTLY).untilAsserted(() -> assertThat(logs.list)
                    .filteredOn(e -> e.getLevel() == Level.WARN)
                    .extracting(ILoggingEvent::getFormattedMessage)
                    .anySatisfy(m -> assertThat(m).contains("malformed frame from node z").contains("unknown frame type 0x7f"))
                    .anySatisfy(m -> assertThat(m).contains("malformed frame from /127.0.0.1:" + anonymous.getLocalPort()))
                    .anySatisfy(m -> assertThat(m).contains("truncated Hello frame")));
            assertThat(atB.frames).isEmpty();

            // the node still serves others
            Recorder atA = new Recorder();
            Transport a = transport("a", 1, atA);
            a.send("b", addressB, new Frame.Heartbeat("a", 1));
            assertThat(atB.next().connection().peerNode()).isEqualTo("a");
        } finally {
            logger.detachAppender(logs);
        }
    }

    @Test
    void sendNeverBlocksAndDropsOverTheQueueBoundWhenThePeerDoesNotRead() throws Exception {
        ServerSocket stuck = new ServerSocket(0, 50, LOOPBACK); // accepts in the kernel, never reads
        sockets.add(stuck);
        Transport a = transport("a", 1, new Recorder(), Transport.Options.defaults().withMaxQueuedBytes(1 << 20));
        InetSocketAddress address = new InetSocketAddress(LOOPBACK, stuck.getLocalPort());
        byte[] payload = new byte[64 * 1024];
        long start = System.nanoTime();
        for (int i = 0; i < 1_000; i++) { // 64 MB, more than the socket buffers and the bound
            a.send("s", address, new Frame.ClientRequest(i, "svc", 0, 1, i, payload));
            if (i % 100 == 0) {
                Thread.sleep(5); // let the event loop fill the socket
            }
        }
        // no send waited for the peer: 1000 sends into a full socket take no more than the encoding
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(a.droppedFrames()).isPositive();
    }

    @Test
    void anUnencodableFrameIsRefusedAtSend() {
        Transport a = transport("a", 1, new Recorder());
        assertThatThrownBy(() -> a.send("b", EPHEMERAL, new Frame.Hello(null, 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Hello.node is null");
    }

    // ------------------------------------------------------------------------------------------

    private static void writeFrame(Socket socket, byte[] body) throws IOException {
        DataOutputStream out = new DataOutputStream(socket.getOutputStream());
        out.writeInt(body.length);
        out.write(body);
        out.flush();
    }

    private static void assertClosedByPeer(Socket socket) throws IOException {
        socket.setSoTimeout((int) PROMPTLY.toMillis());
        InputStream in = socket.getInputStream();
        try {
            assertThat(in.read()).isEqualTo(-1);
        } catch (java.net.SocketException reset) {
            // a reset is a close too
        }
    }

    /** A loopback address where nothing listens. */
    private static InetSocketAddress deadAddress() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, LOOPBACK)) {
            return new InetSocketAddress(LOOPBACK, probe.getLocalPort());
        }
    }
}
