package io.pairstep.examples;

import static io.pairstep.examples.Commands.outcome;
import static io.pairstep.examples.Commands.run;
import static io.pairstep.examples.Commands.text;
import static io.pairstep.examples.Commands.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.api.Service;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SnapshotTest {

    @Test
    void kvSnapshotIsSortedJson() {
        KvService kv = new KvService();
        run(kv, "{\"op\":\"put\",\"key\":\"b\",\"value\":\"x\"}");
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":1}");
        assertThat(text(kv.snapshot())).isEqualTo("{\"entries\":{\"a\":1,\"b\":\"x\"}}");
    }

    @Test
    void kvSnapshotDoesNotDependOnInsertionOrder() {
        KvService one = new KvService();
        KvService two = new KvService();
        for (String k : List.of("m", "a", "z", "b")) {
            run(one, "{\"op\":\"put\",\"key\":\"" + k + "\",\"value\":\"" + k + "\"}");
        }
        for (String k : List.of("z", "b", "a", "m")) {
            run(two, "{\"op\":\"put\",\"key\":\"" + k + "\",\"value\":\"" + k + "\"}");
        }
        assertThat(one.snapshot()).isEqualTo(two.snapshot());
        assertThat(text(one.snapshot())).isEqualTo("{\"entries\":{\"a\":\"a\",\"b\":\"b\",\"m\":\"m\",\"z\":\"z\"}}");
    }

    @Test
    void bankSnapshotIsSortedJson() {
        BankService bank = new BankService();
        run(bank, "{\"op\":\"open\",\"account\":\"bob\",\"balance\":7}");
        run(bank, "{\"op\":\"open\",\"account\":\"alice\",\"balance\":100}");
        assertThat(text(bank.snapshot())).isEqualTo("{\"accounts\":{\"alice\":100,\"bob\":7}}");
    }

    @Test
    void emptySnapshots() {
        assertThat(text(new KvService().snapshot())).isEqualTo("{\"entries\":{}}");
        assertThat(text(new BankService().snapshot())).isEqualTo("{\"accounts\":{}}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"kv", "bank"})
    void restoreOfEmptyBytesMeansEmptyState(String name) {
        Service service = Examples.create(name);
        populate(name, service);
        service.restore(new byte[0]);
        assertThat(service.snapshot()).isEqualTo(Examples.create(name).snapshot());
    }

    @ParameterizedTest
    @ValueSource(strings = {"kv", "bank"})
    void roundTripGivesIdenticalSnapshotAndResults(String name) {
        Service original = Examples.create(name);
        populate(name, original);
        byte[] snapshot = original.snapshot();

        Service copy = Examples.create(name);
        copy.restore(snapshot);
        assertThat(copy.snapshot()).isEqualTo(snapshot);

        for (String command : followUps(name)) {
            assertThat(outcome(copy, command, TestContext.at(9)))
                    .as(command)
                    .isEqualTo(outcome(original, command, TestContext.at(9)));
            assertThat(copy.snapshot()).as("after %s", command).isEqualTo(original.snapshot());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"kv", "bank"})
    void restoreReplacesTheWholeState(String name) {
        Service source = Examples.create(name);
        populate(name, source);
        Service target = Examples.create(name);
        if (name.equals("kv")) {
            run(target, "{\"op\":\"put\",\"key\":\"only-in-target\",\"value\":1}");
        } else {
            run(target, "{\"op\":\"open\",\"account\":\"only-in-target\",\"balance\":1}");
        }
        target.restore(source.snapshot());
        assertThat(target.snapshot()).isEqualTo(source.snapshot());
        assertThat(text(target.snapshot())).doesNotContain("only-in-target");
    }

    @Test
    void kvRoundTripKeepsValuesExactly() {
        KvService kv = new KvService();
        String value = "{\"z\":[1.50,1E+400,-0.0,12345678901234567890123],\"a\":{\"y\":\"\\u0000\\\"\",\"b\":false}}";
        run(kv, "{\"op\":\"put\",\"key\":\"k\",\"value\":" + value + "}");
        String before = run(kv, "{\"op\":\"get\",\"key\":\"k\"}");
        KvService copy = new KvService();
        copy.restore(kv.snapshot());
        assertThat(run(copy, "{\"op\":\"get\",\"key\":\"k\"}")).isEqualTo(before);
        assertThat(before).isEqualTo(
                "{\"value\":{\"z\":[1.50,1E+400,0.0,12345678901234567890123],\"a\":{\"y\":\"\\u0000\\\"\",\"b\":false}}}");
        assertThat(copy.snapshot()).isEqualTo(kv.snapshot());
    }

    @Test
    void kvRestoreOfHandWrittenSnapshot() {
        KvService kv = new KvService();
        kv.restore(utf8("{\"entries\":{\"b\":\"x\",\"a\":1}}"));
        assertThat(text(kv.snapshot())).isEqualTo("{\"entries\":{\"a\":1,\"b\":\"x\"}}");
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"a\"}")).isEqualTo("{\"value\":2}");
    }

    @Test
    void bankRestoreOfHandWrittenSnapshot() {
        BankService bank = new BankService();
        bank.restore(utf8("{\"accounts\":{\"bob\":5,\"alice\":100}}"));
        assertThat(run(bank, "{\"op\":\"total\"}")).isEqualTo("{\"total\":105,\"accounts\":2}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"not json", "[]", "{}", "{\"entries\":[]}", "{\"entries\":{\"a\":null}}", "{\"accounts\":{}}"})
    void kvRefusesInvalidSnapshotAndKeepsState(String snapshot) {
        KvService kv = new KvService();
        populate("kv", kv);
        byte[] before = kv.snapshot();
        assertThatThrownBy(() -> kv.restore(utf8(snapshot)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid kv snapshot");
        assertThat(kv.snapshot()).isEqualTo(before);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "not json", "{}", "{\"accounts\":1}", "{\"accounts\":{\"a\":-1}}", "{\"accounts\":{\"a\":\"1\"}}",
                "{\"accounts\":{\"a\":1.5}}", "{\"accounts\":{\"a\":9223372036854775807,\"b\":1}}", "{\"entries\":{}}"
            })
    void bankRefusesInvalidSnapshotAndKeepsState(String snapshot) {
        BankService bank = new BankService();
        populate("bank", bank);
        byte[] before = bank.snapshot();
        assertThatThrownBy(() -> bank.restore(utf8(snapshot)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("invalid bank snapshot");
        assertThat(bank.snapshot()).isEqualTo(before);
    }

    private static void populate(String name, Service service) {
        if (name.equals("kv")) {
            run(service, "{\"op\":\"put\",\"key\":\"s\",\"value\":\"text\"}");
            run(service, "{\"op\":\"put\",\"key\":\"obj\",\"value\":{\"z\":1,\"a\":[true,null,2.50]}}");
            run(service, "{\"op\":\"incr\",\"key\":\"n\",\"by\":41}");
            run(service, "{\"op\":\"incr\",\"key\":\"big\",\"by\":5000000000}");
            run(service, "{\"op\":\"put\",\"key\":\"f\",\"value\":1.0}");
        } else {
            run(service, "{\"op\":\"open\",\"account\":\"alice\",\"balance\":100}");
            run(service, "{\"op\":\"open\",\"account\":\"bob\",\"balance\":50}");
            run(service, "{\"op\":\"open\",\"account\":\"carol\",\"balance\":0}");
            run(service, "{\"op\":\"transfer\",\"from\":\"alice\",\"to\":\"carol\",\"amount\":25}");
        }
    }

    private static List<String> followUps(String name) {
        if (name.equals("kv")) {
            return List.of(
                    "{\"op\":\"get\",\"key\":\"obj\"}",
                    "{\"op\":\"get\",\"key\":\"f\"}",
                    "{\"op\":\"incr\",\"key\":\"n\"}",
                    "{\"op\":\"incr\",\"key\":\"big\",\"by\":-1}",
                    "{\"op\":\"incr\",\"key\":\"s\"}",
                    "{\"op\":\"cas\",\"key\":\"n\",\"expect\":43,\"value\":\"x\"}",
                    "{\"op\":\"cas\",\"key\":\"big\",\"expect\":4999999999,\"value\":0}",
                    "{\"op\":\"cas\",\"key\":\"obj\",\"expect\":{\"a\":[true,null,2.5],\"z\":1.0},\"value\":[]}",
                    "{\"op\":\"cas\",\"key\":\"f\",\"expect\":1,\"value\":2}",
                    "{\"op\":\"delete\",\"key\":\"s\"}",
                    "{\"op\":\"get\",\"key\":\"s\"}",
                    "{\"op\":\"frob\"}");
        }
        return List.of(
                "{\"op\":\"total\"}",
                "{\"op\":\"balance\",\"account\":\"carol\"}",
                "{\"op\":\"transfer\",\"from\":\"bob\",\"to\":\"alice\",\"amount\":51}",
                "{\"op\":\"transfer\",\"from\":\"bob\",\"to\":\"alice\",\"amount\":50}",
                "{\"op\":\"open\",\"account\":\"alice\",\"balance\":1}",
                "{\"op\":\"open\",\"account\":\"dave\",\"balance\":1}",
                "{\"op\":\"balance\",\"account\":\"alice\"}",
                "{\"op\":\"total\"}");
    }
}
