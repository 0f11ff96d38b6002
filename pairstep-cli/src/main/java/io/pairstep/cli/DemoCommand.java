package io.pairstep.cli;

import io.pairstep.client.PairstepClient;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo: a local 3-node system under load, whose busiest primary is killed three times, then a
 * summary that checks every promise.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Starts a local 3-node system in a temporary directory, deploys bank and kv (4 partitions) as pairs,",
                "runs concurrent clients, kills the primary's node three times (restarting it each time),",
                "and checks that no command was lost or duplicated and that no money appeared or vanished.",
                "Exits 1 if any check fails."})
public final class DemoCommand implements Callable<Integer> {

    private static final int ACCOUNTS = 10;
    private static final long OPENING_BALANCE = 1_000;

    @Option(names = "--clients", description = "concurrent clients (default ${DEFAULT-VALUE})")
    int clients = 8;

    @Option(names = "--kills", description = "how many times the primary's node is killed (default ${DEFAULT-VALUE})")
    int kills = 3;

    @Option(names = "--seed", description = "seed of the clients' random choices (default: the time)")
    Long seed;

    @Option(names = "--keep", description = "keep the system's directory and logs after the demo")
    boolean keep;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        if (clients < 1 || kills < 0) {
            throw new CliException("--clients must be at least 1 and --kills at least 0");
        }
        long runSeed = seed != null ? seed : System.nanoTime();
        Path dir = Files.createTempDirectory("pairstep-demo-");
        out.printf("Pairstep demo (seed %d): a local 3-node system in %s%n", runSeed, dir);
        long started = System.nanoTime();
        try (LocalSystem system = LocalSystem.start(dir, 3, LocalSystem.freeBasePort(), "always", !keep)) {
            out.printf("  3 nodes up in %.1f s%n", (System.nanoTime() - started) / 1e9);
            system.deploy("bank", "bank", "pair", 1);
            system.deploy("kv", "kv", "pair", 4);
            out.println("  deployed bank (pair, 1 partition) and kv (pair, 4 partitions)");
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                LedgerLoad load = new LedgerLoad(client, clients, ACCOUNTS, runSeed);
                long before = load.openAccounts(OPENING_BALANCE);
                out.printf("  opened %d accounts: %d in the bank%n", ACCOUNTS, before);
                out.printf("  %d clients at work; the primary of bank is killed %d times%n%n", clients, kills);
                load.start();
                List<Long> stalls = killRepeatedly(system, load);
                load.stop();
                out.println();
                return summary(load, before, stalls);
            }
        }
    }

    /** Kills bank's primary node, measures how long bank commands stalled, restarts the node. */
    private List<Long> killRepeatedly(LocalSystem system, LedgerLoad load) {
        List<Long> stalls = new ArrayList<>();
        sleepWithProgress(load, 4000, "warming up");
        for (int kill = 1; kill <= kills; kill++) {
            String victim = system.primaryOf("bank", 0);
            if (victim == null) {
                throw new CliException("no node answers with the primary of bank");
            }
            long killedAt = System.nanoTime();
            system.kill(victim);
            String what = "kill " + kill + "/" + kills + ": killed " + victim + " (primary of bank)";
            sleepWithProgress(load, 3000, what);
            long stallNanos = load.longestBankWaitSince(killedAt);
            stalls.add(stallNanos);
            what += String.format(", bank stalled %d ms; restarting %s", TimeUnit.NANOSECONDS.toMillis(stallNanos), victim);
            progress(load, what);
            system.restart(victim);
            if (!system.awaitFullyProtected(Duration.ofSeconds(60))) {
                throw new CliException("the system did not get back to full protection within 60 s after " + victim + " returned");
            }
            sleepWithProgress(load, 3000, victim + " is back as a backup; every group fully protected");
        }
        return stalls;
    }

    private void sleepWithProgress(LedgerLoad load, long millis, String what) {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < end) {
            progress(load, what);
            LocalSystem.sleep(250);
        }
    }

    private void progress(LedgerLoad load, String what) {
        double seconds = (System.nanoTime() - load.startedNanos()) / 1e9;
        String line = String.format("\r  %5.1f s | %,9d acknowledged | %,7.0f/s | errors %d | %s",
                seconds, load.acknowledged(), load.acknowledged() / Math.max(seconds, 0.001), load.errors().size(), what);
        out.print(line.length() > 150 ? line.substring(0, 150) : String.format("%-150s", line));
        out.flush();
    }

    private int summary(LedgerLoad load, long before, List<Long> stalls) {
        LedgerLoad.Verdict verdict = load.verify();
        long lost = verdict.lost();
        long duplicated = verdict.duplicated();
        long after = load.total();
        List<Long> sorted = new ArrayList<>(stalls);
        Collections.sort(sorted);
        out.println("Summary");
        out.printf("  commands acknowledged   %,d%n", load.acknowledged());
        out.printf("  client-visible errors   %d%s%n", load.errors().size(), load.errors().isEmpty() ? "" : "  e.g. " + load.errors().get(0));
        out.printf("  lost                    %d%n", lost);
        out.printf("  duplicated              %d%n", duplicated);
        out.printf("  money before / after    %,d / %,d%n", before, after);
        if (!sorted.isEmpty()) {
            out.printf("  takeover stall          min %d ms, median %d ms, max %d ms (%d kills)%n",
                    millis(sorted.get(0)), millis(sorted.get(sorted.size() / 2)), millis(sorted.get(sorted.size() - 1)), sorted.size());
        }
        boolean ok = load.errors().isEmpty() && lost == 0 && duplicated == 0 && before == after && load.acknowledged() > 0;
        out.println(ok ? "PASS: nothing lost, nothing duplicated, money conserved, no client saw an error."
                : "FAIL: an invariant did not hold (see above).");
        return ok ? 0 : 1;
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

}
