package io.pairstep.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Test helpers: run commands as strings and check refusals leave the state alone. */
final class Commands {

    private static final Context CONTEXT = TestContext.at(1);

    private Commands() {}

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /** Applies a command that must succeed and returns its result as a string. */
    static String run(Service service, String command) {
        try {
            return text(service.apply(utf8(command), CONTEXT));
        } catch (ApplicationException e) {
            return fail("command %s was refused: %s", command, e.getMessage());
        }
    }

    /** Applies a command that must be refused, checks that the state is unchanged, returns the refusal. */
    static ApplicationException refused(Service service, String command) {
        return refused(service, utf8(command));
    }

    static ApplicationException refused(Service service, byte[] command) {
        byte[] before = service.snapshot();
        try {
            byte[] result = service.apply(command, CONTEXT);
            return fail("command %s was accepted with %s", text(command), text(result));
        } catch (ApplicationException e) {
            assertThat(text(service.snapshot()))
                    .as("state after refused command %s", text(command))
                    .isEqualTo(text(before));
            return e;
        }
    }

    /** Either the result, or "error <class>: <message>" for a refusal. */
    static String outcome(Service service, String command, Context context) {
        try {
            return text(service.apply(utf8(command), context));
        } catch (ApplicationException e) {
            return "error " + e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    /** The seed for a randomized test: system property {@code pairstep.seed}, else a fresh one. */
    static long seed(String test) {
        String property = System.getProperty("pairstep.seed");
        long seed = property != null && !property.isBlank() ? Long.parseLong(property.trim()) : new Random().nextLong();
        System.out.println(test + ": seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        return seed;
    }
}
