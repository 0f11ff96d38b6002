package io.pairstep.runtime;

import io.pairstep.client.TlsFiles;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;

/**
 * How one node runs.
 *
 * @param id stable node id such as {@code n1}
 * @param dataDirectory where the node keeps its controller log, replica logs and identity
 * @param http address of the HTTP gateway and admin API
 * @param rpc address of the binary transport; the controller's Raft port is this port plus one
 * @param seeds the controller nodes (the first three of the system) with their rpc addresses
 * @param systemId the system this node belongs to, or null to take it from the data directory
 *     or derive it from the seeds
 * @param fsyncPolicy {@code always}, {@code interval} or {@code none}
 * @param maxCommandBytes the largest command a client may send
 * @param availabilityFile the availability configuration (YAML: thresholds and alert actions), or
 *     null to run no availability manager; see {@code io.pairstep.avail.config.ConfigParser}
 * @param watchdogMillis how long a service may run one command before its replica counts as crashed
 *     and the command as poison; 0 runs services with no watchdog, on their agent's thread
 * @param tokenFile the system's access token, copied into the data directory on the node's first
 *     start; null for a node that has one there already, or that starts a new system (it makes one)
 * @param tls the node's certificate, key and the system's authority for TLS on the node transport
 *     (node to node, and clients) and the controller, and for HTTPS on {@code http}; null for plain
 *     TCP and HTTP
 */
public record NodeConfig(
        String id,
        Path dataDirectory,
        InetSocketAddress http,
        InetSocketAddress rpc,
        List<Seed> seeds,
        String systemId,
        String fsyncPolicy,
        int maxCommandBytes,
        Path availabilityFile,
        long watchdogMillis,
        Path tokenFile,
        TlsFiles tls) {

    /** A controller node. */
    public record Seed(String id, InetSocketAddress rpc) {}

    public static final int MAX_COMMAND_BYTES_DEFAULT = 1024 * 1024;
    /** Long enough for any sane command, short enough that a stuck one is a short stall of its group. */
    public static final long WATCHDOG_MILLIS_DEFAULT = 2000;

    public NodeConfig {
        seeds = List.copyOf(seeds);
        if (watchdogMillis < 0) {
            throw new IllegalArgumentException("the watchdog limit must be 0 (none) or more milliseconds, got " + watchdogMillis);
        }
    }

    /** A node with the default watchdog. */
    public NodeConfig(String id, Path dataDirectory, InetSocketAddress http, InetSocketAddress rpc, List<Seed> seeds,
            String systemId, String fsyncPolicy, int maxCommandBytes, Path availabilityFile) {
        this(id, dataDirectory, http, rpc, seeds, systemId, fsyncPolicy, maxCommandBytes, availabilityFile, WATCHDOG_MILLIS_DEFAULT);
    }

    /** A node without an access token file of its own and without TLS. */
    public NodeConfig(String id, Path dataDirectory, InetSocketAddress http, InetSocketAddress rpc, List<Seed> seeds,
            String systemId, String fsyncPolicy, int maxCommandBytes, Path availabilityFile, long watchdogMillis) {
        this(id, dataDirectory, http, rpc, seeds, systemId, fsyncPolicy, maxCommandBytes, availabilityFile, watchdogMillis, null, null);
    }

    /** A node without an availability manager. */
    public NodeConfig(String id, Path dataDirectory, InetSocketAddress http, InetSocketAddress rpc, List<Seed> seeds,
            String systemId, String fsyncPolicy, int maxCommandBytes) {
        this(id, dataDirectory, http, rpc, seeds, systemId, fsyncPolicy, maxCommandBytes, null);
    }

    /** The Raft address of a controller node: its rpc port plus one. */
    public static InetSocketAddress controllerAddress(InetSocketAddress rpc) {
        return new InetSocketAddress(rpc.getHostString(), rpc.getPort() + 1);
    }
}
