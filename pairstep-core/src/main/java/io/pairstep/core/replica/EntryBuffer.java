package io.pairstep.core.replica;

import io.pairstep.core.Invariants;

/**
 * Log entries with contiguous indexes kept in memory for retransmission to a backup, as a ring
 * with access by index. Appending and dropping from the front never allocate beyond growth. Public
 * for the lockstep protocol, which keeps its entries the same way.
 */
public final class EntryBuffer {

    private LogEntry[] ring = new LogEntry[1024];
    private int head;
    private int size;

    public boolean isEmpty() {
        return size == 0;
    }

    public int size() {
        return size;
    }

    /** Index of the oldest entry; only when not empty. */
    public long firstIndex() {
        return ring[head].index();
    }

    public long lastIndex() {
        return ring[(head + size - 1) & (ring.length - 1)].index();
    }

    public void add(LogEntry entry) {
        Invariants.check(size == 0 || entry.index() == lastIndex() + 1, "entry buffer gap at %d", entry.index());
        if (size == ring.length) {
            grow();
        }
        ring[(head + size) & (ring.length - 1)] = entry;
        size++;
    }

    public LogEntry get(long index) {
        long offset = index - firstIndex();
        Invariants.check(offset >= 0 && offset < size, "entry %d not buffered", index);
        return ring[(int) ((head + offset) & (ring.length - 1))];
    }

    /** Drops every entry up to and including {@code index}. */
    public void dropThrough(long index) {
        while (size > 0 && ring[head].index() <= index) {
            ring[head] = null;
            head = (head + 1) & (ring.length - 1);
            size--;
        }
    }

    public void clear() {
        dropThrough(Long.MAX_VALUE);
        head = 0;
    }

    private void grow() {
        LogEntry[] bigger = new LogEntry[ring.length * 2];
        for (int i = 0; i < size; i++) {
            bigger[i] = ring[(head + i) & (ring.length - 1)];
        }
        ring = bigger;
        head = 0;
    }
}
