package io.pairstep.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code pairstep cluster stop --dir DIR}: stops every node of a local cluster. */
@Command(name = "stop", mixinStandardHelpOptions = true,
        description = {"Stops every node of a local cluster: SIGTERM, up to 10 s to exit, then SIGKILL.",
                "Keeps DIR (cluster.json, data, logs), so nodes can be started again with start-node."})
public final class ClusterStopCommand implements Callable<Integer> {

    static final long GRACE_MILLIS = 10_000;
    static final long KILL_WAIT_MILLIS = 5_000;

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The cluster's directory.")
    Path dir;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        Path root = dir.toAbsolutePath().normalize();
        ClusterFile cf = ClusterFile.read(root);
        PrintWriter out = spec.commandLine().getOut();
        Map<String, ProcessHandle> running = new LinkedHashMap<>();
        for (ClusterFile.Node n : cf.nodes()) {
            Optional<ProcessHandle> h = LocalProcesses.live(n);
            if (h.isPresent()) {
                running.put(n.id(), h.get());
            } else {
                out.printf("%s was not running%n", n.id());
            }
        }
        Map<String, String> outcome = stop(running);
        boolean allGone = true;
        for (Map.Entry<String, String> e : outcome.entrySet()) {
            out.printf("%s %s%n", e.getKey(), e.getValue());
            allGone &= !e.getValue().startsWith("is still running");
        }
        if (!allGone) {
            throw new CliException("some nodes did not stop (see above)");
        }
        return ExitCodes.OK;
    }

    /** SIGTERM (and SIGCONT, in case it is paused) to each, then SIGKILL to those left after the grace period. */
    static Map<String, String> stop(Map<String, ProcessHandle> running) {
        return stop(running, GRACE_MILLIS);
    }

    /** As {@link #stop(Map)}, with {@code graceMillis} between SIGTERM and SIGKILL. */
    static Map<String, String> stop(Map<String, ProcessHandle> running, long graceMillis) {
        Map<String, String> outcome = new LinkedHashMap<>();
        for (ProcessHandle h : running.values()) {
            h.destroy();
            try {
                LocalProcesses.signal(h.pid(), "CONT");
            } catch (CliException ignored) {
                // gone already, or not ours to signal: the checks below tell
            }
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMillis);
        for (Map.Entry<String, ProcessHandle> e : running.entrySet()) {
            long left = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            if (LocalProcesses.awaitExit(e.getValue(), left)) {
                outcome.put(e.getKey(), "stopped (pid " + e.getValue().pid() + ")");
            }
        }
        for (Map.Entry<String, ProcessHandle> e : running.entrySet()) {
            if (outcome.containsKey(e.getKey())) {
                continue;
            }
            ProcessHandle h = e.getValue();
            h.destroyForcibly();
            outcome.put(e.getKey(), LocalProcesses.awaitExit(h, KILL_WAIT_MILLIS)
                    ? "killed (pid " + h.pid() + ") after " + graceMillis + " ms"
                    : "is still running (pid " + h.pid() + ") after SIGKILL");
        }
        return outcome;
    }

    /** Stops processes this command started (after a failed startup). */
    static void stopProcesses(Map<String, Process> started) {
        Map<String, ProcessHandle> handles = new LinkedHashMap<>();
        started.forEach((id, p) -> {
            if (p.isAlive()) {
                handles.put(id, p.toHandle());
            }
        });
        stop(handles);
    }
}
