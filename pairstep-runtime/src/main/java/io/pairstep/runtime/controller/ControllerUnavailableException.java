package io.pairstep.runtime.controller;

/**
 * A command could not be committed to the controller group: no leader was reachable before the
 * deadline, the controller server was closed, or the group refused the request outright. The
 * command may or may not have been applied; every control command is safe to submit again.
 */
public final class ControllerUnavailableException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public ControllerUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
