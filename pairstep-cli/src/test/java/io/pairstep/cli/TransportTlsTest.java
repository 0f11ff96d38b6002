package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.client.TlsFiles;
import io.pairstep.core.wire.Frame;
import io.pairstep.runtime.transport.Connection;
import io.pairstep.runtime.transport.Transport;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node transport over TLS with certificates of {@code pairstep certs} (here because the CLI
 * makes them): a node with its own certificate gets through; one with the certificate of another
 * node, or of another authority, or with none, delivers nothing.
 */
class TransportTlsTest {

    @TempDir
    Path dir;

    private static TlsFiles tls(Path system, String name) {
        return new TlsFiles(CertsCommand.files(system, name).certificate(), CertsCommand.files(system, name).key(),
                CertsCommand.files(system, CertsCommand.CA).certificate());
    }

    /** The heartbeats n1 received, as "node incarnation". */
    private final List<String> received = new CopyOnWriteArrayList<>();

    private final Transport.Handler n1Handler = new Transport.Handler() {
        @Override
        public void onFrame(Connection connection, Frame frame) {
            if (frame instanceof Frame.Heartbeat heartbeat) {
                received.add(heartbeat.node() + " " + heartbeat.incarnation());
            }
        }

        @Override
        public void onClosed(Connection connection) {
        }
    };

    private static final Transport.Handler IGNORE = new Transport.Handler() {
        @Override
        public void onFrame(Connection connection, Frame frame) {
        }

        @Override
        public void onClosed(Connection connection) {
        }
    };

    private void sendFrom(String node, long incarnation, TlsFiles tls, InetSocketAddress n1) throws InterruptedException {
        try (Transport sender = new Transport(node, incarnation, IGNORE, Transport.Options.defaults(), tls)) {
            for (int i = 0; i < 20 && !received.contains(node + " " + incarnation); i++) {
                sender.send("n1", n1, new Frame.Heartbeat(node, incarnation));
                Thread.sleep(50);
            }
        }
    }

    @Test
    void onlyANodeWithItsOwnCertificateOfTheSystemsAuthorityGetsThrough() throws Exception {
        Path system = dir.resolve("system");
        Path other = dir.resolve("other");
        CertsCommand.make(system, List.of("n1", "n2", "n3"), Set.of("127.0.0.1"));
        CertsCommand.make(other, List.of("n2"), Set.of("127.0.0.1"));
        try (Transport n1 = new Transport("n1", 1, n1Handler, Transport.Options.defaults(), tls(system, "n1"))) {
            InetSocketAddress address = n1.listen(new InetSocketAddress("127.0.0.1", 0));

            sendFrom("n2", 1, tls(system, "n2"), address);
            await().atMost(Duration.ofSeconds(20)).until(() -> received.contains("n2 1"));

            // Each of these tries for a second, and n1 must have taken nothing from any of them.
            sendFrom("n3", 2, tls(system, "n2"), address);   // n2's certificate, saying it is n3
            sendFrom("n2", 3, tls(other, "n2"), address);    // another authority's certificate
            sendFrom("n2", 4, null, address);                // no TLS at all
            // The first node is still served: the refusals harmed nothing.
            sendFrom("n2", 5, tls(system, "n2"), address);
            await().atMost(Duration.ofSeconds(20)).until(() -> received.contains("n2 5"));
            assertThat(received).containsOnly("n2 1", "n2 5");
        }
    }
}
