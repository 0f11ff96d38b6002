package io.pairstep.cli;

import io.pairstep.runtime.access.AccessToken;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.function.Supplier;
import tools.jackson.core.JacksonException;

/**
 * {@code DIR/cluster.json}: what {@code cluster start} launched, so that later commands given
 * {@code --dir DIR} can find the nodes' addresses and processes.
 *
 * <pre>{"system":"&lt;id&gt;","nodes":[{"id":"n1","pid":1234,"http":"127.0.0.1:7111","rpc":"127.0.0.1:7112",
 *   "data":"/abs/DIR/n1/data","command":["/usr/lib/jvm/.../java", ..., "node", "--id", "n1", ...]}]}</pre>
 */
public record ClusterFile(String system, List<Node> nodes) {

    public static final String FILE_NAME = "cluster.json";

    /** One node: its id, last known process id, addresses, data directory and exact launch command. */
    public record Node(String id, long pid, String http, String rpc, String data, List<String> command) {

        public Node {
            command = command == null ? List.of() : List.copyOf(command);
        }

        public Node withPid(long newPid) {
            return new Node(id, newPid, http, rpc, data, command);
        }

        public HostPort httpAddress() {
            return HostPort.parse(http, "node " + id + " http address in " + FILE_NAME);
        }

        public HostPort rpcAddress() {
            return HostPort.parse(rpc, "node " + id + " rpc address in " + FILE_NAME);
        }
    }

    public ClusterFile {
        nodes = nodes == null ? List.of() : List.copyOf(nodes);
    }

    public static Path path(Path dir) {
        return dir.resolve(FILE_NAME);
    }

    /** The directory of a node's files ({@code node.log}, {@code data/}). */
    public static Path nodeDir(Path dir, String id) {
        return dir.resolve(id);
    }

    /** The system's access token, {@code DIR/token}, readable by its owner only. */
    public static Path tokenFile(Path dir) {
        return dir.resolve(AccessToken.FILE_NAME);
    }

    /** The token of a local system's directory, or null when it has none (a system made before tokens). */
    public static AccessToken localToken(Path dir) {
        Path file = tokenFile(dir);
        return Files.exists(file) ? token(file, "") : null;
    }

    /** Reads a token file; anything wrong with it is a {@link CliException} that names it. */
    static AccessToken token(Path file, String what) {
        try {
            return AccessToken.read(file);
        } catch (IllegalArgumentException e) {
            throw new CliException(what + e.getMessage(), ExitCodes.USAGE);
        } catch (java.io.UncheckedIOException e) {
            throw new CliException(what + "cannot read " + file + ": " + ApiClient.describe(e.getCause()));
        }
    }

    public static Path logFile(Path dir, String id) {
        return nodeDir(dir, id).resolve("node.log");
    }

    /** Reads {@code DIR/cluster.json}; a missing or malformed file is a {@link CliException}. */
    public static ClusterFile read(Path dir) {
        Path file = path(dir);
        ClusterFile cf;
        try {
            cf = Json.MAPPER.readValue(Files.readAllBytes(file), ClusterFile.class);
        } catch (NoSuchFileException e) {
            throw new CliException("no " + FILE_NAME + " in " + dir
                    + " (is it a directory made by 'pairstep cluster start --dir'?)");
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + ApiClient.describe(e));
        } catch (JacksonException e) {
            throw new CliException(file + " is not a valid cluster file: " + e.getOriginalMessage());
        }
        if (cf == null || cf.nodes().isEmpty()) {
            throw new CliException(file + " lists no nodes");
        }
        for (Node n : cf.nodes()) {
            if (n == null || n.id() == null || n.http() == null) {
                throw new CliException(file + " is not a valid cluster file: a node lacks its id or http address");
            }
        }
        return cf;
    }

    /** Writes {@code DIR/cluster.json} atomically (a temporary file moved into place). */
    public void write(Path dir) {
        Path file = path(dir);
        Path tmp = dir.resolve(FILE_NAME + ".tmp");
        try {
            Files.createDirectories(dir);
            Files.write(tmp, Json.PRETTY.writeValueAsBytes(this));
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new CliException("cannot write " + file + ": " + ApiClient.describe(e));
        }
    }

    /** Runs {@code action} holding an exclusive lock on {@code DIR/cluster.json.lock}. */
    public static <T> T locked(Path dir, Supplier<T> action) {
        Path lockFile = dir.resolve(FILE_NAME + ".lock");
        try {
            Files.createDirectories(dir);
            try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock lock = ch.lock();
                try {
                    return action.get();
                } finally {
                    lock.release();
                }
            }
        } catch (IOException e) {
            throw new CliException("cannot lock " + lockFile + ": " + ApiClient.describe(e));
        }
    }

    /** The node with this id, or a {@link CliException} listing the known ids. */
    public Node node(String id) {
        for (Node n : nodes) {
            if (n.id().equals(id)) {
                return n;
            }
        }
        throw new CliException(unknownNode(id, nodes.stream().map(Node::id).toList()));
    }

    public ClusterFile withNode(Node node) {
        List<Node> copy = new ArrayList<>(nodes.size());
        for (Node n : nodes) {
            copy.add(n.id().equals(node.id()) ? node : n);
        }
        return new ClusterFile(system, copy);
    }

    /**
     * The authority certificate the nodes were started with ({@code --tls-ca} in their launch
     * commands, as {@code cluster start --tls} records them), or null for a system without TLS.
     */
    public Path authority() {
        return authority(nodes);
    }

    /** As {@link #authority()}, for the nodes of a cluster file being written. */
    static Path authority(List<Node> nodes) {
        for (Node n : nodes) {
            int at = n.command().indexOf("--tls-ca");
            if (at >= 0 && at + 1 < n.command().size()) {
                return Path.of(n.command().get(at + 1));
            }
        }
        return null;
    }

    public List<HostPort> httpAddresses() {
        return nodes.stream().map(Node::httpAddress).toList();
    }

    static String unknownNode(String id, List<String> known) {
        StringJoiner j = new StringJoiner(", ");
        known.forEach(j::add);
        return "unknown node '" + id + "'; known nodes: " + (known.isEmpty() ? "(none)" : j.toString());
    }
}
