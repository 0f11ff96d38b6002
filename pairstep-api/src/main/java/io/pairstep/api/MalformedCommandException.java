package io.pairstep.api;

import java.io.Serial;

/**
 * Thrown by a service when a command cannot be understood at all (not JSON, a missing field). The
 * HTTP gateway answers 400 instead of 422. The service's state must be unchanged.
 */
public class MalformedCommandException extends ApplicationException {

    @Serial private static final long serialVersionUID = 1L;

    /** What a reply's message starts with when the command was malformed. */
    public static final String REPLY_PREFIX = "malformed command: ";

    public MalformedCommandException(String message) {
        super(message);
    }
}
