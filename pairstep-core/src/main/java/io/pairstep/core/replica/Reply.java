package io.pairstep.core.replica;

/** What a client receives for a command. */
public sealed interface Reply {

    /** The service's result. */
    record Ok(byte[] body) implements Reply {}

    /** The service refused the command; the state is unchanged. */
    record ApplicationError(String message) implements Reply {}

    /**
     * This replica cannot order commands for the group. The client asks again, at the hinted node
     * if one is given.
     *
     * @param epoch the epoch this replica knows
     * @param primaryNode the node it believes is primary, or empty
     */
    record NotPrimary(long epoch, String primaryNode) implements Reply {}

    /**
     * The command was refused for a protocol reason, never executed.
     *
     * @param code a stable code such as {@code SESSION_EXPIRED} or {@code STALE_SEQUENCE}
     * @param message a readable explanation
     */
    record Rejected(String code, String message) implements Reply {}

    String SESSION_EXPIRED = "SESSION_EXPIRED";
    String STALE_SEQUENCE = "STALE_SEQUENCE";
    /** A lockstep group whose members disagree with nothing to show which is right: it releases nothing. */
    String GROUP_HALTED = "GROUP_HALTED";
    /**
     * The command crashed or hung a replica of its group (a poison command) and is quarantined: it
     * is never run again, and every retry gets this refusal. The state is as if it never arrived.
     */
    String POISON = "POISON";
}
