package io.pairstep.core.replica;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The last reply of every client session: replicated state that makes retries exactly-once. The
 * table is bounded; the session whose last command is oldest is evicted first. Its order changes
 * only when a command is applied, so it is the same on every replica.
 */
public final class SessionTable {

    /** The last command of one session and its reply. */
    public record Entry(long sequence, long index, Reply reply) {}

    private final int capacity;
    private final LinkedHashMap<Long, Entry> entries;

    public SessionTable(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("session capacity must be >= 1, was " + capacity);
        }
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(Math.min(capacity, 1024) * 2);
    }

    public Entry get(long session) {
        return entries.get(session);
    }

    /** Records the reply of an applied command and makes its session the newest. */
    public void record(long session, long sequence, long index, Reply reply) {
        entries.remove(session);
        entries.put(session, new Entry(sequence, index, reply));
        if (entries.size() > capacity) {
            Iterator<Long> oldest = entries.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
    }

    public int size() {
        return entries.size();
    }

    public int capacity() {
        return capacity;
    }

    /** The sessions from oldest to newest, for snapshots. */
    public Iterable<Map.Entry<Long, Entry>> oldestFirst() {
        return entries.entrySet();
    }

    public void clear() {
        entries.clear();
    }
}
