package io.pairstep.examples;

import static io.pairstep.examples.Commands.refused;
import static io.pairstep.examples.Commands.run;
import static io.pairstep.examples.Commands.text;
import static io.pairstep.examples.Commands.utf8;
import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Service;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Malformed input that both services refuse the same way, each with some state to keep. */
class MalformedCommandTest {

    static Stream<Arguments> cases() {
        return Stream.of("kv", "bank")
                .flatMap(name -> Stream.of(
                        Arguments.of(name, utf8(""), "command is empty"),
                        Arguments.of(name, utf8("   \n"), "command is empty"),
                        Arguments.of(name, utf8("[1,2]"), "command must be a JSON object"),
                        Arguments.of(name, utf8("\"put\""), "command must be a JSON object"),
                        Arguments.of(name, utf8("42"), "command must be a JSON object"),
                        Arguments.of(name, utf8("null"), "command must be a JSON object"),
                        Arguments.of(name, utf8("{}"), "missing field \"op\""),
                        Arguments.of(name, utf8("{\"key\":\"a\"}"), "missing field \"op\""),
                        Arguments.of(name, utf8("{\"op\":1}"), "field \"op\" must be a string"),
                        Arguments.of(name, utf8("{\"op\":null}"), "field \"op\" must be a string"),
                        Arguments.of(name, utf8("{\"op\":[\"get\"]}"), "field \"op\" must be a string"),
                        Arguments.of(name, utf8("{\"op\":\"frobnicate\"}"), "unknown op \"frobnicate\""),
                        Arguments.of(name, utf8("{\"op\":\"\"}"), "unknown op \"\"")));
    }

    static Stream<Arguments> notJson() {
        return Stream.of("kv", "bank")
                .flatMap(name -> Stream.of(
                        Arguments.of(name, utf8("not json")),
                        Arguments.of(name, utf8("{\"op\":\"total\"")),
                        Arguments.of(name, utf8("{\"op\":\"total\"} {}")),
                        Arguments.of(name, utf8("{\"op\":\"total\"} x")),
                        Arguments.of(name, utf8("{op:\"total\"}")),
                        Arguments.of(name, utf8("{\"op\":\"total\",}")),
                        Arguments.of(name, utf8("{\"op\":\"total\",\"op\":\"frob\"}")),
                        Arguments.of(name, utf8("{\"op\":\"put\",\"key\":\"k\",\"value\":{\"a\":1,\"a\":2}}")),
                        Arguments.of(name, utf8("{\"op\":\"put\",\"key\":\"k\",\"value\":NaN}")),
                        Arguments.of(name, new byte[] {'{', '"', 'o', 'p', '"', ':', '"', (byte) 0xff, '"', '}'})));
    }

    private static Service withState(String name) {
        Service service = Examples.create(name);
        if (name.equals("kv")) {
            run(service, "{\"op\":\"put\",\"key\":\"a\",\"value\":[1,{\"b\":2}]}");
        } else {
            run(service, "{\"op\":\"open\",\"account\":\"alice\",\"balance\":100}");
        }
        return service;
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("cases")
    void refusedWithMessage(String name, byte[] command, String message) {
        Service service = withState(name);
        byte[] before = service.snapshot();
        ApplicationException e = refused(service, command);
        assertThat(e).isExactlyInstanceOf(MalformedCommandException.class);
        assertThat(e.getMessage()).isEqualTo(message);
        assertThat(service.snapshot()).isEqualTo(before);
    }

    @ParameterizedTest(name = "{0}: {1}")
    @MethodSource("notJson")
    void refusedAsNotJson(String name, byte[] command) {
        Service service = withState(name);
        byte[] before = service.snapshot();
        ApplicationException e = refused(service, command);
        assertThat(e).isExactlyInstanceOf(MalformedCommandException.class);
        assertThat(e.getMessage()).as("for %s", text(command)).startsWith("command is not valid JSON: ");
        assertThat(e.getMessage()).as("one line, no parser location").doesNotContain("\n");
        assertThat(service.snapshot()).isEqualTo(before);
    }

    @org.junit.jupiter.api.Test
    void malformedCommandExceptionIsAnApplicationException() {
        ApplicationException e = new MalformedCommandException("missing field \"key\"");
        assertThat(e).isInstanceOf(ApplicationException.class);
        assertThat(e.getMessage()).isEqualTo("missing field \"key\"");
    }
}
