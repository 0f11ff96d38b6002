package io.pairstep.avail.snmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.avail.alert.Alerts;
import io.pairstep.avail.alert.QueuedAction;
import io.pairstep.avail.alert.RetryPolicy;
import io.pairstep.avail.config.ActionConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Traps received by a real net-snmp {@code snmptrapd} on a free loopback port, which decodes them
 * with PAIRSTEP-MIB: names and enumerations in its output prove the trap and the MIB agree.
 */
class SnmpTrapDeliveryTest {

    private static final String ENGINE_ID = "0x8000000001020304";

    @TempDir
    Path dir;

    private final Alerts.Problems problems = new Alerts.Problems();
    private final List<String> received = new CopyOnWriteArrayList<>();
    private Process trapd;

    @AfterEach
    void stopTrapd() throws InterruptedException {
        if (trapd != null) {
            trapd.destroy();
            trapd.waitFor();
        }
    }

    @Test
    void aNodeBrokenTrapArrivesOverV2cWithItsVarbinds() throws Exception {
        int port = startTrapd("");
        ActionConfig.Snmp config = new ActionConfig.Snmp("127.0.0.1", port, "public", null);

        try (QueuedAction action = new QueuedAction(new SnmpTrapDelivery(config, "n1"), 10, RetryPolicy.NONE, problems)) {
            assertThat(Alerts.offerMillis(action, Alerts.nodeBroken("n1-1"))).isLessThan(200);
            String trap = awaitTrap("n1-1");

            assertThat(trap).contains(
                    "= OID: PAIRSTEP-MIB::pairstepComponentBroken",
                    "PAIRSTEP-MIB::pairstepAlertId.0 = STRING: n1-1",
                    "PAIRSTEP-MIB::pairstepNodeId.0 = STRING: n1",
                    "PAIRSTEP-MIB::pairstepComponentType.0 = INTEGER: node(1)",
                    "PAIRSTEP-MIB::pairstepComponentId.0 = STRING: n2",
                    "PAIRSTEP-MIB::pairstepPreviousState.0 = INTEGER: up(1)",
                    "PAIRSTEP-MIB::pairstepReason.0 = STRING: connection closed; lease expired");
        }
        assertThat(problems.messages()).isEmpty();
    }

    @Test
    void aThresholdTrapArrivesOverV3WithAuthenticationAndPrivacy() throws Exception {
        int port = startTrapd("createUser -e " + ENGINE_ID + " pairstep SHA-256 authpass123 AES privpass123\n");
        ActionConfig.Snmp config = new ActionConfig.Snmp("127.0.0.1", port, null, new ActionConfig.SnmpV3("pairstep",
                ActionConfig.AuthProtocol.SHA256, "authpass123", "privpass123", ENGINE_ID));

        try (QueuedAction action = new QueuedAction(new SnmpTrapDelivery(config, "n1"), 10, RetryPolicy.NONE, problems)) {
            action.offer(Alerts.diskLow("n1-2"));
            String trap = awaitTrap("n1-2");

            assertThat(trap).contains(
                    "= OID: PAIRSTEP-MIB::pairstepThresholdFired",
                    "PAIRSTEP-MIB::pairstepMetric.0 = STRING: node.disk.free.bytes",
                    "PAIRSTEP-MIB::pairstepSubject.0 = STRING: /var/lib/pairstep",
                    "PAIRSTEP-MIB::pairstepValue.0 = STRING: 5.0E8",
                    "PAIRSTEP-MIB::pairstepLevel.0 = STRING: 1.0E9");
        }
    }

    @Test
    void aV3TrapWithWrongKeysIsNotAccepted() throws Exception {
        int port = startTrapd("createUser -e " + ENGINE_ID + " pairstep SHA-256 authpass123 AES privpass123\n");
        ActionConfig.Snmp wrong = new ActionConfig.Snmp("127.0.0.1", port, null, new ActionConfig.SnmpV3("pairstep",
                ActionConfig.AuthProtocol.SHA256, "wrongpass123", "privpass123", ENGINE_ID));
        ActionConfig.Snmp right = new ActionConfig.Snmp("127.0.0.1", port, null, new ActionConfig.SnmpV3("pairstep",
                ActionConfig.AuthProtocol.SHA256, "authpass123", "privpass123", ENGINE_ID));

        try (QueuedAction bad = new QueuedAction(new SnmpTrapDelivery(wrong, "n1"), 10, RetryPolicy.NONE, problems);
                QueuedAction good = new QueuedAction(new SnmpTrapDelivery(right, "n1"), 10, RetryPolicy.NONE, problems)) {
            bad.offer(Alerts.nodeBroken("forged"));
            await().atMost(Duration.ofSeconds(10)).until(() -> received.contains("Authentication failed for pairstep"));
            good.offer(Alerts.nodeBroken("genuine"));
            awaitTrap("genuine");
        }

        assertThat(received).noneMatch(line -> line.contains("forged"));
    }

    /** Starts snmptrapd on a free loopback port with {@code extraConfig}, and waits until it listens. */
    private int startTrapd(String extraConfig) throws Exception {
        NetSnmp.requireBaseMibs();
        Path config = dir.resolve("snmptrapd.conf");
        Files.writeString(config, "disableAuthorization yes\n" + extraConfig);
        int port;
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        ProcessBuilder builder = new ProcessBuilder(NetSnmp.tool("snmptrapd"), "-f", "-Lo", "-C", "-c", config.toString(),
                "-M", "+" + NetSnmp.mibDirectory(), "-m", "PAIRSTEP-MIB", "udp:127.0.0.1:" + port)
                .redirectErrorStream(true);
        // Its own state directory: snmptrapd keeps SNMPv3 engine boots there.
        builder.environment().put("SNMP_PERSISTENT_DIR", dir.resolve("persist").toString());
        trapd = builder.start();
        Thread.ofPlatform().daemon().start(() -> readLines(trapd));
        await().atMost(Duration.ofSeconds(10)).until(() -> received.stream().anyMatch(line -> line.startsWith("NET-SNMP version")));
        return port;
    }

    private void readLines(Process process) {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                System.out.println("snmptrapd: " + line);
                received.add(line);
            }
        } catch (IOException e) {
            // snmptrapd stopped.
        }
    }

    /** The varbind line of the trap that carries {@code alertId}; snmptrapd prints one line per trap. */
    private String awaitTrap(String alertId) {
        String marker = "pairstepAlertId.0 = STRING: " + alertId;
        await().atMost(Duration.ofSeconds(10)).until(() -> received.stream().anyMatch(line -> line.contains(marker)));
        return received.stream().filter(line -> line.contains(marker)).findFirst().orElseThrow();
    }
}
