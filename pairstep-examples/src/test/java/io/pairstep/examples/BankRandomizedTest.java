package io.pairstep.examples;

import static io.pairstep.examples.Commands.outcome;
import static io.pairstep.examples.Commands.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Runs random transfers, many of them invalid, and checks after every one that no money was made
 * or lost and that each outcome is what a simple model predicts. The seed is printed; rerun one
 * with {@code -Dpairstep.seed=<seed>}.
 */
class BankRandomizedTest {

    private static final int STEPS = 20_000;

    @Test
    void randomTransfersConserveMoney() {
        long seed = Commands.seed("BankRandomizedTest");
        Random random = new Random(seed);
        BankService bank = new BankService();
        TreeMap<String, Long> model = new TreeMap<>();

        int accounts = 2 + random.nextInt(8);
        List<String> names = new ArrayList<>();
        long total = 0;
        for (int i = 0; i < accounts; i++) {
            String name = "acct" + i;
            // Some accounts start empty, but not all: with no money at all no transfer could succeed
            // (seed 2843661664335184963 drew two empty accounts).
            long balance = i == 0 ? 1 + random.nextInt(999) : random.nextInt(4) == 0 ? 0 : random.nextInt(1_000);
            run(bank, "{\"op\":\"open\",\"account\":\"" + name + "\",\"balance\":" + balance + "}");
            names.add(name);
            model.put(name, balance);
            total += balance;
        }
        String expectedTotal = "{\"total\":" + total + ",\"accounts\":" + accounts + "}";
        assertThat(run(bank, "{\"op\":\"total\"}")).as("seed %d", seed).isEqualTo(expectedTotal);

        int succeeded = 0;
        for (int step = 0; step < STEPS; step++) {
            String from = random.nextInt(30) == 0 ? "ghost" : names.get(random.nextInt(accounts));
            String to = random.nextInt(30) == 0 ? "phantom" : names.get(random.nextInt(accounts));
            long amount = random.nextInt(20) == 0 ? -random.nextInt(3) : 1 + random.nextInt(Math.max(1, (int) (2 * total / accounts)));
            String command = "{\"op\":\"transfer\",\"from\":\"" + from + "\",\"to\":\"" + to + "\",\"amount\":" + amount + "}";

            String expected;
            if (amount <= 0) {
                expected = "error ApplicationException: amount must be positive";
            } else if (from.equals(to)) {
                expected = "error ApplicationException: cannot transfer from an account to itself";
            } else if (!model.containsKey(from)) {
                expected = "error ApplicationException: unknown account " + from;
            } else if (!model.containsKey(to)) {
                expected = "error ApplicationException: unknown account " + to;
            } else if (model.get(from) < amount) {
                expected = "error ApplicationException: insufficient funds";
            } else {
                model.put(from, model.get(from) - amount);
                model.put(to, model.get(to) + amount);
                expected = "{\"ok\":true}";
                succeeded++;
            }
            assertThat(outcome(bank, command, TestContext.at(step + 1)))
                    .as("seed %d, step %d, command %s", seed, step, command)
                    .isEqualTo(expected);
            assertThat(run(bank, "{\"op\":\"total\"}"))
                    .as("seed %d, step %d: total after %s", seed, step, command)
                    .isEqualTo(expectedTotal);

            if (step % 101 == 0) {
                long sum = 0;
                for (String name : names) {
                    String balance = run(bank, "{\"op\":\"balance\",\"account\":\"" + name + "\"}");
                    assertThat(balance).as("seed %d, step %d, balance of %s", seed, step, name)
                            .isEqualTo("{\"balance\":" + model.get(name) + "}");
                    sum += model.get(name);
                }
                assertThat(sum).as("seed %d, step %d: sum of balances", seed, step).isEqualTo(total);
                BankService restored = new BankService();
                restored.restore(bank.snapshot());
                assertThat(restored.snapshot()).as("seed %d, step %d, restored snapshot", seed, step)
                        .isEqualTo(bank.snapshot());
                bank = restored;
            }
        }
        assertThat(succeeded).as("seed %d: some transfers succeed", seed).isPositive();
        assertThat(model.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(total);
        assertThat(model.values()).allSatisfy(b -> assertThat(b).isNotNegative());
    }
}
