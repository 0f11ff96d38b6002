package io.pairstep.runtime.storage;

import java.util.Arrays;
import java.util.Objects;

/**
 * A snapshot of the replica's state machine that covers every record up to and including
 * {@code index}. Its bytes are opaque to storage.
 *
 * @param index the last log index the snapshot reflects; 0 means the initial state
 * @param data the serialized state
 */
public record Snapshot(long index, byte[] data) {

    public Snapshot {
        if (index < 0) {
            throw new IllegalArgumentException("snapshot index must not be negative, was " + index);
        }
        Objects.requireNonNull(data, "data");
    }

    // Arrays compare by identity in a record, which would make two equal snapshots unequal.
    @Override
    public boolean equals(Object other) {
        return other instanceof Snapshot that && index == that.index && Arrays.equals(data, that.data);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(index) * 31 + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "Snapshot[index=" + index + ", dataBytes=" + data.length + "]";
    }
}
