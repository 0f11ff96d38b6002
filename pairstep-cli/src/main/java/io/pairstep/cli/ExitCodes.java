package io.pairstep.cli;

/** The CLI's exit codes; stable, so scripts can rely on them. */
public final class ExitCodes {

    /** The command did what it was asked. */
    public static final int OK = 0;
    /** The command failed: unreachable system, error answer, failed startup, ... */
    public static final int ERROR = 1;
    /** The command line is wrong: unknown option, missing or invalid argument. */
    public static final int USAGE = 2;
    /** {@code call}: the service refused the command (HTTP 422, an application error). */
    public static final int APPLICATION_ERROR = 3;

    private ExitCodes() {
    }
}
