package io.pairstep.it;

import io.pairstep.cli.LedgerLoad;
import io.pairstep.client.PairstepClient;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Clients of a kv-like service that each increment (and read) their own keys and check every answer
 * against their model. Each client owns its keys, so the model is exact: a lost or duplicated
 * command shows as a wrong value. A client stops at its first error or wrong result.
 */
final class KvModelLoad {

    private static final int KEYS_PER_CLIENT = 8;

    final PairstepClient client;
    final String service;
    final int clients;
    final long seed;
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong acknowledged = new AtomicLong();
    final List<String> wrong = Collections.synchronizedList(new ArrayList<>());
    final List<String> errors = Collections.synchronizedList(new ArrayList<>());
    /** Each key's value as its owner computed it; written by its owner only, read after stop. */
    final Map<String, Long> model = Collections.synchronizedMap(new HashMap<>());
    /** Every value each key took, in order, as acknowledged; for checks that a state is a consistent prefix. */
    final Map<String, List<Long>> history = new java.util.concurrent.ConcurrentHashMap<>();
    final List<Thread> threads = new ArrayList<>();

    KvModelLoad(PairstepClient client, String service, int clients, long seed) {
        this.client = client;
        this.service = service;
        this.clients = clients;
        this.seed = seed;
    }

    void start() {
        for (int c = 0; c < clients; c++) {
            int id = c;
            Thread thread = new Thread(() -> run(id), "kv-model-client-" + c);
            threads.add(thread);
            thread.start();
        }
    }

    private void run(int id) {
        Random random = new Random(seed + id);
        Map<String, Long> mine = new HashMap<>();
        while (running.get()) {
            String key = "c" + id + "k" + random.nextInt(KEYS_PER_CLIENT);
            long expected;
            String command;
            if (random.nextInt(5) == 0) {
                command = "{\"op\":\"get\",\"key\":\"" + key + "\"}";
                expected = mine.getOrDefault(key, Long.MIN_VALUE);
            } else {
                long by = 1 + random.nextInt(9);
                command = "{\"op\":\"incr\",\"key\":\"" + key + "\",\"by\":" + by + "}";
                expected = mine.getOrDefault(key, 0L) + by;
            }
            String want = expected == Long.MIN_VALUE ? "{\"value\":null}" : "{\"value\":" + expected + "}";
            String got;
            try {
                got = LedgerLoad.call(client, service, key, command);
            } catch (RuntimeException e) {
                errors.add(command + " -> " + e);
                // The command may or may not have been applied: the model of this key is lost.
                running.set(false);
                return;
            }
            acknowledged.incrementAndGet();
            if (!got.equals(want)) {
                wrong.add(command + " -> " + got + ", expected " + want);
                running.set(false);
                return;
            }
            if (expected != Long.MIN_VALUE) {
                mine.put(key, expected);
                model.put(key, expected);
                history.computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>())).add(expected);
            }
        }
    }

    void stop() throws InterruptedException {
        running.set(false);
        for (Thread thread : threads) {
            thread.join();
        }
    }
}
