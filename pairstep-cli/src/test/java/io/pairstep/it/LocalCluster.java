package io.pairstep.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * A real Pairstep system of separate JVM processes on 127.0.0.1, driven through the {@code
 * pairstep} distribution jar exactly as a user would.
 */
final class LocalCluster implements AutoCloseable {

    static final ObjectMapper JSON = new ObjectMapper();

    private final Path dir;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private LocalCluster(Path dir) {
        this.dir = dir;
    }

    static LocalCluster start(Path dir, int nodes) throws Exception {
        LocalCluster cluster = new LocalCluster(dir);
        cluster.cli("cluster", "start", "--nodes", Integer.toString(nodes), "--dir", dir.toString(), "--base-port", Integer.toString(basePort()));
        return cluster;
    }

    /** A base port per test run, so a leftover system of an aborted run cannot collide. */
    private static int basePort() {
        return 20000 + (int) (ProcessHandle.current().pid() % 200) * 100;
    }

    Path dir() {
        return dir;
    }

    /** Runs the CLI and returns its standard output; fails with its output when it exits non-zero. */
    String cli(String... arguments) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("-jar");
        command.add(System.getProperty("pairstep.jar", "target/pairstep.jar"));
        command.addAll(List.of(arguments));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getOutputStream().close();
        byte[] output = process.getInputStream().readAllBytes();
        if (!process.waitFor(120, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("pairstep " + String.join(" ", arguments) + " did not finish");
        }
        String text = new String(output, StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new AssertionError("pairstep " + String.join(" ", arguments) + " exited " + process.exitValue() + ":\n" + text);
        }
        return text;
    }

    JsonNode clusterFile() throws IOException {
        return JSON.readTree(Files.readString(dir.resolve("cluster.json")));
    }

    List<String> httpAddresses() throws IOException {
        List<String> addresses = new ArrayList<>();
        clusterFile().get("nodes").forEach(n -> addresses.add(n.get("http").asString()));
        return addresses;
    }

    List<String> rpcAddresses() throws IOException {
        List<String> addresses = new ArrayList<>();
        clusterFile().get("nodes").forEach(n -> addresses.add(n.get("rpc").asString()));
        return addresses;
    }

    /** The status document from the first node that answers. */
    JsonNode status() throws Exception {
        Exception last = null;
        for (String address : httpAddresses()) {
            try {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://" + address + "/v1/status"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (response.statusCode() == 200) {
                    return JSON.readTree(response.body());
                }
            } catch (IOException e) {
                last = e;
            }
        }
        throw new IllegalStateException("no node answered the status request", last);
    }

    /** Sends SIGKILL to a node's process, as {@code pairstep fault kill-node} does. */
    void kill(String node) throws Exception {
        for (JsonNode entry : clusterFile().get("nodes")) {
            if (entry.get("id").asString().equals(node)) {
                ProcessHandle.of(entry.get("pid").asLong()).ifPresent(ProcessHandle::destroyForcibly);
                return;
            }
        }
        throw new IllegalArgumentException("unknown node " + node);
    }

    /** The node hosting the primary of a group. */
    String primaryOf(String service, int partition) throws Exception {
        for (JsonNode group : status().get("groups")) {
            if (group.get("service").asString().equals(service) && group.get("partition").asInt() == partition) {
                for (JsonNode replica : group.get("replicas")) {
                    if (replica.get("role").asString().equals("primary")) {
                        return replica.get("node").asString();
                    }
                }
            }
        }
        throw new IllegalStateException("no primary for " + service + "/" + partition);
    }

    /** True when every node is up and every group has two replicas in sync. */
    boolean fullyProtected() throws Exception {
        JsonNode status = status();
        if (status.get("groups").isEmpty()) {
            return false;
        }
        for (JsonNode node : status.get("nodes")) {
            if (!node.get("state").asString().equals("up")) {
                return false;
            }
        }
        for (JsonNode group : status.get("groups")) {
            JsonNode replicas = group.get("replicas");
            if (replicas.size() != 2) {
                return false;
            }
            for (JsonNode replica : replicas) {
                if (!replica.get("state").asString().equals("ok")) {
                    return false;
                }
            }
        }
        return true;
    }

    @Override
    public void close() throws Exception {
        if (Files.exists(dir.resolve("cluster.json"))) {
            cli("cluster", "stop", "--dir", dir.toString());
        }
    }
}
