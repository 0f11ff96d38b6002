package io.pairstep.core;

/**
 * Carries a crash of a service (an {@link Error} such as {@link StackOverflowError}, or the runtime's
 * watchdog) out of a protocol core's apply step to the input that caused it. The core that catches
 * it stops acting on its state, which the crash may have left half changed.
 */
public final class ServiceCrashed extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What the service threw, for the crash report. */
    public ServiceCrashed(String reason) {
        super(reason, null, false, false);
    }

    public String reason() {
        return getMessage();
    }
}
