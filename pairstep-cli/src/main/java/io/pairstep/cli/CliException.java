package io.pairstep.cli;

/**
 * An expected failure of a command: the CLI prints its message as one line on stderr, without a
 * stack trace, and exits with {@link #exitCode()}.
 */
public final class CliException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int exitCode;

    public CliException(String message) {
        this(message, ExitCodes.ERROR);
    }

    public CliException(String message, int exitCode) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    public CliException(String message, Throwable cause) {
        super(message, cause, false, false);
        this.exitCode = ExitCodes.ERROR;
    }

    public int exitCode() {
        return exitCode;
    }
}
