package io.pairstep.examples;

import static io.pairstep.examples.Commands.refused;
import static io.pairstep.examples.Commands.run;
import static io.pairstep.examples.Commands.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.api.ApplicationException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KvServiceTest {

    private KvService kv;

    @BeforeEach
    void setUp() {
        kv = new KvService();
    }

    // --- put / get ---

    @Test
    void putThenGet() {
        assertThat(run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":\"x\"}")).isEqualTo("{\"ok\":true}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":\"x\"}");
    }

    @Test
    void getOfAbsentKeyIsNull() {
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"nope\"}")).isEqualTo("{\"value\":null}");
    }

    @Test
    void putOverwrites() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":1}");
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":2}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":2}");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "0", "-7", "2147483648", "9223372036854775807", "123456789012345678901234567890",
                "1.50", "1E+400", "-2.5E-7", "true", "false", "\"\"", "\"h\\\"i\\n\"",
                "[]", "[1,\"two\",[3],{\"four\":4}]", "{}", "{\"z\":1,\"a\":{\"y\":[true,null],\"b\":2}}"
            })
    void putStoresAnyJsonValueAndGetReturnsItAsWritten(String value) {
        assertThat(run(kv, "{\"op\":\"put\",\"key\":\"k\",\"value\":" + value + "}")).isEqualTo("{\"ok\":true}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"k\"}")).isEqualTo("{\"value\":" + value + "}");
    }

    @Test
    void exponentNumbersComeBackInCanonicalDecimalForm() {
        run(kv, "{\"op\":\"put\",\"key\":\"k\",\"value\":1e400}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"k\"}")).isEqualTo("{\"value\":1E+400}");
    }

    @Test
    void putOfNullRemovesTheKey() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":1}");
        assertThat(run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":null}")).isEqualTo("{\"ok\":true}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":null}");
        assertThat(text(kv.snapshot())).isEqualTo("{\"entries\":{}}");
    }

    @Test
    void keysMayBeAnyString() {
        run(kv, "{\"op\":\"put\",\"key\":\"\",\"value\":1}");
        run(kv, "{\"op\":\"put\",\"key\":\"\\\"quoted\\\" \\u00fc\",\"value\":2}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"\"}")).isEqualTo("{\"value\":1}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"\\\"quoted\\\" ü\"}")).isEqualTo("{\"value\":2}");
        assertThat(text(kv.snapshot())).isEqualTo("{\"entries\":{\"\":1,\"\\\"quoted\\\" ü\":2}}");
    }

    @Test
    void extraFieldsAreIgnored() {
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\",\"trace\":\"x\"}")).isEqualTo("{\"value\":null}");
    }

    // --- incr ---

    @Test
    void incrOfAbsentKeyStartsAtZeroAndDefaultsToOne() {
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"n\"}")).isEqualTo("{\"value\":1}");
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"n\"}")).isEqualTo("{\"value\":2}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"n\"}")).isEqualTo("{\"value\":2}");
    }

    @Test
    void incrByAmount() {
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"n\",\"by\":5}")).isEqualTo("{\"value\":5}");
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"n\",\"by\":-12}")).isEqualTo("{\"value\":-7}");
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"n\",\"by\":0}")).isEqualTo("{\"value\":-7}");
    }

    @Test
    void incrOfExistingNumber() {
        run(kv, "{\"op\":\"put\",\"key\":\"n\",\"value\":40}");
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"n\",\"by\":2}")).isEqualTo("{\"value\":42}");
    }

    @Test
    void incrWorksAcrossTheWholeLongRange() {
        run(kv, "{\"op\":\"put\",\"key\":\"n\",\"value\":9223372036854775806}");
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"n\"}")).isEqualTo("{\"value\":9223372036854775807}");
        assertThat(run(kv, "{\"op\":\"incr\",\"key\":\"m\",\"by\":-9223372036854775808}"))
                .isEqualTo("{\"value\":-9223372036854775808}");
    }

    @Test
    void incrOverflowIsRefused() {
        run(kv, "{\"op\":\"put\",\"key\":\"n\",\"value\":9223372036854775807}");
        ApplicationException e = refused(kv, "{\"op\":\"incr\",\"key\":\"n\"}");
        assertThat(e).isExactlyInstanceOf(ApplicationException.class);
        assertThat(e.getMessage()).isEqualTo("cannot incr key \"n\": result overflows a long");
    }

    @ParameterizedTest
    @ValueSource(strings = {"\"x\"", "\"5\"", "true", "[1]", "{\"a\":1}", "1.5", "2.0", "9223372036854775808"})
    void incrOfNonIntegerValueIsRefusedNamingTheKey(String value) {
        run(kv, "{\"op\":\"put\",\"key\":\"name\",\"value\":" + value + "}");
        ApplicationException e = refused(kv, "{\"op\":\"incr\",\"key\":\"name\",\"by\":1}");
        assertThat(e).isExactlyInstanceOf(ApplicationException.class);
        assertThat(e.getMessage()).isEqualTo("cannot incr key \"name\": value is not a long integer");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"name\"}")).isEqualTo("{\"value\":" + value + "}");
    }

    @ParameterizedTest
    @ValueSource(strings = {"1.0", "\"1\"", "null", "true", "[1]", "9223372036854775808"})
    void incrByMustBeALong(String by) {
        run(kv, "{\"op\":\"put\",\"key\":\"n\",\"value\":1}");
        ApplicationException e = refused(kv, "{\"op\":\"incr\",\"key\":\"n\",\"by\":" + by + "}");
        assertThat(e).isExactlyInstanceOf(MalformedCommandException.class);
        assertThat(e.getMessage()).isEqualTo("field \"by\" must be an integer (long)");
    }

    @Test
    void incrResultEqualsTheSameNumberWrittenByAClient() {
        run(kv, "{\"op\":\"incr\",\"key\":\"small\",\"by\":6}");
        run(kv, "{\"op\":\"incr\",\"key\":\"big\",\"by\":5000000000}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"small\",\"expect\":6,\"value\":7}"))
                .isEqualTo("{\"ok\":true,\"value\":7}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"big\",\"expect\":5000000000,\"value\":1}"))
                .isEqualTo("{\"ok\":true,\"value\":1}");
    }

    // --- cas ---

    @Test
    void casOnAbsentKeyWithExpectNullSets() {
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":null,\"value\":\"v\"}"))
                .isEqualTo("{\"ok\":true,\"value\":\"v\"}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":\"v\"}");
    }

    @Test
    void casOnPresentKeyWithExpectNullFails() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":\"old\"}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":null,\"value\":\"new\"}"))
                .isEqualTo("{\"ok\":false,\"value\":\"old\"}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":\"old\"}");
    }

    @Test
    void casOnAbsentKeyWithExpectValueFails() {
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":1,\"value\":2}"))
                .isEqualTo("{\"ok\":false,\"value\":null}");
        assertThat(text(kv.snapshot())).isEqualTo("{\"entries\":{}}");
    }

    @Test
    void casWithMatchingExpectSwaps() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":1}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":1,\"value\":{\"x\":[2]}}"))
                .isEqualTo("{\"ok\":true,\"value\":{\"x\":[2]}}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":{\"x\":[2]}}");
    }

    @Test
    void casWithOtherExpectFailsAndReturnsCurrent() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":1}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":\"1\",\"value\":2}"))
                .isEqualTo("{\"ok\":false,\"value\":1}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":2,\"value\":3}"))
                .isEqualTo("{\"ok\":false,\"value\":1}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":1}");
    }

    @Test
    void casComparesStructuredValuesByEquality() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":{\"x\":1,\"y\":[1,2,{\"z\":null}]}}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":{\"x\":1,\"y\":[2,1,{\"z\":null}]},\"value\":0}"))
                .isEqualTo("{\"ok\":false,\"value\":{\"x\":1,\"y\":[1,2,{\"z\":null}]}}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":{\"x\":1},\"value\":0}"))
                .isEqualTo("{\"ok\":false,\"value\":{\"x\":1,\"y\":[1,2,{\"z\":null}]}}");
        // Property order does not matter for equality.
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":{\"y\":[1,2,{\"z\":null}],\"x\":1},\"value\":0}"))
                .isEqualTo("{\"ok\":true,\"value\":0}");
    }

    @Test
    void casComparesNumbersByValue() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":1}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":1.00,\"value\":[1e2]}"))
                .isEqualTo("{\"ok\":true,\"value\":[1E+2]}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":[100],\"value\":true}"))
                .isEqualTo("{\"ok\":true,\"value\":true}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":1,\"value\":false}"))
                .isEqualTo("{\"ok\":false,\"value\":true}");
    }

    @Test
    void casToNullRemovesTheKey() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":1}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":1,\"value\":null}"))
                .isEqualTo("{\"ok\":true,\"value\":null}");
        assertThat(text(kv.snapshot())).isEqualTo("{\"entries\":{}}");
        assertThat(run(kv, "{\"op\":\"cas\",\"key\":\"a\",\"expect\":null,\"value\":2}"))
                .isEqualTo("{\"ok\":true,\"value\":2}");
    }

    // --- delete ---

    @Test
    void deleteRemovesTheKey() {
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":1}");
        run(kv, "{\"op\":\"put\",\"key\":\"b\",\"value\":2}");
        assertThat(run(kv, "{\"op\":\"delete\",\"key\":\"a\"}")).isEqualTo("{\"ok\":true}");
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":null}");
        assertThat(text(kv.snapshot())).isEqualTo("{\"entries\":{\"b\":2}}");
    }

    @Test
    void deleteOfAbsentKeyIsOk() {
        assertThat(run(kv, "{\"op\":\"delete\",\"key\":\"a\"}")).isEqualTo("{\"ok\":true}");
    }

    // --- kv-specific malformed commands (the shared ones are in MalformedCommandTest) ---

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"op\":\"put\",\"value\":1}|missing field \"key\"",
                "{\"op\":\"put\",\"key\":\"a\"}|missing field \"value\"",
                "{\"op\":\"put\",\"key\":1,\"value\":1}|field \"key\" must be a string",
                "{\"op\":\"put\",\"key\":null,\"value\":1}|field \"key\" must be a string",
                "{\"op\":\"get\"}|missing field \"key\"",
                "{\"op\":\"get\",\"key\":[\"a\"]}|field \"key\" must be a string",
                "{\"op\":\"incr\"}|missing field \"key\"",
                "{\"op\":\"incr\",\"key\":{}}|field \"key\" must be a string",
                "{\"op\":\"cas\",\"key\":\"a\",\"value\":1}|missing field \"expect\"",
                "{\"op\":\"cas\",\"key\":\"a\",\"expect\":1}|missing field \"value\"",
                "{\"op\":\"cas\",\"expect\":1,\"value\":1}|missing field \"key\"",
                "{\"op\":\"delete\"}|missing field \"key\"",
                "{\"op\":\"delete\",\"key\":true}|field \"key\" must be a string",
                "{\"op\":\"PUT\",\"key\":\"a\",\"value\":1}|unknown op \"PUT\"",
                "{\"op\":\"open\",\"account\":\"a\",\"balance\":1}|unknown op \"open\""
            })
    void malformedKvCommands(String commandAndMessage) {
        String[] parts = commandAndMessage.split("\\|", 2);
        run(kv, "{\"op\":\"put\",\"key\":\"a\",\"value\":\"keep\"}");
        ApplicationException e = refused(kv, parts[0]);
        assertThat(e).isExactlyInstanceOf(MalformedCommandException.class);
        assertThat(e.getMessage()).isEqualTo(parts[1]);
        assertThat(run(kv, "{\"op\":\"get\",\"key\":\"a\"}")).isEqualTo("{\"value\":\"keep\"}");
    }
}
