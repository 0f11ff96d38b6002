package io.pairstep.cli;

import io.pairstep.client.PairstepClient;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import tools.jackson.databind.JsonNode;

/**
 * The two measurements of {@code pairstep bench} about faults that are not node crashes:
 * {@code --dump}, the clients' latency while quick dumps are taken, beside the same load without
 * them; and {@code --repair}, the time from a fault injected into a lockstep member to its
 * isolation and to the group's full repair.
 */
final class BenchFaults {

    private static final Duration DUMP_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    /** How often the repair measurement asks a node for the status: the resolution of its figures. */
    private static final long STATUS_POLL_MILLIS = 10;

    private final BenchCommand bench;
    private final LocalSystem system;
    private final PrintStream out;

    BenchFaults(BenchCommand bench, LocalSystem system, PrintStream out) {
        this.bench = bench;
        this.system = system;
        this.out = out;
    }

    // ---------------------------------------------------------------------------------------------
    // --dump

    /**
     * Load for warm-up, then {@code --duration} seconds without dumps and {@code --duration}
     * seconds during which every partition of kv is dumped, one after another, without pause.
     * Latency counts from each command's intended send time (open loop), so a stall during a dump
     * shows in full.
     */
    int dumpLatency(PairstepClient client) throws InterruptedException {
        BenchCommand.Load load = bench.startLoad(client, false);
        Thread.sleep(TimeUnit.SECONDS.toMillis(bench.warmupSeconds));

        Histogram without = BenchCommand.newHistogram();
        load.latency().set(without);
        load.completed().set(0);
        load.measuring().set(true);
        Thread.sleep(TimeUnit.SECONDS.toMillis(bench.durationSeconds));
        long withoutDone = load.completed().get();

        Histogram with = BenchCommand.newHistogram();
        load.latency().set(with);
        load.completed().set(0);
        List<long[]> dumps = new ArrayList<>(); // {nanos, bytes}
        List<String> sources = new ArrayList<>();
        int failedDumps = 0;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(bench.durationSeconds);
        try (ApiClient api = new ApiClient(system.clusterFile().nodes().stream().map(ClusterFile.Node::httpAddress).toList(),
                system.token(), system.clusterFile().authority())) {
            for (int p = 0; System.nanoTime() < end; p = (p + 1) % bench.partitions) {
                long start = System.nanoTime();
                try {
                    ApiClient.Response answer = api.post("/v1/services/kv/partitions/" + p + "/dump", new byte[0], "application/json",
                            Map.of(), DUMP_TIMEOUT, false).requireOk();
                    dumps.add(new long[] {System.nanoTime() - start, answer.body().length});
                    DumpFile dump = DumpFile.parse(answer.text(), "the node's answer");
                    sources.add(dump.header().getOrDefault("role", "member"));
                } catch (CliException e) {
                    // A dump the system could not give now (a node rejoining, say) is counted, not fatal.
                    if (failedDumps++ < 3) {
                        out.printf("dump of kv/%d failed: %s%n", p, e.getMessage());
                    }
                    LocalSystem.sleep(100);
                }
            }
        }
        long withDone = load.completed().get();
        load.measuring().set(false);
        load.stop();

        out.printf("without dumps %,.0f commands/s%n", withoutDone / (double) bench.durationSeconds);
        bench.printLatency("  latency", without);
        out.printf("with dumps    %,.0f commands/s, %d dumps back to back (from: %s), %d failed%n",
                withDone / (double) bench.durationSeconds, dumps.size(), summarize(sources), failedDumps);
        bench.printLatency("  latency", with);
        if (!dumps.isEmpty()) {
            List<Long> times = dumps.stream().map(d -> d[0]).sorted().toList();
            long bytes = dumps.stream().mapToLong(d -> d[1]).sum() / dumps.size();
            out.printf("  each dump  min %.1f ms, median %.1f ms, max %.1f ms; %,d bytes on average%n", ms(times.get(0)),
                    ms(times.get(times.size() / 2)), ms(times.get(times.size() - 1)), bytes);
        }
        double ratio = without.getValueAtPercentile(99) == 0 ? 0
                : with.getValueAtPercentile(99) / (double) without.getValueAtPercentile(99);
        out.printf("p99 with dumps / p99 without: %.2f; client errors %d%n", ratio, load.errors().get());
        return load.errors().get() == 0 ? 0 : 1;
    }

    private static String summarize(List<String> values) {
        Map<String, Long> counts = new java.util.TreeMap<>();
        values.forEach(v -> counts.merge(v, 1L, Long::sum));
        return counts.toString();
    }

    // ---------------------------------------------------------------------------------------------
    // --repair

