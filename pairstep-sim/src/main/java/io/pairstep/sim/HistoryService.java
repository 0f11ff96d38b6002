package io.pairstep.sim;

import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The simulator's service: its state is the list of every command applied, in order, and each
 * result is the command's position in that list together with its index in the log. A checker can
 * then see from the final state whether an acknowledged command was lost, applied twice, or answered
 * out of order, and from the index which command the orderer numbered there. The two differ once a
 * log holds entries that never reach the service (a quarantined poison command in a lockstep log).
 */
final class HistoryService implements Service {

    private final List<String> history = new ArrayList<>();
    /** True for a version that answers differently on some commands (see {@link #differs}). */
    private final boolean skewed;

    /** The service as every correct version runs it. */
    HistoryService() {
        this(false);
    }

    /**
     * @param skewed true for a version that keeps the same state but answers one position too far
     *     on about one command in four (those {@link #differs} names): what an upgrade must catch
     */
    HistoryService(boolean skewed) {
        this.skewed = skewed;
    }

    /** The commands a skewed version answers differently: a quarter of them, by a hash of their text. */
    static boolean differs(String command) {
        return Math.floorMod(command.hashCode() * 0x9E3779B9, 4) == 0;
    }

    /** Commands that start with this crash the replica that runs them: poison commands. */
    static final String POISON_PREFIX = "poison";

    @Override
    public byte[] apply(byte[] command, Context context) {
        String text = new String(command, StandardCharsets.UTF_8);
        history.add(text);
        if (text.startsWith(POISON_PREFIX)) {
            // After changing the state, as a real overflow may: no replica that serves may keep this.
            throw new StackOverflowError("poison command " + text);
        }
        long position = history.size() + (skewed && differs(text) ? 1 : 0);
        return ByteBuffer.allocate(2 * Long.BYTES).putLong(position).putLong(context.index()).array();
    }

    @Override
    public byte[] snapshot() {
        return String.join("\n", history).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void restore(byte[] snapshot) {
        history.clear();
        String text = new String(snapshot, StandardCharsets.UTF_8);
        if (!text.isEmpty()) {
            history.addAll(List.of(text.split("\n", -1)));
        }
    }

    static List<String> decode(byte[] snapshot) {
        HistoryService service = new HistoryService();
        service.restore(snapshot);
        return service.history;
    }

    static long position(byte[] result) {
        return ByteBuffer.wrap(result).getLong();
    }

    static long index(byte[] result) {
        return ByteBuffer.wrap(result).getLong(Long.BYTES);
    }
}
