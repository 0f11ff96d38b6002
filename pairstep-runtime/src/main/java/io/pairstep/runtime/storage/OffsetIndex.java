package io.pairstep.runtime.storage;

import java.util.Arrays;

/** A growable array of the byte offsets of the records in one segment, by position in the segment. */
final class OffsetIndex {

    private long[] offsets = new long[64];
    private int size;

    void add(long offset) {
        if (size == offsets.length) {
            offsets = Arrays.copyOf(offsets, offsets.length * 2);
        }
        offsets[size++] = offset;
    }

    long get(int position) {
        if (position < 0 || position >= size) {
            throw new IllegalStateException("record position " + position + " is outside the segment's " + size + " records");
        }
        return offsets[position];
    }

    int size() {
        return size;
    }
}
