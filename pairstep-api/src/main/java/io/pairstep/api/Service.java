package io.pairstep.api;

/**
 * A service hosted by Pairstep: a deterministic state machine.
 *
 * <p>Every replica of a partition calls {@link #apply} with the same commands in the same order and
 * with the same {@link Context}, so every replica must reach the same state and produce the same
 * result. A service therefore must not read the wall clock, use unseeded randomness, start threads,
 * or do I/O; it takes time, randomness and ids from the context instead.
 *
 * <p>Pairstep calls a service from one thread at a time; a service needs no locking.
 */
public interface Service {

    /**
     * Applies one command to the state and returns its result.
     *
     * @param command the command bytes exactly as the client sent them
     * @param context deterministic time, randomness and position of this command
     * @return the result bytes that the client receives
     * @throws ApplicationException when the command is refused by the application (for example
     *     "insufficient funds"); the service must leave its state unchanged when it throws
     */
    byte[] apply(byte[] command, Context context) throws ApplicationException;

    /** Returns the whole state as bytes, such that {@link #restore} on a fresh instance rebuilds it. */
    byte[] snapshot();

    /** Replaces the whole state with one produced by {@link #snapshot}. */
    void restore(byte[] snapshot);

    /**
     * A short name of what {@code command} asks, for reports such as a divergence between
     * replicas (for example {@code "method deposit"}), or null when there is none to give. It must
     * not change the state and may be called from another thread than {@link #apply}.
     */
    default String describe(byte[] command) {
        return null;
    }
}
