package io.pairstep.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/**
 * {@code pairstep fault ...}: injects process faults into nodes running on this machine, and faults
 * into the members of lockstep groups through the admin API.
 */
@Command(name = "fault", mixinStandardHelpOptions = true,
        description = {"Injects faults: kill-node, pause-node and resume-node signal a node's process on this machine",
                "(the pid comes from DIR/cluster.json (--dir) or from the status document (--cluster)), then ask another node",
                "to record the fault in the event log;",
                "corrupt, diverge and self-check damage one member of a dmr or tmr group, crash-replica and slow one replica",
                "of any group, through the admin API."},
        subcommands = {FaultCommand.KillNode.class, FaultCommand.PauseNode.class, FaultCommand.ResumeNode.class,
                FaultCommand.Corrupt.class, FaultCommand.Diverge.class, FaultCommand.SelfCheck.class, FaultCommand.CrashReplica.class,
                FaultCommand.Slow.class})
public final class FaultCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(),
                "missing subcommand: kill-node, pause-node, resume-node, corrupt, diverge or self-check");
    }

    /** A node to signal: its id, pid and HTTP address (null when unknown). */
    record Target(String id, long pid, HostPort http) {
    }

    /** Finds a node's pid from cluster.json (--dir) or the system's status (--cluster). */
    static Target target(SystemOptions system, String id) {
        if (system.hasDir()) {
            ClusterFile.Node n = system.clusterFile().node(id);
            Optional<ProcessHandle> h = LocalProcesses.live(n);
            if (h.isEmpty()) {
                throw new CliException(id + " is not running (pid " + n.pid() + " is gone)");
            }
            return new Target(id, n.pid(), n.httpAddress());
        }
        JsonNode status;
        try (ApiClient client = system.client()) {
            status = client.get("/v1/status", StatusCommand.TIMEOUT).requireOk().json();
        }
        return targetFromStatus(status, id);
    }

    static Target targetFromStatus(JsonNode status, String id) {
        List<String> known = new ArrayList<>();
        for (JsonNode n : status.path("nodes")) {
            String nid = Json.text(n, "id", "?");
            known.add(nid);
            if (!nid.equals(id)) {
                continue;
            }
            long pid = n.path("pid").asLong(0);
            if (pid <= 0) {
                throw new CliException(id + " is " + Json.text(n, "state", "down") + " and its pid is unknown");
            }
            String http = Json.text(n, "http", null);
            HostPort hp = null;
            if (http != null) {
                hp = HostPort.parse(http, "node " + id + " http address");
                if (!LocalProcesses.isLocalHost(hp.host())) {
                    throw new CliException(id + " runs on " + hp.host() + ", not on this machine; fault commands "
                            + "signal local processes only");
                }
            }
            if (ProcessHandle.of(pid).filter(LocalProcesses::alive).isEmpty()) {
                throw new CliException(id + " is not running here (no process " + pid + ")");
            }
            return new Target(id, pid, hp);
        }
        throw new CliException(ClusterFile.unknownNode(id, known));
    }

    abstract static class Signal implements Callable<Integer> {

        @Mixin
        SystemOptions system = new SystemOptions();

        @Parameters(index = "0", paramLabel = "ID", description = "The node, e.g. n1.")
        String id;

        @Spec
        CommandSpec spec;

        abstract String signal();

        abstract String done();

        @Override
        public Integer call() {
            system.validate();
            Target t = target(system, id);
            LocalProcesses.signal(t.pid(), signal());
            if ("KILL".equals(signal())) {
                ProcessHandle.of(t.pid()).ifPresent(h -> LocalProcesses.awaitExit(h, Duration.ofSeconds(5).toMillis()));
            }
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%s %s (pid %d)%n", done(), t.id(), t.pid());
            // The signal is sent first: the fault must happen whether or not the system can record it.
            String recorded = record(system, t, spec.name(), "SIG" + signal() + " sent by pairstep fault " + spec.name() + " to pid "
                    + t.pid());
            if (recorded.startsWith(NOT_RECORDED)) {
                spec.commandLine().getErr().println("pairstep: " + recorded);
            } else {
                out.println(recorded);
            }
            return ExitCodes.OK;
        }
    }

    /** How long the CLI waits for a node to record a fault: more than the node's own wait for the controller. */
    static final Duration RECORD_TIMEOUT = Duration.ofSeconds(8);
    static final String NOT_RECORDED = "the fault is not in the event log: ";

    /**
     * Asks the system to record a fault the CLI injected itself ({@code POST /v1/events/faults}), so
     * that every node's event log shows it. The other nodes are asked first, the target last: a
     * killed node cannot answer and a paused one would hold the request until it timed out. The id
     * the CLI chooses makes a retry through another node record it once.
     *
     * @return one line for the user; it starts with {@link #NOT_RECORDED} when no node took it
     */
    static String record(SystemOptions system, Target target, String kind, String message) {
        List<HostPort> nodes;
        try {
            nodes = new ArrayList<>(system.httpAddresses());
        } catch (CliException e) {
            return NOT_RECORDED + e.getMessage();
        }
        if (target.http() != null && nodes.remove(target.http())) {
            nodes.add(target.http());
        }
        tools.jackson.databind.node.ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("id", "cli-" + java.util.UUID.randomUUID());
        body.put("kind", kind);
        body.put("node", target.id());
        body.put("message", message);
        try (ApiClient client = new ApiClient(nodes, system.token(), system.authority())) {
            ApiClient.Response response = client.post("/v1/events/faults", Json.MAPPER.writeValueAsBytes(body), "application/json",
                    java.util.Map.of(), RECORD_TIMEOUT, true);
            if (!response.ok()) {
                return NOT_RECORDED + response.errorMessage();
            }
            JsonNode answer = response.json();
            String by = Json.text(answer, "requestedBy", response.node().toString());
            return answer.path("recorded").asBoolean(false)
                    ? "recorded in the event log through " + by + " (fault-injected)"
                    : "sent to " + by + " for the event log; the controller has not answered yet and " + by + " keeps trying";
        } catch (CliException e) {
            return NOT_RECORDED + e.getMessage();
        }
    }

    @Command(name = "kill-node", mixinStandardHelpOptions = true,
            description = "Kills a node's process with SIGKILL (a crash: no shutdown, no flush).")
    static final class KillNode extends Signal {
        @Override
        String signal() {
            return "KILL";
        }

        @Override
        String done() {
            return "killed";
        }
    }

    @Command(name = "pause-node", mixinStandardHelpOptions = true,
            description = "Pauses a node's process with SIGSTOP (a silent node: connections stay open).")
    static final class PauseNode extends Signal {
        @Override
        String signal() {
            return "STOP";
        }

        @Override
        String done() {
            return "paused";
        }
    }

    @Command(name = "resume-node", mixinStandardHelpOptions = true,
            description = "Resumes a paused node's process with SIGCONT.")
    static final class ResumeNode extends Signal {
        @Override
        String signal() {
            return "CONT";
        }

        @Override
        String done() {
            return "resumed";
        }
    }

    /** A fault in one lockstep member, through {@code POST /v1/nodes/{id}/faults/{kind}} on any node. */
    abstract static class MemberFault implements Callable<Integer> {

        @Mixin
        SystemOptions system = new SystemOptions();

        @Parameters(index = "0", paramLabel = "SERVICE", description = "The service (corrupt, diverge, self-check: in mode dmr or tmr).")
        String service;

        @CommandLine.Option(names = "--partition", paramLabel = "P", description = "The partition (default ${DEFAULT-VALUE}).")
        int partition = 0;

        @CommandLine.Option(names = "--node", paramLabel = "ID", required = true, description = "The node whose member is damaged.")
        String node;

        @Spec
        CommandSpec spec;

        abstract String kind();

        String extraQuery() {
            return "";
        }

        @Override
        public Integer call() {
            system.validate();
            if (partition < 0) {
                throw new CliException("--partition must be >= 0", ExitCodes.USAGE);
            }
            String path = "/v1/nodes/" + Urls.encode(node) + "/faults/" + kind() + "?service=" + Urls.encode(service)
                    + "&partition=" + partition + extraQuery();
            JsonNode answer;
            try (ApiClient client = system.client()) {
                // Not safe to repeat: a second corruption would be a second fault.
                answer = client.post(path, new byte[0], "application/json", java.util.Map.of(), StatusCommand.TIMEOUT, false)
                        .requireOk().json();
            }
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%s: %s partition %d on %s (seed %d): %s%n", kind(), service, partition, Json.text(answer, "node", node),
                    answer.path("seed").asLong(), Json.text(answer, "message", "injected"));
            return ExitCodes.OK;
        }
    }

    @Command(name = "corrupt", mixinStandardHelpOptions = true,
            description = "Flips one bit of the state of a dmr or tmr member, as a memory fault would.")
    static final class Corrupt extends MemberFault {

        @CommandLine.Option(names = "--seed", paramLabel = "N", description = "Chooses the bit (default: random).")
        Long seed;

        @Override
        String kind() {
            return "corrupt";
        }

        @Override
        String extraQuery() {
            return seed == null ? "" : "&seed=" + seed;
        }
    }

    @Command(name = "diverge", mixinStandardHelpOptions = true,
            description = "Makes the next output of a dmr or tmr member differ from what its service computed.")
    static final class Diverge extends MemberFault {
        @Override
        String kind() {
            return "diverge";
        }
    }

    @Command(name = "self-check", mixinStandardHelpOptions = true,
            description = "Fails the next command of a dmr or tmr member as if its service threw there only.")
    static final class SelfCheck extends MemberFault {
        @Override
        String kind() {
            return "self-check";
        }
    }

    @Command(name = "crash-replica", mixinStandardHelpOptions = true,
            description = {"Crashes a replica (any mode) as if its service had; its node stays up. The replica's state is dumped",
                    "under the node's DATA/dumps/, and it is rebuilt on its node from a partner."})
    static final class CrashReplica extends MemberFault {
        @Override
        String kind() {
            return "crash-replica";
        }
    }

    @Command(name = "slow", mixinStandardHelpOptions = true,
            description = "Delays each command of a replica (any mode) by --ms milliseconds, until cleared with --ms 0.")
    static final class Slow extends MemberFault {

        @CommandLine.Option(names = "--ms", paramLabel = "N", required = true,
                description = "The delay per command in milliseconds, 0 to 60000; 0 clears it.")
        long millis;

        @Override
        String kind() {
            return "slow";
        }

        @Override
        String extraQuery() {
            if (millis < 0 || millis > 60_000) {
                throw new CliException("--ms must be between 0 and 60000, got " + millis, ExitCodes.USAGE);
            }
            return "&ms=" + millis;
        }
    }
}
