package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.MalformedCommandException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class PojoServiceTest {

    /** A plain class, as a service author would write it: no Pairstep in sight. */
    public static final class Accounts {
        public record Entry(String account, long amount) {}

        private final Map<String, Long> balances = new HashMap<>();
        private final Set<String> frozen = new HashSet<>();
        private List<Entry> journal = new ArrayList<>();
        protected int operations;
        private transient long cache = 42;
        private static int instances;

        public Accounts() {
            instances++;
        }

        public long deposit(String account, long amount) {
            operations++;
            journal.add(new Entry(account, amount));
            return balances.merge(account, amount, Long::sum);
        }

        public long withdraw(String account, long amount) {
            operations++;
            long balance = balances.getOrDefault(account, 0L);
            balances.put(account, balance - amount);
            if (balance < amount) {
                // Fields already changed: the adapter must undo that.
                throw new IllegalStateException("insufficient funds in " + account);
            }
            return balance - amount;
        }

        public void freeze(String account) {
            frozen.add(account);
        }

        public Map<String, Long> balances() {
            return balances;
        }

        public long total() {
            return balances.values().stream().mapToLong(Long::longValue).sum();
        }

        public long total(List<String> accounts) {
            return accounts.stream().mapToLong(a -> balances.getOrDefault(a, 0L)).sum();
        }

        public void overflow() {
            overflow();
        }

        long cache() {
            return cache;
        }
    }

    public static final class Overloaded {
        public int add(int a) {
            return a;
        }

        public int add(String a) {
            return a.length();
        }
    }

    public static final class NoMethods {
        private int x;
    }

    public static final class Unrestorable {
        private Runnable task = () -> {};

        public void run() {
            task.run();
        }
    }

    public static final class NoConstructor {
        public NoConstructor(int x) {}

        public int get() {
            return 1;
        }
    }

    private static final Context CONTEXT = new Context() {
        public String service() {
            return "accounts";
        }

        public int partition() {
            return 0;
        }

        public long index() {
            return 1;
        }

        public long timestampMillis() {
            return 0;
        }

        public RandomGenerator random() {
            return RandomGenerator.of("L64X128MixRandom");
        }
    };

    private final PojoService.Commands accounts = PojoService.inspect(Accounts.class);

    private static String call(PojoService service, String command) throws ApplicationException {
        return new String(service.apply(command.getBytes(StandardCharsets.UTF_8), CONTEXT), StandardCharsets.UTF_8);
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Test
    void publicMethodsAreCommandsWithJsonArgumentsAndResults() throws Exception {
        PojoService service = new PojoService(accounts);
        assertThat(call(service, "{\"method\":\"deposit\",\"args\":[\"b\",5]}")).isEqualTo("5");
        assertThat(call(service, "{\"method\":\"deposit\",\"args\":[\"a\",7]}")).isEqualTo("7");
        assertThat(call(service, "{\"method\":\"deposit\",\"args\":[\"b\",1]}")).isEqualTo("6");
        assertThat(call(service, "{\"method\":\"balances\"}")).isEqualTo("{\"a\":7,\"b\":6}");
        assertThat(call(service, "{\"method\":\"balances\",\"args\":[]}")).isEqualTo("{\"a\":7,\"b\":6}");
        assertThat(call(service, "{\"method\":\"freeze\",\"args\":[\"a\"]}")).as("void").isEqualTo("null");
        // Overloads that differ in their number of arguments; a generic parameter type.
        assertThat(call(service, "{\"method\":\"total\"}")).isEqualTo("13");
        assertThat(call(service, "{\"method\":\"total\",\"args\":[[\"a\",\"zz\"]]}")).isEqualTo("7");
    }

    @Test
    void anExceptionRefusesTheCommandNamingItAndLeavesTheStateUnchanged() throws Exception {
        PojoService service = new PojoService(accounts);
        call(service, "{\"method\":\"deposit\",\"args\":[\"a\",3]}");
        byte[] before = service.snapshot();
        assertThatThrownBy(() -> call(service, "{\"method\":\"withdraw\",\"args\":[\"a\",10]}"))
                .isExactlyInstanceOf(ApplicationException.class)
                .hasMessage("withdraw threw java.lang.IllegalStateException: insufficient funds in a");
        assertThat(service.snapshot()).isEqualTo(before);
        assertThat(call(service, "{\"method\":\"balances\"}")).isEqualTo("{\"a\":3}");
        assertThat(call(service, "{\"method\":\"withdraw\",\"args\":[\"a\",2]}")).isEqualTo("1");
    }

    @Test
    void anErrorIsNotAnApplicationErrorButACrash() {
        PojoService service = new PojoService(accounts);
        assertThatThrownBy(() -> call(service, "{\"method\":\"overflow\"}")).isInstanceOf(StackOverflowError.class);
    }

    @Test
    void theStateIsTheFieldsWrittenDeterministicallyAndRestoresToAnEqualObject() throws Exception {
        PojoService one = new PojoService(accounts);
        PojoService two = new PojoService(accounts);
        // The same state reached by different histories of insertion writes the same bytes.
        for (String account : List.of("m", "b", "z", "a", "q")) {
            call(one, "{\"method\":\"freeze\",\"args\":[\"" + account + "\"]}");
        }
        for (String account : List.of("q", "a", "z", "b", "m")) {
            call(two, "{\"method\":\"freeze\",\"args\":[\"" + account + "\"]}");
        }
        assertThat(one.snapshot()).isEqualTo(two.snapshot());
        call(one, "{\"method\":\"deposit\",\"args\":[\"y\",1]}");
        call(one, "{\"method\":\"deposit\",\"args\":[\"x\",2]}");
        assertThat(text(one.snapshot())).isEqualTo("{\"balances\":{\"x\":2,\"y\":1},\"frozen\":[\"a\",\"b\",\"m\",\"q\",\"z\"],"
                + "\"journal\":[{\"account\":\"y\",\"amount\":1},{\"account\":\"x\",\"amount\":2}],\"operations\":2}");

        PojoService copy = new PojoService(accounts);
        copy.restore(one.snapshot());
        assertThat(copy.snapshot()).isEqualTo(one.snapshot());
        Accounts restored = (Accounts) copy.target();
        assertThat(restored.journal).containsExactly(new Accounts.Entry("y", 1), new Accounts.Entry("x", 2));
        assertThat(restored.cache()).as("a transient field is not state; it keeps its initial value").isEqualTo(42);
        assertThat(call(copy, "{\"method\":\"deposit\",\"args\":[\"x\",3]}")).isEqualTo("5");

        copy.restore(new byte[0]);
        assertThat(call(copy, "{\"method\":\"balances\"}")).isEqualTo("{}");
    }

    @Test
    void badCommandsAreMalformedWithAClearMessageAndChangeNothing() throws Exception {
        PojoService service = new PojoService(accounts);
        call(service, "{\"method\":\"deposit\",\"args\":[\"a\",3]}");
        byte[] before = service.snapshot();
        Map<String, String> cases = Map.of(
                "nope", "not JSON",
                "[1]", "a command is a JSON object",
                "{\"args\":[]}", "\"method\" must name the method to call",
                "{\"method\":\"steal\"}", "no method \"steal\"; the commands are balances(), deposit(String, long), freeze(String)",
                "{\"method\":\"deposit\",\"args\":[\"a\"]}", "method \"deposit\" takes 2 arguments, not 1",
                "{\"method\":\"total\",\"args\":[1,2]}", "method \"total\" takes 0 or 1 arguments, not 2",
                "{\"method\":\"deposit\",\"args\":[\"a\",\"lots\"]}", "argument 2 of deposit(String, long) is not a long",
                "{\"method\":\"deposit\",\"args\":[\"a\",null]}", "argument 2 of deposit(String, long)",
                "{\"method\":\"deposit\",\"args\":\"a\"}", "\"args\" must be an array",
                "{\"method\":\"deposit\",\"args\":[\"a\",1],\"extra\":1}", "unexpected field \"extra\"");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            assertThatThrownBy(() -> call(service, c.getKey())).as(c.getKey())
                    .isInstanceOf(MalformedCommandException.class).hasMessageContaining(c.getValue());
        }
        assertThat(service.snapshot()).isEqualTo(before);
        assertThatThrownBy(() -> call(service, "{\"method\":\"toString\"}")).as("Object's methods are no commands")
                .isInstanceOf(MalformedCommandException.class);
    }

    @Test
    void classesThatCannotBeServedAreRefusedAtInspection() {
        assertThatThrownBy(() -> PojoService.inspect(Overloaded.class)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("public methods add(int) and add(String) take the same number of arguments")
                .hasMessageContaining(Overloaded.class.getName());
        assertThatThrownBy(() -> PojoService.inspect(NoMethods.class))
                .hasMessage("class " + NoMethods.class.getName() + " has no public instance methods to serve as commands");
        assertThatThrownBy(() -> PojoService.inspect(Unrestorable.class))
                .hasMessageStartingWith("class " + Unrestorable.class.getName() + ": its fields cannot be saved and restored as JSON");
        assertThatThrownBy(() -> PojoService.inspect(NoConstructor.class))
                .hasMessage("class " + NoConstructor.class.getName() + " needs a public no-argument constructor");
    }

    @Test
    void describeNamesTheMethodOfACommand() {
        PojoService service = new PojoService(accounts);
        assertThat(service.describe("{\"method\":\"deposit\",\"args\":[\"a\",1]}".getBytes())).isEqualTo("method deposit");
        assertThat(service.describe("garbage".getBytes())).isNull();
    }
}
