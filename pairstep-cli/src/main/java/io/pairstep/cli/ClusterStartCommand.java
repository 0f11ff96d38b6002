package io.pairstep.cli;

import io.pairstep.runtime.access.AccessToken;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pairstep cluster start --nodes N --dir DIR}: starts a new local cluster and waits until it is up. */
@Command(name = "start", mixinStandardHelpOptions = true,
        description = {"Starts a new local cluster of N nodes in DIR and waits until every node is up.",
                "Node i listens on 127.0.0.1: http P+10*i+1, rpc P+10*i+2, controller P+10*i+3;",
                "the first min(N,3) nodes are the controller's seeds. Logs: DIR/nI/node.log.",
                "The system's access token is made in DIR/token (owner-only); commands given --dir DIR use it.",
                "Node JVMs get -Xms64m -Xmx512m -XX:+UseSerialGC --enable-native-access=ALL-UNNAMED",
                "and then the contents of $PAIRSTEP_NODE_JAVA_OPTS."})
public final class ClusterStartCommand implements Callable<Integer> {

    static final int MAX_NODES = 99;
    static final int MAX_SEEDS = 3;

    @Option(names = "--nodes", required = true, paramLabel = "N", description = "Number of nodes, 1 to 99.")
    int nodes;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "Directory for the cluster's files (new).")
    Path dir;

    @Option(names = "--base-port", paramLabel = "P", defaultValue = "7100",
            description = "Base of the port range (default: ${DEFAULT-VALUE}, so n1 has http 7111, rpc 7112).")
    int basePort;

    @Option(names = "--fsync", paramLabel = "always|interval|none",
            description = "Passed to every node (default: the node's default, always).")
    String fsync;

    @Option(names = "--availability", paramLabel = "FILE",
            description = "Availability configuration (YAML) passed to every node; see 'pairstep node --help'.")
    Path availability;

    @Option(names = "--tls",
            description = {"TLS between nodes and from clients, with mutual certificates: makes DIR/certs as 'pairstep certs'",
                    "does (or uses what is there) and gives each node its certificate. A process without a certificate",
                    "signed by DIR/certs/ca.pem cannot join as a node or call through the binary protocol.",
                    "Each node's HTTP API, gateway and console are then HTTPS only; the CLI given --dir DIR trusts ca.pem."})
    boolean tls;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "60",
            description = "How long to wait for the cluster to be up (default: ${DEFAULT-VALUE}); with more than three"
                    + " nodes, for the first three and then for each further node, which start one after the other.")
    int waitSeconds;

    @Spec
    CommandSpec spec;

    /** Where node i (1-based) listens. */
    record Layout(String id, HostPort http, HostPort rpc) {
        int controllerPort() {
            return rpc.port() + 1;
        }
    }

    static List<Layout> layout(int n, int basePort) {
        List<Layout> out = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
            int base = basePort + 10 * i;
            out.add(new Layout("n" + i, new HostPort("127.0.0.1", base + 1), new HostPort("127.0.0.1", base + 2)));
        }
        return out;
    }

    static List<LocalProcesses.PortUse> ports(List<Layout> layout) {
        List<LocalProcesses.PortUse> ports = new ArrayList<>();
        for (Layout l : layout) {
            ports.add(new LocalProcesses.PortUse(l.http().host(), l.http().port(), l.id() + " http"));
            ports.add(new LocalProcesses.PortUse(l.rpc().host(), l.rpc().port(), l.id() + " rpc"));
            ports.add(new LocalProcesses.PortUse(l.rpc().host(), l.controllerPort(), l.id() + " controller"));
        }
        return ports;
    }

    /** Checks the options; returns the fsync policy in lower case, or null when not given. */
    String validate() {
        if (nodes < 1 || nodes > MAX_NODES) {
            throw new CliException("--nodes must be between 1 and " + MAX_NODES + ", got " + nodes, ExitCodes.USAGE);
        }
        int highest = basePort + 10 * nodes + 3;
        if (basePort < 1 || highest > 65535) {
            throw new CliException("--base-port " + basePort + " does not fit " + nodes + " nodes (ports up to "
                    + highest + "); use 1 to " + (65535 - 10 * nodes - 3), ExitCodes.USAGE);
        }
        if (waitSeconds < 1) {
            throw new CliException("--wait must be >= 1 second, got " + waitSeconds, ExitCodes.USAGE);
        }
        if (fsync == null) {
            return null;
        }
        String f = fsync.toLowerCase(Locale.ROOT);
        if (!NodeCommand.FSYNC_POLICIES.contains(f)) {
            throw new CliException("--fsync: expected always, interval or none, got '" + fsync + "'", ExitCodes.USAGE);
        }
        return f;
    }

    @Override
    public Integer call() {
        String fsyncPolicy = validate();
        Path root = dir.toAbsolutePath().normalize();
        if (Files.exists(ClusterFile.path(root))) {
            throw new CliException(root + " already holds a cluster (" + ClusterFile.FILE_NAME
                    + "); restart its nodes with 'pairstep cluster start-node --dir " + root
                    + " --id ID', or choose a new directory");
        }
        if (Files.exists(root) && !Files.isDirectory(root)) {
            throw new CliException(root + " is not a directory");
        }
        List<Layout> layout = layout(nodes, basePort);
        LocalProcesses.requireFree(ports(layout), "choose another --base-port or stop what uses it");

        String system = UUID.randomUUID().toString();
        Path tokenFile = ClusterFile.tokenFile(root);
        try {
            Files.createDirectories(root);
            // The system's one token: each node copies it into its data directory on its first start.
            // A token left by a start that failed before writing cluster.json is this directory's: kept.
            if (!Files.exists(tokenFile)) {
                AccessToken.generate().writeNew(tokenFile);
            }
        } catch (IOException | UncheckedIOException e) {
            throw new CliException("cannot write the access token " + tokenFile + ": " + ApiClient.describe(e));
        }
        List<String> seeds = new ArrayList<>();
        for (Layout l : layout.subList(0, Math.min(nodes, MAX_SEEDS))) {
            seeds.add(l.id() + "@" + l.rpc());
        }
        if (tls) {
            CertsCommand.make(root, layout.stream().map(Layout::id).toList(), new java.util.LinkedHashSet<>(List.of("localhost", "127.0.0.1")));
        }
        List<String> prefix = LocalProcesses.cliLaunchPrefix(System.getenv(LocalProcesses.NODE_JAVA_OPTS_ENV));

        PrintWriter out = spec.commandLine().getOut();
        Map<String, Process> started = new LinkedHashMap<>();
        List<ClusterFile.Node> entries = new ArrayList<>();
        // The controller's voters start together; each node beyond them starts once the system is
        // ready, so that no two nodes ask the controller to add them as listeners at the same time
        // (concurrent listener joins have left a Ratis reconfiguration stuck in its staging phase).
        int voters = Math.min(layout.size(), RollingRestartCommand.VOTERS);
        try {
            for (Layout l : layout) {
                Path nodeDir = ClusterFile.nodeDir(root, l.id());
                Path data = nodeDir.resolve("data");
                try {
                    Files.createDirectories(data);
                } catch (IOException e) {
                    throw new CliException("cannot create " + data + ": " + ApiClient.describe(e));
                }
                List<String> command = new ArrayList<>(prefix);
                command.addAll(List.of("node", "--id", l.id(), "--data", data.toString(),
                        "--http", l.http().toString(), "--rpc", l.rpc().toString(),
                        "--seeds", String.join(",", seeds), "--system", system, "--token-file", tokenFile.toString()));
                if (tls) {
                    CertsCommand.CertificateFiles own = CertsCommand.files(root, l.id());
                    command.addAll(List.of("--tls-cert", own.certificate().toString(), "--tls-key", own.key().toString(),
                            "--tls-ca", CertsCommand.files(root, CertsCommand.CA).certificate().toString()));
                }
                if (fsyncPolicy != null) {
                    command.addAll(List.of("--fsync", fsyncPolicy));
                }
                if (availability != null) {
                    // Absolute: the node runs in its own directory, and start-node reuses this command.
                    command.addAll(List.of("--availability", availability.toAbsolutePath().normalize().toString()));
                }
                Process p = LocalProcesses.launch(command, nodeDir, ClusterFile.logFile(root, l.id()));
                started.put(l.id(), p);
                ClusterFile.Node entry = new ClusterFile.Node(l.id(), p.pid(), l.http().toString(), l.rpc().toString(),
                        data.toString(), command);
                entries.add(entry);
                new ClusterFile(system, entries).write(root);
                out.printf("started %s: pid %d, http %s, rpc %s%n", entry.id(), entry.pid(), entry.http(), entry.rpc());
                out.flush();
                if (entries.size() >= voters) {
                    // Each wait has the whole --wait: a start of many nodes takes longer than one of three.
                    Readiness.await(root, entries, entries.stream().map(ClusterFile.Node::id).toList(), started,
                            Duration.ofSeconds(waitSeconds));
                }
            }
        } catch (CliException e) {
            if (!started.isEmpty()) {
                ClusterStopCommand.stopProcesses(started);
                throw new CliException("cluster start failed: " + e.getMessage()
                        + "\nstopped the " + started.size() + " started node(s); their logs are " + root + "/<id>/node.log");
            }
            throw e;
        }
        out.printf("system %s is up: %d node%s; use --dir %s%n", system, nodes, nodes == 1 ? "" : "s", root);
        return ExitCodes.OK;
    }
}
