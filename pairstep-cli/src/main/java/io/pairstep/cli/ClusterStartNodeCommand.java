package io.pairstep.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pairstep cluster start-node --dir DIR --id ID}: restarts one node of a local cluster. */
@Command(name = "start-node", mixinStandardHelpOptions = true,
        description = {"Restarts one node of a local cluster with its data directory, ports and flags",
                "(the command stored in DIR/cluster.json) and waits until it reports itself up."})
public final class ClusterStartNodeCommand implements Callable<Integer> {

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The cluster's directory.")
    Path dir;

    @Option(names = "--id", required = true, paramLabel = "ID", description = "The node to start, e.g. n1.")
    String id;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "60",
            description = "How long to wait for the node to be up (default: ${DEFAULT-VALUE}).")
    int waitSeconds;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (waitSeconds < 1) {
            throw new CliException("--wait must be >= 1 second, got " + waitSeconds, ExitCodes.USAGE);
        }
        start(dir.toAbsolutePath().normalize(), id, Duration.ofSeconds(waitSeconds), spec.commandLine().getOut());
        spec.commandLine().getOut().printf("%s is up%n", id);
        return ExitCodes.OK;
    }

    /**
     * Starts a stopped node of the local cluster at {@code root} with its stored command, records its
     * pid and waits until it reports itself up; a node that does not come up is stopped again.
     */
    static ClusterFile.Node start(Path root, String id, Duration wait, PrintWriter out) {
        record Started(ClusterFile.Node node, Process process) {
        }
        Started s = ClusterFile.locked(root, () -> {
            ClusterFile cf = ClusterFile.read(root);
            ClusterFile.Node node = cf.node(id);
            Optional<ProcessHandle> running = LocalProcesses.live(node);
            if (running.isPresent()) {
                throw new CliException(id + " is already running (pid " + running.get().pid() + ")");
            }
            if (node.command().isEmpty()) {
                throw new CliException(ClusterFile.path(root) + " has no command for " + id);
            }
            HostPort http = node.httpAddress();
            HostPort rpc = node.rpcAddress();
            LocalProcesses.requireFree(List.of(
                    new LocalProcesses.PortUse(http.host(), http.port(), id + " http"),
                    new LocalProcesses.PortUse(rpc.host(), rpc.port(), id + " rpc"),
                    new LocalProcesses.PortUse(rpc.host(), rpc.port() + 1, id + " controller")),
                    "is an old " + id + " process still exiting?");
            Process p = LocalProcesses.launch(node.command(), ClusterFile.nodeDir(root, id),
                    ClusterFile.logFile(root, id));
            ClusterFile.Node updated = node.withPid(p.pid());
            cf.withNode(updated).write(root);
            return new Started(updated, p);
        });
        out.printf("started %s: pid %d, http %s, rpc %s%n",
                id, s.node().pid(), s.node().http(), s.node().rpc());
        out.flush();
        try {
            Readiness.await(root, List.of(s.node()), List.of(id), Map.of(id, s.process()),
                    wait);
        } catch (CliException e) {
            ClusterStopCommand.stopProcesses(Map.of(id, s.process()));
            throw new CliException("start-node " + id + " failed: " + e.getMessage() + "\nstopped " + id);
        }
        return s.node();
    }
}
