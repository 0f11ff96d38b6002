package io.pairstep.examples;

import static io.pairstep.examples.Commands.outcome;
import static io.pairstep.examples.Commands.text;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Runs random commands against {@link KvService} and against a small model of it, and compares
 * every result, and the snapshot now and then. The seed is printed; rerun one with
 * {@code -Dpairstep.seed=<seed>}.
 */
class KvRandomizedTest {

    private static final int STEPS = 20_000;
    private static final List<String> KEYS = List.of("a", "b", "c", "d", "e");

    /**
     * Values as JSON text. Within this pool two values are equal JSON exactly when their texts are
     * equal, so the model can compare text.
     */
    private static final List<String> VALUES = List.of(
            "0", "1", "-1", "42", "2147483647", "2147483648", "-2147483649",
            "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "2.5", "\"x\"", "\"y\"", "\"\"", "true", "false", "[]", "[1,2]", "{\"a\":1}", "{\"b\":[null]}", "null");

    private static final List<String> BYS = List.of(
            "1", "-1", "7", "-1000", "1000000000", "9223372036854775807", "-9223372036854775808");

    /** The model: key -> value as canonical JSON text; a key is absent rather than null. */
    private final TreeMap<String, String> model = new TreeMap<>();

    @Test
    void randomCommandsMatchTheModel() {
        long seed = Commands.seed("KvRandomizedTest");
        Random random = new Random(seed);
        KvService kv = new KvService();
        for (int step = 0; step < STEPS; step++) {
            String command = randomCommand(random);
            String expected = expect(command);
            String actual = outcome(kv, command, TestContext.at(step + 1));
            assertThat(actual).as("seed %d, step %d, command %s", seed, step, command).isEqualTo(expected);

            if (step % 97 == 0) {
                byte[] snapshot = kv.snapshot();
                assertThat(text(snapshot)).as("seed %d, step %d, snapshot", seed, step).isEqualTo(modelSnapshot());
                KvService restored = new KvService();
                restored.restore(snapshot);
                assertThat(restored.snapshot()).as("seed %d, step %d, restored snapshot", seed, step).isEqualTo(snapshot);
                kv = restored;
            }
        }
        assertThat(text(kv.snapshot())).as("seed %d, final snapshot", seed).isEqualTo(modelSnapshot());
    }

    // --- commands, built as text ---

    private String randomCommand(Random random) {
        String key = KEYS.get(random.nextInt(KEYS.size()));
        int kind = random.nextInt(100);
        if (kind < 20) {
            return "{\"op\":\"put\",\"key\":\"" + key + "\",\"value\":" + pick(random, VALUES) + "}";
        } else if (kind < 35) {
            return "{\"op\":\"get\",\"key\":\"" + key + "\"}";
        } else if (kind < 55) {
            return random.nextInt(4) == 0
                    ? "{\"op\":\"incr\",\"key\":\"" + key + "\"}"
                    : "{\"op\":\"incr\",\"key\":\"" + key + "\",\"by\":" + pick(random, BYS) + "}";
        } else if (kind < 85) {
            String current = model.get(key);
            String expect = current != null && random.nextBoolean() ? current : pick(random, VALUES);
            return "{\"op\":\"cas\",\"key\":\"" + key + "\",\"expect\":" + expect
                    + ",\"value\":" + pick(random, VALUES) + "}";
        } else if (kind < 95) {
            return "{\"op\":\"delete\",\"key\":\"" + key + "\"}";
        } else if (kind < 97) {
            return "{\"op\":\"frob\",\"key\":\"" + key + "\"}";
        } else {
            return "{\"op\":\"get\"}";
        }
    }

    private static String pick(Random random, List<String> list) {
        return list.get(random.nextInt(list.size()));
    }

    // --- the model: parses the commands it generated with string operations ---

    private String expect(String command) {
        String op = field(command, "op");
        if (op.equals("\"frob\"")) {
            return "error MalformedCommandException: unknown op \"frob\"";
        }
        String keyText = field(command, "key");
        if (keyText == null) {
            return "error MalformedCommandException: missing field \"key\"";
        }
        String key = keyText.substring(1, keyText.length() - 1);
        String current = model.get(key);
        switch (op) {
            case "\"put\"" -> {
                set(key, field(command, "value"));
                return "{\"ok\":true}";
            }
            case "\"get\"" -> {
                return "{\"value\":" + (current == null ? "null" : current) + "}";
            }
            case "\"incr\"" -> {
                String byText = field(command, "by");
                long by = byText == null ? 1 : Long.parseLong(byText);
                Long base = current == null ? Long.valueOf(0) : asLong(current);
                if (base == null) {
                    return "error ApplicationException: cannot incr key \"" + key + "\": value is not a long integer";
                }
                long next;
                try {
                    next = Math.addExact(base, by);
                } catch (ArithmeticException e) {
                    return "error ApplicationException: cannot incr key \"" + key + "\": result overflows a long";
                }
                model.put(key, Long.toString(next));
                return "{\"value\":" + next + "}";
            }
            case "\"cas\"" -> {
                String expect = field(command, "expect");
                boolean ok = expect.equals("null") ? current == null : expect.equals(current);
                if (ok) {
                    set(key, field(command, "value"));
                }
                String now = model.get(key);
                return "{\"ok\":" + ok + ",\"value\":" + (now == null ? "null" : now) + "}";
            }
            case "\"delete\"" -> {
                model.remove(key);
                return "{\"ok\":true}";
            }
            default -> throw new AssertionError(op);
        }
    }

    private void set(String key, String value) {
        if (value.equals("null")) {
            model.remove(key);
        } else {
            model.put(key, value);
        }
    }

    private static Long asLong(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /**
     * The text of a top-level field of a generated command. Generated commands put "op" and "key"
     * first and the value-carrying fields in a fixed order, so the value runs to the next
     * top-level field or to the closing brace.
     */
    private static String field(String command, String name) {
        String body = command.substring(1, command.length() - 1);
        int depth = 0;
        boolean inString = false;
        int start = 0;
        for (int i = 0; i <= body.length(); i++) {
            char c = i < body.length() ? body.charAt(i) : ',';
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
                continue;
            }
            switch (c) {
                case '"' -> inString = true;
                case '[', '{' -> depth++;
                case ']', '}' -> depth--;
                case ',' -> {
                    if (depth == 0) {
                        String member = body.substring(start, i);
                        int colon = member.indexOf("\":");
                        if (member.substring(1, colon).equals(name)) {
                            return member.substring(colon + 2);
                        }
                        start = i + 1;
                    }
                }
                default -> {}
            }
        }
        return null;
    }

    private String modelSnapshot() {
        return model.entrySet().stream()
                .map((Map.Entry<String, String> e) -> "\"" + e.getKey() + "\":" + e.getValue())
                .collect(Collectors.joining(",", "{\"entries\":{", "}}"));
    }
}
