package io.pairstep.runtime.storage;

import java.util.Objects;

/**
 * One record to append through the {@link GroupCommitWriter}.
 *
 * <p>The bytes are not copied: once submitted, the caller must not modify them.
 *
 * @param index the log index the record must land at
 * @param bytes the opaque record
 */
public record Entry(long index, byte[] bytes) {

    public Entry {
        Objects.requireNonNull(bytes, "bytes");
    }
}
