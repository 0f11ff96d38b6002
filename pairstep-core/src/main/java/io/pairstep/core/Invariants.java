package io.pairstep.core;

/**
 * Always-on invariant checks. Unlike the JVM's {@code assert}, these run in production: a broken
 * invariant means the replica's state can no longer be trusted, so it must stop and let its partner
 * take over rather than go on and release a wrong result.
 */
public final class Invariants {

    private Invariants() {}

    /** Thrown when an invariant is broken. Never caught by the protocol code. */
    public static final class Violation extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        public Violation(String message) {
            super(message);
        }
    }

    public static void check(boolean condition, String message) {
        if (!condition) {
            throw new Violation(message);
        }
    }

    public static void check(boolean condition, String format, Object... arguments) {
        if (!condition) {
            throw new Violation(String.format(format, arguments));
        }
    }
}
