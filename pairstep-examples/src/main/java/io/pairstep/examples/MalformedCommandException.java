package io.pairstep.examples;

import io.pairstep.api.ApplicationException;
import java.io.Serial;

/**
 * Thrown by an example service when a command cannot be understood: it is not JSON, not a JSON
 * object, lacks a field, has a field of the wrong type, or names an unknown operation. Like every
 * {@link ApplicationException}, it leaves the service's state unchanged.
 */
public final class MalformedCommandException extends io.pairstep.api.MalformedCommandException {

    @Serial private static final long serialVersionUID = 1L;

    public MalformedCommandException(String message) {
        super(message);
    }
}
