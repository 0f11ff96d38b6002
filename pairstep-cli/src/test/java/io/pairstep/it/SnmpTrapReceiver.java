package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

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

/**
 * A real net-snmp {@code snmptrapd} on a free loopback port, with PAIRSTEP-MIB loaded, whose
 * output lines the tests read: one line per trap, with the MIB's names.
 */
final class SnmpTrapReceiver implements AutoCloseable {

    private static final String HINT = "run scripts/install-test-deps (Debian packages snmp and snmptrapd)";

    private final List<String> received = new CopyOnWriteArrayList<>();
    private final Process trapd;
    private final int port;

    private SnmpTrapReceiver(Process trapd, int port) {
        this.trapd = trapd;
        this.port = port;
    }

    /** Starts snmptrapd with its files under {@code dir} and waits until it listens. */
    static SnmpTrapReceiver start(Path dir) throws IOException {
        Path mibs = Path.of("..", "pairstep-avail", "src", "main", "resources", "mib").toAbsolutePath().normalize();
        assertThat(mibs.resolve("PAIRSTEP-MIB.txt")).exists();
        Path config = dir.resolve("snmptrapd.conf");
        Files.writeString(config, "disableAuthorization yes\n");
        int port;
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        ProcessBuilder builder = new ProcessBuilder(tool("snmptrapd"), "-f", "-Lo", "-C", "-c", config.toString(),
                "-M", "+" + mibs, "-m", "PAIRSTEP-MIB", "udp:127.0.0.1:" + port).redirectErrorStream(true);
        builder.environment().put("SNMP_PERSISTENT_DIR", dir.resolve("snmp-persist").toString());
        SnmpTrapReceiver receiver = new SnmpTrapReceiver(builder.start(), port);
        Thread.ofPlatform().daemon().start(receiver::read);
        await().atMost(Duration.ofSeconds(10)).until(() -> receiver.received.stream().anyMatch(line -> line.startsWith("NET-SNMP version")));
        return receiver;
    }

    int port() {
        return port;
    }

    /** Every line snmptrapd printed so far. */
    List<String> lines() {
        return received;
    }

    /** The line of the first trap of {@code notification} about component {@code component}. */
    String awaitTrap(String notification, String component, Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(20)).until(() -> find(notification, component) != null);
        return find(notification, component);
    }

    /** The line of the first trap of {@code notification} about component {@code component}, or null. */
    String find(String notification, String component) {
        String id = "pairstepComponentId.0 = STRING: " + component;
        return received.stream().filter(line -> line.contains("OID: PAIRSTEP-MIB::" + notification) && containsId(line, id))
                .findFirst().orElse(null);
    }

    /** True when the line names exactly this component (n1 must not match n1x or kv/0@n1). */
    static boolean containsId(String line, String id) {
        int at = line.indexOf(id);
        if (at < 0) {
            return false;
        }
        int end = at + id.length();
        return end == line.length() || !Character.isLetterOrDigit(line.charAt(end)) && line.charAt(end) != '/';
    }

    private void read() {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(trapd.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                received.add(line);
            }
        } catch (IOException e) {
            // snmptrapd stopped.
        }
    }

    private static String tool(String name) {
        for (String dirName : List.of("/usr/sbin", "/usr/bin")) {
            Path candidate = Path.of(dirName, name);
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return fail("net-snmp's " + name + " is not installed: " + HINT);
    }

    @Override
    public void close() throws InterruptedException {
        trapd.destroy();
        trapd.waitFor();
    }
}
