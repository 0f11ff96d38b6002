package io.pairstep.api;

import java.io.Serial;

/**
 * Thrown by a service to refuse a command for an application reason. The client receives the
 * message as an application error (HTTP 422). The service's state must be unchanged.
 */
public class ApplicationException extends Exception {

    @Serial private static final long serialVersionUID = 1L;

    public ApplicationException(String message) {
        super(message);
    }
}
