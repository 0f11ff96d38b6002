package io.pairstep.examples;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.nio.charset.StandardCharsets;

/**
 * Example {@code faulty}: {@link KvService} plus commands that break the replica that runs them. It
 * exists to test how Pairstep contains poison commands; do not deploy it for anything else.
 *
 * <p>Besides every kv command it takes:
 *
 * <ul>
 *   <li>{@code {"op":"stack-overflow"}}: recurses until the thread's stack overflows
 *       ({@link StackOverflowError})
 *   <li>{@code {"op":"spin"}}: loops forever, and cannot be interrupted
 *   <li>{@code {"op":"out-of-memory"}}: asks for an array larger than any heap can hold
 *       ({@link OutOfMemoryError}, at once and on every member, without starving the node's other
 *       threads of memory as a real heap exhaustion would)
 * </ul>
 *
 * <p>All first write a key {@code "poisoned"}, so that a replica state they reached is not the
 * state of a replica they never reached: a poison command must leave no trace in the group.
 */
public final class FaultyService implements Service {

    private final KvService kv = new KvService();

    @Override
    public byte[] apply(byte[] command, Context context) throws ApplicationException {
        String text = new String(command, StandardCharsets.UTF_8);
        if (text.contains("\"op\":\"stack-overflow\"")) {
            poisonState(context);
            return recurse(0) == 0 ? new byte[0] : new byte[1];
        }
        if (text.contains("\"op\":\"spin\"")) {
            poisonState(context);
            spin();
        }
        if (text.contains("\"op\":\"out-of-memory\"")) {
            poisonState(context);
            long[] huge = new long[Integer.MAX_VALUE];
            return new byte[] {(byte) huge.length};
        }
        return kv.apply(command, context);
    }

    private void poisonState(Context context) throws ApplicationException {
        kv.apply("{\"op\":\"put\",\"key\":\"poisoned\",\"value\":true}".getBytes(StandardCharsets.UTF_8), context);
    }

    private static long recurse(long depth) {
        return recurse(depth + 1) + 1;
    }

    @SuppressWarnings("InfiniteLoopStatement")
    private static void spin() {
        long counter = 0;
        while (true) {
            counter++;
            if (counter == Long.MIN_VALUE) {
                // Never reached in practice; keeps the loop from being proved endless and removed.
                Thread.onSpinWait();
            }
        }
    }

    @Override
    public byte[] snapshot() {
        return kv.snapshot();
    }

    @Override
    public void restore(byte[] snapshot) {
        kv.restore(snapshot);
    }
}
