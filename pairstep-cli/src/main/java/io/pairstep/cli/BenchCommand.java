package io.pairstep.cli;

import io.pairstep.client.PairstepClient;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import io.pairstep.core.wire.Partitioner;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Measures a local system: throughput and latency of kv puts, or the client-visible stall of each
 * primary kill. Starts its own system in a temporary directory and removes it afterwards.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measures a local system of separate node processes (started in a temporary directory).",
                "Default: closed loop (every client keeps --pipeline commands in flight) for maximum throughput.",
                "--rate R: open loop at R commands/s; latency counts from each command's intended send time,",
                "so it is corrected for coordinated omission.",
                "--takeover: kills the primary's node --kills times under load and reports each client-visible stall."})
public final class BenchCommand implements Callable<Integer> {

    @Option(names = "--nodes", description = "nodes (default ${DEFAULT-VALUE})")
    int nodes = 3;

    @Option(names = "--clients", description = "client threads (default ${DEFAULT-VALUE})")
    int clients = 4;

    @Option(names = "--pipeline", description = "commands in flight per client in closed loop (default ${DEFAULT-VALUE})")
    int pipeline = 32;

    @Option(names = "--payload", description = "bytes per command (default ${DEFAULT-VALUE})")
    int payload = 64;

    @Option(names = "--duration", description = "measured seconds (default ${DEFAULT-VALUE})")
    int durationSeconds = 10;

    @Option(names = "--warmup", description = "seconds of load before measuring, while the JIT compiles the hot paths of the nodes and the client (default ${DEFAULT-VALUE})")
    int warmupSeconds = 15;

    @Option(names = "--mode", description = "pair, dmr, tmr or none (default ${DEFAULT-VALUE})")
    String mode = "pair";

    @Option(names = "--partitions", description = "kv partitions (default ${DEFAULT-VALUE})")
    int partitions = 4;

    @Option(names = "--fsync", description = "always, interval or none (default ${DEFAULT-VALUE})")
    String fsync = "always";

    @Option(names = "--rate", description = "open loop at this many commands/s (default: closed loop)")
    int rate;

    @Option(names = "--takeover", description = "measure the stall of each primary kill instead of throughput")
    boolean takeover;

    @Option(names = "--kills", description = "kills with --takeover (default ${DEFAULT-VALUE})")
    int kills = 20;

    @Option(names = "--signal", description = "with --takeover: kill (SIGKILL, then restart), stop (SIGSTOP, then SIGCONT), or drain"
            + " (a planned move: drain the primary's node, which hands kv/0's primary over, then undrain it) (default ${DEFAULT-VALUE})")
    String signal = "kill";

    @Option(names = "--alerts", description = "off, healthy, down or slow: run the nodes with flapping thresholds whose alerts go to a "
            + "webhook receiver that answers at once, is down until the load ends, or is slow (default ${DEFAULT-VALUE})")
    String alerts = "off";

    @Option(names = "--webhook-delay", description = "with --alerts slow: ms the receiver takes per alert (default ${DEFAULT-VALUE})")
    long webhookDelayMillis = 1_000;

    @Option(names = "--dump", description = "measure the clients' latency while every kv partition is dumped back to back "
            + "(pairstep dump), beside the same load without dumps; best with --rate")
    boolean dump;

    @Option(names = "--repair", description = "with --mode dmr or tmr: inject --fault into a member of kv/0 --faults times under "
            + "load and report the time to its isolation and to the group's full repair")
    boolean repair;

    @Option(names = "--fault", description = "with --repair: corrupt, diverge or self-check (in dmr, corrupt and diverge are settled by a referee) (default ${DEFAULT-VALUE})")
    String fault = "corrupt";

    @Option(names = "--faults", description = "with --repair: faults injected (default ${DEFAULT-VALUE})")
    int faults = 10;

