package io.pairstep.cli;

import io.pairstep.client.PairstepClient;
import io.pairstep.client.PairstepException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * A load that can prove its own history: each client increments counters of its own in {@code kv},
 * and keeps a ledger of the increments it saw acknowledged, while it also moves money between
 * accounts in {@code bank}. Afterwards every counter must equal its ledger (nothing lost, nothing
 * applied twice) and the bank's total must equal what was opened. The demo and the fault tests
 * use it.
 */
public final class LedgerLoad {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the final state says about the acknowledged history. */
    public record Verdict(long lost, long duplicated, List<String> mismatches) {}

    private final PairstepClient client;
    private final int clients;
    private final int accounts;
    private final long seed;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong acknowledged = new AtomicLong();
    private final List<String> errors = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicLong> ledger = new ConcurrentHashMap<>();
    /** Start and end of every bank command, for the stall measurement. */
    private final List<long[]> bankCalls = Collections.synchronizedList(new ArrayList<>());
    private final List<Thread> threads = new ArrayList<>();
    private long startedNanos;

    public LedgerLoad(PairstepClient client, int clients, int accounts, long seed) {
        this.client = client;
        this.clients = clients;
        this.accounts = accounts;
        this.seed = seed;
    }

    /** Opens the accounts with {@code balance} each and returns the bank's total. */
    public long openAccounts(long balance) {
        for (int i = 0; i < accounts; i++) {
            call(client, "bank", "", "{\"op\":\"open\",\"account\":\"a" + i + "\",\"balance\":" + balance + "}");
        }
        return total();
    }

    public void start() {
        startedNanos = System.nanoTime();
        for (int i = 0; i < clients; i++) {
            int id = i;
            Thread thread = new Thread(() -> run(id), "ledger-client-" + i);
            thread.setDaemon(true);
            threads.add(thread);
            thread.start();
        }
    }

    private void run(int id) {
        Random random = new Random(seed * 31 + id);
        while (running.get()) {
            try {
                if (random.nextBoolean()) {
                    String key = "client" + id + "-counter" + random.nextInt(4);
                    call(client, "kv", key, "{\"op\":\"incr\",\"key\":\"" + key + "\",\"by\":1}");
                    ledger.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
                } else {
                    int from = random.nextInt(accounts);
                    int to = (from + 1 + random.nextInt(accounts - 1)) % accounts;
                    long start = System.nanoTime();
                    try {
                        call(client, "bank", "", "{\"op\":\"transfer\",\"from\":\"a" + from + "\",\"to\":\"a" + to
                                + "\",\"amount\":" + (1 + random.nextInt(100)) + "}");
                    } catch (PairstepException e) {
                        // "insufficient funds" is an answer, not an error.
                        if (!PairstepException.APPLICATION_ERROR.equals(e.code())) {
                            throw e;
                        }
                    }
                    bankCalls.add(new long[] {start, System.nanoTime()});
                }
                acknowledged.incrementAndGet();
            } catch (RuntimeException e) {
                errors.add(e.toString());
            }
        }
    }

    /** Stops issuing commands and waits for the commands in flight. */
    public void stop() throws InterruptedException {
        running.set(false);
        for (Thread thread : threads) {
            thread.join(TimeUnit.SECONDS.toMillis(40));
        }
    }

    public long acknowledged() {
        return acknowledged.get();
    }

    /** Every error a client saw, in the order seen. */
    public List<String> errors() {
        return errors;
    }

    public long startedNanos() {
        return startedNanos;
    }

    /** The longest a bank command waited among those still running at, or started after, {@code sinceNanos}. */
    public long longestBankWaitSince(long sinceNanos) {
        long longest = 0;
        synchronized (bankCalls) {
            for (long[] call : bankCalls) {
                if (call[1] >= sinceNanos) {
                    longest = Math.max(longest, call[1] - Math.max(call[0], sinceNanos));
                }
            }
        }
        return longest;
    }

    /** Compares every counter with its ledger. */
    public Verdict verify() {
        long lost = 0;
        long duplicated = 0;
        List<String> mismatches = new ArrayList<>();
        for (Map.Entry<String, AtomicLong> entry : ledger.entrySet()) {
            JsonNode value = JSON.readTree(call(client, "kv", entry.getKey(), "{\"op\":\"get\",\"key\":\"" + entry.getKey() + "\"}"));
            long applied = value.get("value").isNull() ? 0 : value.get("value").asLong();
            long acknowledgedIncrements = entry.getValue().get();
            if (applied != acknowledgedIncrements) {
                mismatches.add(entry.getKey() + ": " + acknowledgedIncrements + " acknowledged, " + applied + " applied");
            }
            lost += Math.max(0, acknowledgedIncrements - applied);
            duplicated += Math.max(0, applied - acknowledgedIncrements);
        }
        return new Verdict(lost, duplicated, mismatches);
    }

    /** The bank's total. */
    public long total() {
        return JSON.readTree(call(client, "bank", "", "{\"op\":\"total\"}")).get("total").asLong();
    }

    /** A synchronous call with text in and out. */
    public static String call(PairstepClient client, String service, String key, String command) {
        return new String(client.callSync(service, key, command.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }
}