    /**
     * Under load, {@code faults} times: injects {@code kind} into one member of kv/0 (round robin
     * over its members, the orderer included), then polls one node's status until the member is
     * out of the group (isolation: a higher epoch without it) and until the group again has every
     * member in sync (full repair). Times count from the fault injection's answer.
     */
    int repair(PairstepClient client, String kind, int faults) throws InterruptedException {
        BenchCommand.Load load = bench.startLoad(client, true);
        int members = bench.mode.equals("tmr") ? 3 : 2;
        List<Long> isolations = new ArrayList<>();
        List<Long> repairs = new ArrayList<>();
        try (ApiClient api = new ApiClient(system.clusterFile().nodes().stream().map(ClusterFile.Node::httpAddress).toList(),
                system.token(), system.clusterFile().authority())) {
            Thread.sleep(TimeUnit.SECONDS.toMillis(bench.warmupSeconds));
            for (int fault = 1; fault <= faults; fault++) {
                JsonNode group = group(api);
                long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!complete(group, members) && System.nanoTime() < settle) {
                    LocalSystem.sleep(200);
                    group = group(api);
                }
                if (!complete(group, members)) {
                    throw new CliException("kv/0 was not fully in sync within 60 s before fault " + fault + ": " + group);
                }
                long epoch = group.get("epoch").asLong();
                JsonNode replicas = group.get("replicas");
                String victim = replicas.get(fault % replicas.size()).get("node").asString();
                String role = replicas.get(fault % replicas.size()).get("role").asString();
                api.post("/v1/nodes/" + Urls.encode(victim) + "/faults/" + kind + "?service=kv&partition=0", new byte[0],
                        "application/json", Map.of(), REQUEST_TIMEOUT, false).requireOk();
                long at = System.nanoTime();
                long isolated = 0;
                long repaired = 0;
                long deadline = at + TimeUnit.SECONDS.toNanos(120);
                while (repaired == 0 && System.nanoTime() < deadline) {
                    JsonNode now = group(api);
                    long elapsed = System.nanoTime() - at;
                    if (now != null && now.get("epoch").asLong() > epoch) {
                        if (isolated == 0 && !inSync(now, victim)) {
                            isolated = elapsed;
                        }
                        if (complete(now, members)) {
                            isolated = isolated == 0 ? elapsed : isolated; // rebuilt between two polls
                            repaired = elapsed;
                        }
                    }
                    LocalSystem.sleep(STATUS_POLL_MILLIS);
                }
                if (repaired == 0) {
                    throw new CliException("kv/0 was not repaired within 120 s of fault " + fault + " (" + kind + " on " + victim + ")");
                }
                isolations.add(isolated);
                repairs.add(repaired);
                out.printf("fault %2d: %s on %s (%s), isolated after %.0f ms, fully repaired after %.0f ms%n", fault, kind, victim, role,
                        ms(isolated), ms(repaired));
                LocalSystem.sleep(1000);
            }
        }
        load.stop();
        out.printf("isolation over %d faults: %s%n", faults, spread(isolations));
        out.printf("full repair over %d faults: %s%n", faults, spread(repairs));
        out.printf("client errors %d (of %,d commands)%n", load.errors().get(), load.completed().get());
        return load.errors().get() == 0 ? 0 : 1;
    }

    /** kv/0 in one node's status, or null when no node answers. */
    private static JsonNode group(ApiClient api) {
        JsonNode status;
        try {
            status = api.get("/v1/status", REQUEST_TIMEOUT).requireOk().json();
        } catch (CliException e) {
            return null;
        }
        for (JsonNode group : status.get("groups")) {
            if (group.get("service").asString().equals("kv") && group.get("partition").asInt() == 0) {
                return group;
            }
        }
        return null;
    }

    private static boolean complete(JsonNode group, int members) {
        // A DMR group settling a dispute has a third member, the referee, until the faulty one leaves.
        if (group == null || group.get("replicas").size() != members || group.has("dispute") || group.has("halted")) {
            return false;
        }
        for (JsonNode replica : group.get("replicas")) {
            if (!replica.get("state").asString().equals("ok")) {
                return false;
            }
        }
        return true;
    }

    private static boolean inSync(JsonNode group, String node) {
        for (JsonNode replica : group.get("replicas")) {
            if (replica.get("node").asString().equals(node) && replica.get("state").asString().equals("ok")) {
                return true;
            }
        }
        return false;
    }

    private static String spread(List<Long> nanos) {
        List<Long> sorted = new ArrayList<>(nanos);
        Collections.sort(sorted);
        return String.format("min %.0f ms, median %.0f ms, max %.0f ms", ms(sorted.get(0)), ms(sorted.get(sorted.size() / 2)),
                ms(sorted.get(sorted.size() - 1)));
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }
}