    @Option(names = "--keep", description = "keep the system's directory (node logs) after the run")
    boolean keep;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        validate();
        Path dir = Files.createTempDirectory("pairstep-bench-");
        out.printf("bench: %d nodes, mode %s, %d partitions, fsync %s, %d-byte commands, %d clients, %s%n",
                nodes, mode, partitions, fsync, payload, clients,
                takeover ? "takeover (" + kills + " x " + (signal.equals("drain") ? "drain" : "SIG" + (signal.equals("kill") ? "KILL" : "STOP")) + ")"
                        : repair ? faults + " x fault " + fault + ", load " + (rate > 0 ? "open loop at " + rate + "/s" : "closed loop, pipeline " + pipeline)
                        : (dump ? "dumps, " : "") + (rate > 0 ? "open loop at " + rate + "/s" : "closed loop, pipeline " + pipeline));
        BenchAlerts alerting = alerts.equals("off") ? null : BenchAlerts.start(alerts, webhookDelayMillis, Files.createTempDirectory("pairstep-bench-alerts-"));
        List<String> nodeOptions = alerting == null ? List.of() : List.of("--availability", alerting.file().toString());
        try (alerting; LocalSystem system = LocalSystem.start(dir, nodes, LocalSystem.freeBasePort(), fsync, !keep, nodeOptions)) {
            if (keep) {
                out.printf("keeping %s%n", dir);
            }
            if (alerting != null) {
                out.printf("alerts      flapping partition thresholds, %s%n", alerting.describe());
            }
            system.deploy("kv", "kv", mode, partitions);
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                BenchFaults faultBench = new BenchFaults(this, system, out);
                int result = takeover ? takeover(system, client)
                        : dump ? faultBench.dumpLatency(client)
                        : repair ? faultBench.repair(client, fault, faults)
                        : throughput(system, client);
                if (alerting != null) {
                    alerting.receiverBack(dir, nodes, ALERT_DELIVERY_WAIT_MILLIS, out);
                }
                return result;
            }
        }
    }

    /** How long a bench with --alerts waits for the alerts to reach the receiver after the load. */
    private static final long ALERT_DELIVERY_WAIT_MILLIS = 120_000;

    private void validate() {
        if (!List.of("off", "healthy", "down", "slow").contains(alerts)) {
            throw new CliException("--alerts must be off, healthy, down or slow, was " + alerts, ExitCodes.USAGE);
        }
        if (webhookDelayMillis < 0) {
            throw new CliException("--webhook-delay must be at least 0, was " + webhookDelayMillis, ExitCodes.USAGE);
        }
        if (nodes < 1 || clients < 1 || pipeline < 1 || payload < 40 || durationSeconds < 1 || warmupSeconds < 0 || partitions < 1) {
            throw new CliException("--nodes, --clients, --pipeline, --duration and --partitions must be at least 1, --payload at least 40");
        }
        if (!DeployCommand.MODES.contains(mode)) {
            throw new CliException("--mode must be pair, dmr, tmr or none, was " + mode);
        }
        if (!List.of("kill", "stop", "drain").contains(signal)) {
            throw new CliException("--signal must be kill, stop or drain, was " + signal);
        }
        if ((takeover ? 1 : 0) + (dump ? 1 : 0) + (repair ? 1 : 0) > 1) {
            throw new CliException("choose one of --takeover, --dump and --repair", ExitCodes.USAGE);
        }
        if (repair && (!List.of("dmr", "tmr").contains(mode) || faults < 1 || !List.of("corrupt", "diverge", "self-check").contains(fault))) {
            throw new CliException("--repair needs --mode dmr or tmr, --faults >= 1 and --fault corrupt, diverge or self-check",
                    ExitCodes.USAGE);
        }
        if (takeover && (kills < 1 || nodes < 2 || !mode.equals("pair"))) {
            throw new CliException("--takeover needs --kills >= 1, at least 2 nodes and mode pair");
        }
        if (takeover && signal.equals("drain") && nodes < 3) {
            throw new CliException("--takeover --signal drain needs at least 3 nodes: the drained node's replicas move to the others");
        }
    }

    /** A kv put of exactly {@code payload} bytes to a random key. */
    private byte[] command(SplittableRandom random) {
        return command("k" + random.nextInt(100_000));
    }

    /** A kv put of exactly {@code payload} bytes. */
    private byte[] command(String key) {
        String prefix = "{\"op\":\"put\",\"key\":\"" + key + "\",\"value\":\"";
        int padding = Math.max(0, payload - prefix.length() - 2);
        return (prefix + "x".repeat(padding) + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    private static String keyOf(byte[] command) {
        String text = new String(command, 0, Math.min(command.length, 40), StandardCharsets.UTF_8);
        int start = text.indexOf("\"key\":\"") + 7;
        return text.substring(start, text.indexOf('"', start));
    }

    // ---------------------------------------------------------------------------------------------
    // Throughput and latency

    static Histogram newHistogram() {
        return new ConcurrentHistogram(TimeUnit.SECONDS.toNanos(60), 3);
    }

    /** Starts the clients' load: threads that record into the histogram {@code latency} holds while {@code measuring}. */
    List<Thread> startClients(PairstepClient client, AtomicReference<Histogram> latency, AtomicLong completed, AtomicLong errors,
            AtomicBoolean measuring, AtomicBoolean running) {
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            SplittableRandom random = new SplittableRandom(i);
            int share = rate / clients;
            Runnable loop = rate > 0
                    ? () -> openLoop(client, random, share, latency, completed, errors, measuring, running)
                    : () -> closedLoop(client, random, latency, completed, errors, measuring, running);
            Thread thread = new Thread(loop, "bench-client-" + i);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        return threads;
    }

    /** A running load: the histogram its clients record into (swappable), its counts, and the flags that steer it. */
    record Load(AtomicReference<Histogram> latency, AtomicLong completed, AtomicLong errors, AtomicBoolean measuring,
            AtomicBoolean running, List<Thread> threads) {

        /** Stops the clients and waits for them. */
        void stop() throws InterruptedException {
            running.set(false);
            for (Thread thread : threads) {
                thread.join(30_000);
            }
        }
    }

    /** Starts the clients; they record only while {@code measuring} is set. */
    Load startLoad(PairstepClient client, boolean measuring) {
        AtomicReference<Histogram> latency = new AtomicReference<>(newHistogram());
        AtomicLong completed = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicBoolean measure = new AtomicBoolean(measuring);
        AtomicBoolean running = new AtomicBoolean(true);
        return new Load(latency, completed, errors, measure, running, startClients(client, latency, completed, errors, measure, running));
    }

    void printLatency(String label, Histogram latency) {
        out.printf("%-11s p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms%n", label,
                ms(latency.getValueAtPercentile(50)), ms(latency.getValueAtPercentile(90)), ms(latency.getValueAtPercentile(99)),
                ms(latency.getValueAtPercentile(99.9)), ms(latency.getMaxValue()));
    }

    private int throughput(LocalSystem system, PairstepClient client) throws InterruptedException {
        BenchCommand.Load load = startLoad(client, false);
        Thread.sleep(TimeUnit.SECONDS.toMillis(warmupSeconds));
        load.latency().get().reset();
        load.completed().set(0);
        List<Long> nodePids = system.clusterFile().nodes().stream().map(ClusterFile.Node::pid).toList();
        long nodesCpuStart = cpuNanos(nodePids);
        long clientCpuStart = cpuNanos(List.of(ProcessHandle.current().pid()));
        load.measuring().set(true);
        long start = System.nanoTime();
        Thread.sleep(TimeUnit.SECONDS.toMillis(durationSeconds));
        load.measuring().set(false);
        long elapsed = System.nanoTime() - start;
        long done = load.completed().get();
        long nodesCpu = cpuNanos(nodePids) - nodesCpuStart;
        long clientCpu = cpuNanos(List.of(ProcessHandle.current().pid())) - clientCpuStart;
        load.stop();
        out.printf("throughput  %,.0f commands/s (%,d in %.1f s), errors %d%n", done / (elapsed / 1e9), done, elapsed / 1e9, load.errors().get());
        printLatency("latency", load.latency().get());
        printErrorKinds();
        if (nodesCpuStart >= 0 && nodesCpu >= 0 && clientCpuStart >= 0 && done > 0) {
            // Where the machine's CPU went: on one machine the nodes and this client share the cores.
            out.printf("cpu         nodes %.2f cores, client %.2f cores (of %d); per command %.1f us in the nodes, %.1f us in the client%n",
                    nodesCpu / (double) elapsed, clientCpu / (double) elapsed, Runtime.getRuntime().availableProcessors(),
                    nodesCpu / 1e3 / done, clientCpu / 1e3 / done);
        }
        return load.errors().get() == 0 ? 0 : 1;
    }

    /** The CPU time the processes used so far, user and system; -1 when the platform does not tell. */
    static long cpuNanos(List<Long> pids) {
        long total = 0;
        for (long pid : pids) {
            java.util.Optional<java.time.Duration> cpu = ProcessHandle.of(pid).flatMap(p -> p.info().totalCpuDuration());
            if (cpu.isEmpty()) {
                return -1;
            }
            total += cpu.get().toNanos();
        }
        return total;
    }

    /**
     * {@code pipeline} chains of commands: each chain sends its next command from the completion
     * of the one before, on whatever thread completed it. A load generator that woke its own thread
     * for every completion would spend a thread switch per command of the 2 cores it shares with
     * the nodes it measures.
     */
    private void closedLoop(PairstepClient client, SplittableRandom random, AtomicReference<Histogram> latency, AtomicLong completed, AtomicLong errors,
            AtomicBoolean measuring, AtomicBoolean running) {
        CountDownLatch stopped = new CountDownLatch(pipeline);
        for (int i = 0; i < pipeline; i++) {
            new Chain(client, random.split(), latency, completed, errors, measuring, running, stopped).issue();
        }
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One command at a time, the next sent as the last completes; see {@link #closedLoop}. */
    private final class Chain implements java.util.function.BiConsumer<byte[], Throwable> {
        /** Not sending; sending (the completion not seen yet); sending, and the command already completed. */
        private static final int IDLE = 0;
        private static final int ISSUING = 1;
        private static final int COMPLETED_WHILE_ISSUING = 2;

        private final PairstepClient client;
        private final SplittableRandom random;
        private final AtomicReference<Histogram> latency;
        private final AtomicLong completed;
        private final AtomicLong errors;
        private final AtomicBoolean measuring;
        private final AtomicBoolean running;
        private final CountDownLatch stopped;
        private final java.util.concurrent.atomic.AtomicInteger state = new java.util.concurrent.atomic.AtomicInteger(IDLE);
        private volatile long start;

        Chain(PairstepClient client, SplittableRandom random, AtomicReference<Histogram> latency, AtomicLong completed, AtomicLong errors,
                AtomicBoolean measuring, AtomicBoolean running, CountDownLatch stopped) {
            this.client = client;
            this.random = random;
            this.latency = latency;
            this.completed = completed;
            this.errors = errors;
            this.measuring = measuring;
            this.running = running;
            this.stopped = stopped;
        }

        /** Sends commands until one is still outstanding when its call returns; a trampoline, not recursion. */
        void issue() {
            while (true) {
                if (!running.get()) {
                    stopped.countDown();
                    return;
                }
                state.set(ISSUING);
                byte[] command = command(random);
                start = System.nanoTime();
                client.call("kv", keyOf(command), command).whenComplete(this);
                if (state.compareAndSet(ISSUING, IDLE)) {
                    return; // the completion sends the next one
                }
                // It completed before the call returned: send the next one here.
            }
        }

        @Override
        public void accept(byte[] result, Throwable failure) {
            long started = start;
            record(started, started, failure, latency, completed, errors, measuring);
            if (!state.compareAndSet(ISSUING, COMPLETED_WHILE_ISSUING)) {
                issue();
            }
        }
    }

    /** Per kind of client error seen while measuring (its code, or its class), how many and the first one's message. */
    private final java.util.concurrent.ConcurrentHashMap<String, ErrorKind> errorKinds = new java.util.concurrent.ConcurrentHashMap<>();

    private record ErrorKind(java.util.concurrent.atomic.LongAdder count, String first) {}

    private void noteError(Throwable failure) {
        Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        String kind = cause instanceof io.pairstep.client.PairstepException pe ? pe.code() : cause.getClass().getSimpleName();
        errorKinds.computeIfAbsent(kind, k -> new ErrorKind(new java.util.concurrent.atomic.LongAdder(), String.valueOf(cause.getMessage())))
                .count().increment();
    }

    /** One line per kind of error the clients saw, so that a run with errors says what they were. */
    private void printErrorKinds() {
        errorKinds.forEach((kind, seen) -> out.printf("errors      %,d x %s, the first: %s%n", seen.count().sum(), kind, seen.first()));
    }

    /** The shortest sleep of an open-loop client between two sends. */
    static final long OPEN_LOOP_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(500);

    private void openLoop(PairstepClient client, SplittableRandom random, int perSecond, AtomicReference<Histogram> latency, AtomicLong completed,
            AtomicLong errors, AtomicBoolean measuring, AtomicBoolean running) {
        long intervalNanos = TimeUnit.SECONDS.toNanos(1) / Math.max(1, perSecond);
        long next = System.nanoTime();
        while (running.get()) {
            long now = System.nanoTime();
            if (now < next) {
                // At least OPEN_LOOP_PARK_NANOS: a wake-up per command would cost the nodes a thread
                // switch per command on the cores they share with this generator. The commands due
                // meanwhile go out together; their latency still counts from their intended time.
                LockSupport.parkNanos(Math.max(next - now, OPEN_LOOP_PARK_NANOS));
                continue;
            }
            long intended = next;
            next += intervalNanos;
            byte[] command = command(random);
            long sent = System.nanoTime();
            client.call("kv", keyOf(command), command).whenComplete((result, failure) ->
                    record(intended, sent, failure, latency, completed, errors, measuring));
        }
    }

    private void record(long intended, long sent, Throwable failure, AtomicReference<Histogram> histogram, AtomicLong completed,
            AtomicLong errors, AtomicBoolean measuring) {
        if (!measuring.get()) {
            return;
        }
        if (failure != null) {
            errors.incrementAndGet();
            noteError(failure);
            return;
        }
        Histogram latency = histogram.get();
        latency.recordValue(Math.min(System.nanoTime() - intended, latency.getHighestTrackableValue()));
        completed.incrementAndGet();
    }

    // ---------------------------------------------------------------------------------------------
    // Takeover

    private int takeover(LocalSystem system, PairstepClient client) {
        ConcurrentLinkedQueue<long[]> calls = new ConcurrentLinkedQueue<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong errors = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        // Per client, the start time of the last call it completed: a fault is over for the clients
        // once each has completed a call that it started after the fault.
        long[] lastCompletedStart = new long[clients];
        // Every command goes to kv/0, the group whose primary is attacked: the stall of that group
        // is what a takeover costs its clients.
        List<String> keys = new ArrayList<>();
        for (int k = 0; keys.size() < 1000; k++) {
            if (Partitioner.partition("k" + k, partitions) == 0) {
                keys.add("k" + k);
            }
        }
        for (int i = 0; i < clients; i++) {
            SplittableRandom random = new SplittableRandom(i);
            int id = i;
            Thread thread = new Thread(() -> {
                while (running.get()) {
                    byte[] command = command(keys.get(random.nextInt(keys.size())));
                    long start = System.nanoTime();
                    try {
                        CompletableFuture<byte[]> result = client.call("kv", keyOf(command), command);
                        result.join();
                        calls.add(new long[] {start, System.nanoTime()});
                        synchronized (lastCompletedStart) {
                            lastCompletedStart[id] = start;
                        }
                    } catch (RuntimeException e) {
                        if (errors.incrementAndGet() <= 5) {
                            out.printf("client error after %.1f ms: %s%n", ms(System.nanoTime() - start), e.getCause() != null ? e.getCause() : e);
                        }
                    }
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
                }
            }, "bench-client-" + i);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
        LocalSystem.sleep(TimeUnit.SECONDS.toMillis(Math.max(warmupSeconds, 3)));
        List<Long> stalls = new ArrayList<>();
        for (int kill = 1; kill <= kills; kill++) {
            String victim = system.primaryOf("kv", 0);
            if (victim == null) {
                throw new CliException("no node answers with the primary of kv/0");
            }
            long pid = system.clusterFile().node(victim).pid();
            long at;
            if (signal.equals("drain")) {
                // From the moment the drain is asked for (over HTTP from this process: a CLI's JVM
                // start would take CPU from the nodes during the measurement) until the node is
                // empty: every move the drain causes counts, the hand-over of kv/0's primary among them.
                at = System.nanoTime();
                adminPost(system, "/v1/nodes/" + victim + "/drain");
                awaitDrained(system, victim);
            } else {
                if (signal.equals("kill")) {
                    system.kill(victim);
                } else {
                    LocalProcesses.signal(pid, "STOP");
                }
                // From the moment the signal is delivered: sending it takes a few milliseconds.
                at = System.nanoTime();
            }
            long waitUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < waitUntil && !allStartedAfter(lastCompletedStart, at)) {
                LocalSystem.sleep(20);
            }
            long stall = 0;
            for (long[] call : calls) {
                if (call[1] >= at) {
                    stall = Math.max(stall, call[1] - Math.max(call[0], at));
                }
            }
            calls.clear();
            stalls.add(stall);
            out.printf("kill %2d: %s (primary of kv/0) at %s, longest client wait %.1f ms%n", kill, victim,
                    java.time.LocalTime.now().minusNanos(System.nanoTime() - at), ms(stall));
            if (signal.equals("kill")) {
                system.restart(victim);
            } else if (signal.equals("stop")) {
                LocalProcesses.signal(pid, "CONT");
            } else {
                adminPost(system, "/v1/nodes/" + victim + "/undrain");
            }
            if (!system.awaitFullyProtected(Duration.ofSeconds(60))) {
                throw new CliException("the system did not get back to full protection within 60 s after kill " + kill);
            }
            LocalSystem.sleep(1000);
        }
        running.set(false);
        for (Thread thread : threads) {
            try {
                thread.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Collections.sort(stalls);
        out.printf("takeover stall over %d kills: min %.1f ms, median %.1f ms, p99 %.1f ms, max %.1f ms; client errors %d%n",
                stalls.size(), ms(stalls.get(0)), ms(stalls.get(stalls.size() / 2)),
                ms(stalls.get(Math.min(stalls.size() - 1, (int) Math.ceil(stalls.size() * 0.99) - 1))), ms(stalls.get(stalls.size() - 1)),
                errors.get());
        return errors.get() == 0 ? 0 : 1;
    }

    private static void adminPost(LocalSystem system, String path) {
        try (ApiClient api = new ApiClient(system.clusterFile().nodes().stream().map(ClusterFile.Node::httpAddress).toList(),
                system.token(), system.clusterFile().authority())) {
            api.post(path, new byte[0], "application/json", java.util.Map.of(), Duration.ofSeconds(10), true).requireOk();
        }
    }

    /** Waits until {@code node} hosts no replica (its drain ended), so that undraining it starts from a settled system. */
    private static void awaitDrained(LocalSystem system, String node) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            boolean hosts = system.status().get("groups").valueStream()
                    .anyMatch(g -> g.get("replicas").valueStream().anyMatch(r -> r.get("node").asString().equals(node)));
            if (!hosts) {
                return;
            }
            LocalSystem.sleep(100);
        }
        throw new CliException("node " + node + " still hosts replicas 120 s after it was drained");
    }

    private static boolean allStartedAfter(long[] lastCompletedStart, long at) {
        synchronized (lastCompletedStart) {
            for (long start : lastCompletedStart) {
                if (start < at) {
                    return false;
                }
            }
            return true;
        }
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
