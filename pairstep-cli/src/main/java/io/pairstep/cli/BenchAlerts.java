package io.pairstep.cli;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The alert side of {@code pairstep bench --alerts healthy|down|slow}: an availability file whose
 * thresholds flap on purpose (partition throughput at several levels, no hold time), so that the
 * nodes raise alerts all through the run, and a webhook receiver on loopback that answers at once
 * ({@code healthy}, the baseline with the same alerts), is down until the load ends, or answers each
 * alert slowly. Afterwards it reports how many alerts the nodes raised, and for {@code down} starts
 * the receiver and waits for all of them to arrive: the claim is that commands do not feel the
 * receiver, and that no alert is lost while it is away.
 */
final class BenchAlerts implements AutoCloseable {

    /** Throughput levels that a kv partition under bench load crosses often, so that alerts keep coming. */
    private static final List<Integer> FLAPPING_LEVELS = List.of(250, 500, 1_000, 2_000, 4_000);
    private static final Pattern LOGGED_ID = Pattern.compile("alert [a-z.]+: \\{id=([^,}]+)");
    private static final Pattern POSTED_ID = Pattern.compile("\"id\"\\s*:\\s*\"([^\"]+)\"");

    private final String mode;
    private final long delayMillis;
    private final Path file;
    private final int port;
    private final Set<String> received = ConcurrentHashMap.newKeySet();
    private HttpServer server;

    private BenchAlerts(String mode, long delayMillis, int port, Path file) {
        this.file = file;
        this.mode = mode;
        this.delayMillis = delayMillis;
        this.port = port;
    }

    /** Writes the availability file into {@code dir}; a slow receiver starts at once, a down one only in {@link #receiverBack}. */
    static BenchAlerts start(String mode, long delayMillis, Path dir) throws IOException {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        }
        BenchAlerts alerts = new BenchAlerts(mode, delayMillis, port, dir.resolve("bench-availability.yaml"));
        StringBuilder yaml = new StringBuilder("thresholds:\n");
        for (int level : FLAPPING_LEVELS) {
            yaml.append("  - {metric: partition.throughput, fire: ").append(level).append(", duration: 0s, service: kv}\n");
        }
        // A slow receiver is slow, not failing: the webhook waits longer than it takes to answer. (One slower
        // than the webhook's timeout fails every attempt and blocks the alerts behind; WebhookDeliveryTest shows that.)
        long timeoutMillis = mode.equals("slow") ? delayMillis + 5_000 : 5_000;
        yaml.append("actions:\n  - {type: webhook, url: \"http://127.0.0.1:").append(port).append("/alerts\", timeout: ")
                .append(timeoutMillis).append("ms}\n");
        Files.writeString(alerts.file, yaml);
        if (!mode.equals("down")) {
            alerts.listen();
        }
        return alerts;
    }

    /** The availability file the nodes run with. */
    Path file() {
        return file;
    }

    String describe() {
        return switch (mode) {
            case "down" -> "webhook receiver down during the run";
            case "healthy" -> "webhook receiver answering at once";
            default -> "webhook receiver answering after " + delayMillis + " ms";
        };
    }

    /**
     * After the measured run: reports the alerts the nodes raised, brings a down receiver back and
     * waits (up to {@code waitMillis}) until every one of them has been delivered.
     */
    void receiverBack(Path systemDir, int nodes, long waitMillis, PrintStream out) throws IOException, InterruptedException {
        Set<String> raised = raised(systemDir, nodes);
        out.printf("alerts      %,d raised by the nodes during the run, %,d delivered meanwhile (%s)%n", raised.size(),
                raised.stream().filter(received::contains).count(), describe());
        if (mode.equals("down")) {
            listen();
        }
        long start = System.nanoTime();
        long deadline = start + waitMillis * 1_000_000;
        while (!received.containsAll(raised) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        long missing = raised.stream().filter(id -> !received.contains(id)).count();
        out.printf("            %s: %,d of %,d delivered %.1f s after the load ended%s%n",
                switch (mode) {
                    case "down" -> "receiver back";
                    case "healthy" -> "healthy receiver";
                    default -> "slow receiver";
                }, raised.size() - missing, raised.size(),
                (System.nanoTime() - start) / 1e9, missing == 0 ? "" : " (" + missing + " still queued when the wait ended)");
    }

    /** The ids of every alert the nodes logged, which the availability manager does for each alert it raises. */
    private static Set<String> raised(Path systemDir, int nodes) throws IOException {
        Set<String> ids = new LinkedHashSet<>();
        for (int i = 1; i <= nodes; i++) {
            Path log = systemDir.resolve("n" + i).resolve("node.log");
            if (Files.exists(log)) {
                for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                    Matcher matcher = LOGGED_ID.matcher(line);
                    if (matcher.find()) {
                        ids.add(matcher.group(1));
                    }
                }
            }
        }
        return ids;
    }

    private void listen() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        // Each node's webhook is answered on its own thread, as by a real receiver: one thread would make
        // three nodes wait for each other's slow answers until their attempts time out.
        server.setExecutor(java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread thread = new Thread(r, "bench-webhook");
            thread.setDaemon(true);
            return thread;
        }));
        server.createContext("/alerts", exchange -> {
            String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            if (mode.equals("slow")) {
                try {
                    Thread.sleep(delayMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            Matcher matcher = POSTED_ID.matcher(body);
            if (matcher.find()) {
                received.add(matcher.group(1));
            }
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.start();
    }

    @Override
    public void close() throws IOException {
        if (server != null) {
            server.stop(0);
        }
        Files.deleteIfExists(file);
        Files.deleteIfExists(file.getParent());
    }
}
