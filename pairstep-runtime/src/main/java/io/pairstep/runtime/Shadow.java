package io.pairstep.runtime;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Shadow mode of an upgrade, on a pair backup or a lockstep follower: the new version's instance, started from the
 * backup's own state (so it also proves it can read the old version's snapshot), runs every command
 * the backup runs, right after it, and each output is compared with the backup's. After {@code
 * limit} commands the outcome is handed to {@code done}, once. Runs on the backup's agent thread;
 * the primary never waits for it beyond the backup's usual acknowledgement.
 *
 * <p>A command whose output depends on the {@link Context}'s randomness would differ here although
 * both versions are right: the shadow sees the context after the backup's own service used it.
 */
final class Shadow {

    /** How many differences one partition reports; the count of all is in the last line. */
    static final int REPORTED_MAX = 10;

    record Outcome(long compared, List<String> differences) {}

    private final Service service;
    private final long limit;
    private final Consumer<Outcome> done;
    private final List<String> differences = new ArrayList<>();
    private long compared;
    private long differed;
    private boolean finished;

    /**
     * Starts the shadow at {@code state} (the backup's snapshot). A new version that cannot read it
     * counts as one difference, and the shadow ends there.
     */
    Shadow(Service service, byte[] state, long limit, Consumer<Outcome> done) {
        this.service = service;
        this.limit = limit;
        this.done = done;
        try {
            service.restore(state);
        } catch (RuntimeException | Error e) {
            differences.add("the new version cannot read the current state: " + e);
            differed = 1;
            finish();
        }
    }

    /**
     * The replica's state was replaced by {@code state} (a snapshot it installed): the new version
     * restores it too and goes on comparing from there, counting what it compared so far.
     */
    void restart(byte[] state) {
        if (finished) {
            return;
        }
        try {
            service.restore(state);
        } catch (RuntimeException | Error e) {
            differences.add("the new version cannot read the state installed at command " + compared + ": " + e);
            differed++;
            finish();
        }
    }

    /** After the backup ran {@code command}: runs it on the new version and compares; {@code failure} is the backup's application error, or null. */
    void compare(byte[] command, Context context, byte[] output, ApplicationException failure) {
        if (finished) {
            return;
        }
        String expected = failure != null ? "error: " + failure.getMessage() : text(output);
        String actual;
        try {
            actual = text(service.apply(command, context));
        } catch (ApplicationException e) {
            actual = "error: " + e.getMessage();
        } catch (RuntimeException | Error e) {
            actual = "crash: " + e;
        }
        compared++;
        if (!expected.equals(actual)) {
            differed++;
            if (differences.size() < REPORTED_MAX) {
                differences.add("command " + compared + " " + cut(text(command)) + ": the new version answered " + cut(actual) + ", the current one "
                        + cut(expected));
            }
        }
        if (compared >= limit) {
            finish();
        }
    }

    boolean finished() {
        return finished;
    }

    private void finish() {
        finished = true;
        List<String> reported = new ArrayList<>(differences);
        if (differed > differences.size()) {
            reported.add((differed - differences.size()) + " more differed");
        }
        done.accept(new Outcome(compared, reported));
    }

    private static String text(byte[] bytes) {
        return bytes == null ? "null" : new String(bytes, StandardCharsets.UTF_8);
    }

    private static String cut(String text) {
        return text.length() <= 200 ? text : text.substring(0, 200) + "...";
    }
}
