package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.cli.ClusterFile;
import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pairstep rolling-restart} under load, with real node processes: every node is drained,
 * stopped, started again on its data and undrained in turn while clients check every answer
 * against their model. No client sees an error, nothing is lost or applied twice, and every node
 * ends with a new process. The system runs with TLS, and its certificates are renewed ({@code
 * pairstep certs --renew}) just before: the restart is also a certificate rotation, after which
 * every node serves its new certificate while the clients connected before go on.
 */
class RollingRestartIT {

    private static final int CLIENTS = 4;

    @TempDir
    Path dir;

    @Test
    void everyNodeRestartsInTurnUnderLoadWithNoClientVisibleError() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("RollingRestartIT seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        try (LocalSystem system = LocalSystem.start(dir, 4, LocalSystem.freeBasePort(), "always", false, List.of("--tls", "--wait", "240"))) {
            system.deploy("kv", "kv", "pair", 4);
            system.deploy("votes", "kv", "tmr", 1);
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(120))).isTrue();
            Map<String, Long> pidsBefore = pids(system);
            Map<String, BigInteger> certificatesBefore = served(system);
            for (ClusterFile.Node node : system.clusterFile().nodes()) {
                assertThat(certificatesBefore.get(node.id())).as("%s serves its certificate", node.id()).isEqualTo(serialOnDisk(node.id()));
            }
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                KvModelLoad load = new KvModelLoad(client, "kv", CLIENTS, seed);
                KvModelLoad votes = new KvModelLoad(client, "votes", 2, seed + CLIENTS);
                load.start();
                votes.start();
                Thread.sleep(1000);

                String renewed = LocalSystem.run("certs", "--dir", dir.toString(), "--nodes", "4", "--renew");
                assertThat(renewed).contains("certs/n4.pem", "certs/client.key");
                String output = LocalSystem.run(Duration.ofMinutes(20), "rolling-restart", "--dir", dir.toString());
                System.out.println("RollingRestartIT: " + output.strip());
                assertThat(output).contains("[1/4] n4", "rolling restart done: 4 node(s) restarted");

                Thread.sleep(1000);
                check(client, load);
                check(client, votes);
            }
            // The last node restarted gets its share of replicas back now, one move at a time: each
            // move adds a replica that syncs before the old one leaves, so the check waits for the moves.
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("every group fully protected: %s", system.status())
                    .isTrue();
            Map<String, BigInteger> certificatesAfter = served(system);
            for (ClusterFile.Node node : system.clusterFile().nodes()) {
                assertThat(certificatesAfter.get(node.id())).as("%s serves its renewed certificate", node.id())
                        .isEqualTo(serialOnDisk(node.id())).isNotEqualTo(certificatesBefore.get(node.id()));
            }
            Map<String, Long> pidsAfter = pids(system);
            pidsBefore.forEach((node, pid) -> assertThat(pidsAfter.get(node)).as("pid of %s", node).isNotEqualTo(pid));
            system.status().get("nodes").forEach(node -> assertThat(node.get("pid").asLong())
                    .as("pid %s reports", node.get("id").asString()).isEqualTo(pidsAfter.get(node.get("id").asString())));
        }
    }

    /** Stops a load and checks that its clients saw no error and every key holds what they computed. */
    private static void check(PairstepClient client, KvModelLoad load) throws InterruptedException {
        load.stop();
        System.out.printf("RollingRestartIT %s: %d acknowledged, %d wrong, %d errors%n", load.service, load.acknowledged.get(),
                load.wrong.size(), load.errors.size());
        assertThat(load.errors).as("client-visible errors of %s", load.service).isEmpty();
        assertThat(load.wrong).as("results of %s that differ from the model", load.service).isEmpty();
        assertThat(load.acknowledged.get()).as("commands of %s acknowledged", load.service).isGreaterThan(100);
        for (Map.Entry<String, Long> entry : load.model.entrySet()) {
            assertThat(LedgerLoad.call(client, load.service, entry.getKey(), "{\"op\":\"get\",\"key\":\"" + entry.getKey() + "\"}"))
                    .as(entry.getKey()).isEqualTo("{\"value\":" + entry.getValue() + "}");
        }
    }

    private static Map<String, Long> pids(LocalSystem system) {
        return system.clusterFile().nodes().stream().collect(Collectors.toMap(ClusterFile.Node::id, ClusterFile.Node::pid));
    }

    private BigInteger serialOnDisk(String name) throws Exception {
        try (InputStream in = Files.newInputStream(dir.resolve("certs").resolve(name + ".pem"))) {
            return ((X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in)).getSerialNumber();
        }
    }

    /** The serial number of the certificate each node's HTTPS server presents, trusting only the system's authority. */
    private Map<String, BigInteger> served(LocalSystem system) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(dir.resolve("certs").resolve("ca.pem"))) {
            trust.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory trustManagers = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trustManagers.init(trust);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(null, trustManagers.getTrustManagers(), null);
        Map<String, BigInteger> serials = new HashMap<>();
        for (ClusterFile.Node node : system.clusterFile().nodes()) {
            try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket(node.httpAddress().host(), node.httpAddress().port())) {
                socket.startHandshake();
                serials.put(node.id(), ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber());
            }
        }
        return serials;
    }
}
