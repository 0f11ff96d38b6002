package io.pairstep.cli;

import io.pairstep.client.TlsFiles;
import io.pairstep.runtime.NodeConfig;
import io.pairstep.runtime.NodeMain;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pairstep node ...}: runs one node in the foreground until it stops. */
@Command(name = "node", mixinStandardHelpOptions = true,
        description = {"Runs one node of a system in the foreground until it stops.",
                "The node's controller (Raft) port is the rpc port + 1.",
                "With a subcommand, drains, undrains or removes a node of a running system instead."},
        subcommands = {NodeAdminCommands.Drain.class, NodeAdminCommands.Undrain.class, NodeAdminCommands.Remove.class})
public final class NodeCommand implements Callable<Integer> {

    static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
    static final Set<String> FSYNC_POLICIES = Set.of("always", "interval", "none");
    static final int DEFAULT_MAX_COMMAND_BYTES = 1 << 20;

    @Option(names = "--id", paramLabel = "ID", description = "This node's stable id, e.g. n1.")
    String id;

    @Option(names = "--data", paramLabel = "DIR", description = "Data directory (created if missing).")
    Path data;

    @Option(names = "--http", paramLabel = "HOST:PORT", description = "Address of the HTTP API.")
    String http;

    @Option(names = "--rpc", paramLabel = "HOST:PORT",
            description = "Address for node-to-node traffic; the controller uses the next port.")
    String rpc;

    @Option(names = "--seeds", paramLabel = "ID@HOST:RPCPORT[,...]",
            description = "The controller members (the first 3 or 5 nodes), by id and rpc address.")
    String seeds;

    @Option(names = "--system", paramLabel = "ID", description = "The system id (a new system gets one if absent).")
    String system;

    @Option(names = "--fsync", paramLabel = "always|interval|none", defaultValue = "always",
            description = "When logs are forced to disk (default: ${DEFAULT-VALUE}).")
    String fsync;

    @Option(names = "--max-command-bytes", paramLabel = "N", defaultValue = "" + DEFAULT_MAX_COMMAND_BYTES,
            description = "Largest command accepted, in bytes (default: ${DEFAULT-VALUE}).")
    int maxCommandBytes;

    @Option(names = "--availability", paramLabel = "FILE",
            description = {"Availability configuration (YAML): thresholds and alert actions (e-mail, webhook, program,",
                    "SNMP trap). Re-read when it changes; a missing or wrong file is reported in the log and the node",
                    "keeps its last good configuration. Without this option the node runs no availability manager."})
    Path availability;

