package io.pairstep.core.wire;

import java.io.IOException;

/** A frame body that {@link FrameCodec} cannot decode: unknown type, bad length, truncated, invalid field. */
public class MalformedFrameException extends IOException {

    private static final long serialVersionUID = 1L;

    public MalformedFrameException(String message) {
        super(message);
    }

    public MalformedFrameException(String message, Throwable cause) {
        super(message, cause);
    }
}
