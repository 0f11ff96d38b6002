package io.pairstep.client;

import java.util.Objects;

/** A call that did not produce the service's result. {@link #code()} says why. */
public class PairstepException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The service refused the command; the message is the service's. The command took effect as a refusal (exactly once). */
    public static final String APPLICATION_ERROR = "APPLICATION_ERROR";
    /** No such service in the system. */
    public static final String UNKNOWN_SERVICE = "UNKNOWN_SERVICE";
    /** The deadline passed without a primary answering; the command may or may not have run. */
    public static final String UNAVAILABLE = "UNAVAILABLE";
    /** A protocol refusal such as {@code SESSION_EXPIRED}; the command was not run. The message starts with the code. */
    public static final String REJECTED = "REJECTED";
    /**
     * The command is a poison command: it crashed or hung a replica of its group, so it is
     * quarantined and never run again; the state is as if it never arrived. Retrying it gets the
     * same answer.
     */
    public static final String POISON = "POISON";
    /** The client was closed before the call ended. */
    public static final String CLOSED = "CLOSED";

    private final String code;

    public PairstepException(String code, String message) {
        super(message);
        this.code = Objects.requireNonNull(code, "code");
    }

    public PairstepException(String code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** One of {@link #APPLICATION_ERROR}, {@link #UNKNOWN_SERVICE}, {@link #UNAVAILABLE}, {@link #REJECTED}, {@link #POISON}, {@link #CLOSED}. */
    public String code() {
        return code;
    }

    @Override
    public String toString() {
        return "PairstepException[" + code + "]: " + getMessage();
    }
}