    @Option(names = "--watchdog-ms", paramLabel = "MS", defaultValue = "" + NodeConfig.WATCHDOG_MILLIS_DEFAULT,
            description = {"How long a service may run one command (default: ${DEFAULT-VALUE}). A command that runs longer, or",
                    "throws an Error such as StackOverflowError, is quarantined as poison and its replica rebuilt;",
                    "0 runs services without a watchdog (a hung command then stalls its group)."})
    long watchdogMillis;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = {"The system's access token (a file readable by its owner only), copied into the data directory",
                    "on the node's first start. Give every node of a system the same one. A node that starts without",
                    "one, on an empty data directory, makes a new token (DATA/token) for a new system."})
    Path tokenFile;

    @Option(names = "--tls-cert", paramLabel = "FILE",
            description = "This node's certificate (PEM), for TLS on the node transport, the controller and HTTPS on --http.")
    Path tlsCertificate;

    @Option(names = "--tls-key", paramLabel = "FILE", description = "Its private key (PKCS#8 PEM).")
    Path tlsKey;

    @Option(names = "--tls-ca", paramLabel = "FILE",
            description = {"The system's authority (PEM): every node and client must show a certificate it signed.",
                    "The three --tls options go together; 'pairstep certs' makes a set for a local system."})
    Path tlsAuthority;

    @Override
    public Integer call() throws Exception {
        NodeConfig config = config();
        NodeMain.run(config);
        return ExitCodes.OK;
    }

    /** Validates the options and builds the node's configuration; creates the data directory. */
    NodeConfig config() {
        requireNodeOptions();
        String nodeId = checkNodeId(id, "--id");
        HostPort httpAddr = HostPort.parse(http, "--http");
        HostPort rpcAddr = HostPort.parse(rpc, "--rpc");
        if (rpcAddr.port() == 65535) {
            throw usage("--rpc: port 65535 leaves no room for the controller port (rpc port + 1)");
        }
        if (httpAddr.port() == rpcAddr.port() || httpAddr.port() == rpcAddr.port() + 1) {
            throw usage("--http port " + httpAddr.port() + " collides with the rpc port " + rpcAddr.port()
                    + " or the controller port " + (rpcAddr.port() + 1));
        }
        List<NodeConfig.Seed> seedList = parseSeeds(seeds, nodeId, rpcAddr);
        String fsyncPolicy = fsync == null ? "always" : fsync.toLowerCase(Locale.ROOT);
        if (!FSYNC_POLICIES.contains(fsyncPolicy)) {
            throw usage("--fsync: expected always, interval or none, got '" + fsync + "'");
        }
        if (maxCommandBytes < 1) {
            throw usage("--max-command-bytes must be >= 1, got " + maxCommandBytes);
        }
        if (watchdogMillis < 0) {
            throw usage("--watchdog-ms must be 0 (no watchdog) or more, got " + watchdogMillis);
        }
        String systemId = system == null || system.isBlank() ? null : system.trim();
        Path dataDir = data.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dataDir);
        } catch (IOException e) {
            throw new CliException("cannot create the data directory " + dataDir + ": " + ApiClient.describe(e));
        }
        if (!Files.isWritable(dataDir)) {
            throw new CliException("the data directory " + dataDir + " is not writable");
        }
        return new NodeConfig(nodeId, dataDir, bindable(httpAddr, "--http"), bindable(rpcAddr, "--rpc"),
                seedList, systemId, fsyncPolicy, maxCommandBytes,
                availability == null ? null : availability.toAbsolutePath().normalize(), watchdogMillis,
                tokenFile == null ? null : tokenFile.toAbsolutePath().normalize(), tls());
    }

    /** The TLS files, all three or none; null without TLS. */
    private TlsFiles tls() {
        int given = (tlsCertificate == null ? 0 : 1) + (tlsKey == null ? 0 : 1) + (tlsAuthority == null ? 0 : 1);
        if (given == 0) {
            return null;
        }
        if (given < 3) {
            throw usage("--tls-cert, --tls-key and --tls-ca go together: give all three or none");
        }
        TlsFiles files = new TlsFiles(tlsCertificate.toAbsolutePath().normalize(), tlsKey.toAbsolutePath().normalize(),
                tlsAuthority.toAbsolutePath().normalize());
        try {
            files.requireReadable();
            files.serverContext();
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
        return files;
    }

    static String checkNodeId(String value, String what) {
        if (value == null || !NODE_ID.matcher(value).matches()) {
            throw usage(what + ": a node id is letters, digits, '_' and '-' (at most 64), got '" + value + "'");
        }
        return value;
    }

    static List<NodeConfig.Seed> parseSeeds(String text, String selfId, HostPort selfRpc) {
        List<NodeConfig.Seed> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        for (String part : text.split(",")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            int at = p.indexOf('@');
            if (at <= 0) {
                throw usage("--seeds: expected ID@HOST:RPCPORT, got '" + p + "'");
            }
            String seedId = checkNodeId(p.substring(0, at), "--seeds");
            HostPort addr = HostPort.parse(p.substring(at + 1), "--seeds (" + seedId + ")");
            if (!ids.add(seedId)) {
                throw usage("--seeds: node " + seedId + " is listed twice");
            }
            if (seedId.equals(selfId) && addr.port() != selfRpc.port()) {
                throw usage("--seeds lists " + seedId + " at rpc port " + addr.port() + " but --rpc is port "
                        + selfRpc.port());
            }
            out.add(new NodeConfig.Seed(seedId, addr.toSocketAddress()));
        }
        if (out.isEmpty()) {
            throw usage("--seeds: expected at least one ID@HOST:RPCPORT");
        }
        return List.copyOf(out);
    }

    private static InetSocketAddress bindable(HostPort hp, String what) {
        InetSocketAddress a = hp.toSocketAddress();
        if (a.isUnresolved()) {
            throw usage(what + ": cannot resolve host '" + hp.host() + "'");
        }
        return a;
    }

    /**
     * Running a node needs all five; they are not marked required for picocli only because the
     * drain/undrain/remove subcommands, which need none of them, would then be refused.
     */
    private void requireNodeOptions() {
        List<String> missing = new ArrayList<>();
        if (id == null) {
            missing.add("'--id=ID'");
        }
        if (data == null) {
            missing.add("'--data=DIR'");
        }
        if (http == null) {
            missing.add("'--http=HOST:PORT'");
        }
        if (rpc == null) {
            missing.add("'--rpc=HOST:PORT'");
        }
        if (seeds == null) {
            missing.add("'--seeds=ID@HOST:RPCPORT[,...]'");
        }
        if (!missing.isEmpty()) {
            throw usage("Missing required option" + (missing.size() > 1 ? "s" : "") + ": " + String.join(", ", missing));
        }
    }

    private static CliException usage(String message) {
        return new CliException(message, ExitCodes.USAGE);
    }
}
