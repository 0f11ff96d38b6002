package io.pairstep.cli;

import io.pairstep.client.ClientOptions;
import io.pairstep.client.TlsFiles;
import io.pairstep.runtime.access.AccessToken;
import io.pairstep.runtime.access.PeerHttp;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * A local Pairstep system of separate node processes, driven through this distribution's own
 * commands exactly as a user would drive it. The demo, the bench and the fault tests share it.
 */
public final class LocalSystem implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final boolean deleteOnClose;
    /** Plain HTTP or HTTPS, as the nodes serve; made once cluster.json says which. */
    private PeerHttp web;

    private LocalSystem(Path dir, boolean deleteOnClose) {
        this.dir = dir;
        this.deleteOnClose = deleteOnClose;
    }

    /**
     * Starts {@code nodes} nodes in {@code dir} and waits until they are up.
     *
     * @param deleteOnClose remove the directory when the system is closed
     */
    public static LocalSystem start(Path dir, int nodes, int basePort, String fsync, boolean deleteOnClose) {
        return start(dir, nodes, basePort, fsync, deleteOnClose, List.of());
    }

    /** As {@link #start(Path, int, int, String, boolean)}, with more options of {@code cluster start}. */
    public static LocalSystem start(Path dir, int nodes, int basePort, String fsync, boolean deleteOnClose,
            List<String> moreOptions) {
        LocalSystem system = new LocalSystem(dir, deleteOnClose);
        List<String> arguments = new ArrayList<>(List.of("cluster", "start", "--nodes", Integer.toString(nodes),
                "--dir", dir.toString(), "--base-port", Integer.toString(basePort), "--fsync", fsync));
        arguments.addAll(moreOptions);
        system.cli(arguments.toArray(String[]::new));
        return system;
    }

    /**
     * A base port whose ports are all free for a system of up to nine nodes. The search stays below
     * 32768, where Linux hands out ephemeral ports for outgoing connections, and starts from the
     * process id (or from {@code -Dpairstep.test.basePort}) so that concurrent runs seldom probe the same ports.
     */
    public static int freeBasePort() {
        int slots = (32_000 - 20_000) / 100;
        int first = (int) (ProcessHandle.current().pid() % slots);
        // Several test runs on one machine may each be given their own range to start from.
        Integer wanted = Integer.getInteger("pairstep.test.basePort");
        if (wanted != null && wanted >= 20_000 && wanted < 32_000) {
            first = (wanted - 20_000) / 100;
        }
        for (int i = 0; i < slots; i++) {
            int base = 20_000 + ((first + i) % slots) * 100;
            boolean free = true;
            for (int port = base + 11; port <= base + 93 && free; port++) {
                free = LocalProcesses.isFree("127.0.0.1", port);
            }
            if (free) {
                return base;
            }
        }
        throw new CliException("no free range of ports between 20000 and 32000 for a local system");
    }

    public Path dir() {
        return dir;
    }

    /** Runs a {@code pairstep} command in a child process; returns its output or throws with it. */
    public String cli(String... arguments) {
        return run(arguments);
    }

    /** Runs a {@code pairstep} command in a child process, attached to no system. */
    public static String run(String... arguments) {
        return run(Duration.ofSeconds(120), arguments);
    }

    /** As {@link #run(String...)}, for a command that may take longer than two minutes. */
    public static String run(Duration timeout, String... arguments) {
        List<String> command = new ArrayList<>(LocalProcesses.shortCommandPrefix());
        command.addAll(List.of(arguments));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            process.getOutputStream().close();
            byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new CliException("pairstep " + String.join(" ", arguments) + " did not finish within " + timeout.toSeconds() + " s");
            }
            String text = new String(output, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new CliException("pairstep " + String.join(" ", arguments) + " failed (exit " + process.exitValue() + "): " + text.strip());
            }
            return text;
        } catch (IOException e) {
            throw new CliException("cannot run pairstep " + String.join(" ", arguments) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }

    public void deploy(String name, String example, String mode, int partitions) {
        cli("deploy", name, "--example", example, "--mode", mode, "--partitions", Integer.toString(partitions), "--dir", dir.toString());
    }

    /** The nodes' HTTP addresses, as host:port. */
    public List<String> httpAddresses() {
        return clusterFile().nodes().stream().map(ClusterFile.Node::http).toList();
    }

    /** The system's access token, which the admin API asks for. */
    public AccessToken token() {
        return ClusterFile.localToken(dir);
    }

    public ClusterFile clusterFile() {
        return ClusterFile.read(dir);
    }

    /** Client options that bootstrap from every node's rpc address. */
    public ClientOptions clientOptions() {
        List<InetSocketAddress> seeds = new ArrayList<>();
        for (ClusterFile.Node node : clusterFile().nodes()) {
            HostPort rpc = node.rpcAddress();
            seeds.add(new InetSocketAddress(rpc.host(), rpc.port()));
        }
        ClientOptions options = ClientOptions.of(seeds);
        return tls() ? options.withTls(clientTls(dir)) : options;
    }

    /** Whether the system's nodes were started with TLS (by {@code cluster start --tls}). */
    public boolean tls() {
        return clusterFile().authority() != null;
    }

    /** How to reach the nodes' HTTP servers: HTTPS trusting the system's authority when it runs with TLS. */
    public synchronized PeerHttp web() {
        if (web == null) {
            web = PeerHttp.of(clusterFile().authority(), Duration.ofSeconds(2));
        }
        return web;
    }

    /** The client certificate that {@code pairstep certs} made for a local system. */
    public static TlsFiles clientTls(Path dir) {
        CertsCommand.CertificateFiles client = CertsCommand.files(dir, CertsCommand.CLIENT);
        return new TlsFiles(client.certificate(), client.key(), CertsCommand.files(dir, CertsCommand.CA).certificate());
    }

    /**
     * The newest status document among the nodes that answer, or null when none does. Every node
     * answers for the whole system, but one that was just paused may still hold an older picture,
     * so the highest {@code version} wins.
     */
    public JsonNode status() {
        JsonNode newest = null;
        for (ClusterFile.Node node : clusterFile().nodes()) {
            try {
                HttpRequest request = ApiClient.authorize(HttpRequest.newBuilder(web().uri(node.http(), "/v1/status")),
                        token()).timeout(Duration.ofSeconds(2)).build();
                HttpResponse<String> response = web().client().send(request, HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    JsonNode document = JSON.readTree(response.body());
                    if (newest == null || document.get("version").asLong() > newest.get("version").asLong()) {
                        newest = document;
                    }
                }
            } catch (IOException e) {
                // This node may be down or paused: the others answer.
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return newest;
            }
        }
        return newest;
    }

    /** The node that hosts the primary of a group, or null when unknown. */
    public String primaryOf(String service, int partition) {
        JsonNode status = status();
        if (status == null) {
            return null;
        }
        for (JsonNode group : status.get("groups")) {
            if (group.get("service").asString().equals(service) && group.get("partition").asInt() == partition) {
                for (JsonNode replica : group.get("replicas")) {
                    if (replica.get("role").asString().equals("primary")) {
                        return replica.get("node").asString();
                    }
                }
            }
        }
        return null;
    }

    /** True when every node is up and every group has its full set of replicas, all in sync. */
    public boolean fullyProtected() {
        return Readiness.fullyProtected(status());
    }

    /** Waits until {@link #fullyProtected}; false after the timeout. */
    public boolean awaitFullyProtected(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (fullyProtected()) {
                return true;
            }
            sleep(200);
        }
        return false;
    }

    /** SIGKILL of a node's process. */
    public void kill(String node) {
        long pid = clusterFile().node(node).pid();
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** Starts a stopped node again on its data directory and ports, and waits until it is up. */
    public void restart(String node) {
        cli("cluster", "start-node", "--dir", dir.toString(), "--id", node);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        try {
            if (Files.exists(dir.resolve(ClusterFile.FILE_NAME))) {
                cli("cluster", "stop", "--dir", dir.toString());
            }
        } finally {
            if (deleteOnClose) {
                try (Stream<Path> paths = Files.walk(dir)) {
                    paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
                } catch (IOException e) {
                    // Best effort: a temporary directory left behind is harmless.
                }
            }
        }
    }
}
