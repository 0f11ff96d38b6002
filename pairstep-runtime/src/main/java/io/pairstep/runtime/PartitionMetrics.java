package io.pairstep.runtime;

import io.pairstep.core.GroupId;
import io.pairstep.core.control.ReplicaAssignment;
import java.util.Locale;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What the threads of one hosted replica record about it, for the partition monitors
 * ({@link PartitionMonitors}) to read once a second. The per-command cost is kept to counters and
 * one HdrHistogram {@link Recorder} (wait-free, no allocation); the progress of the log is
 * published once per loop of the agent thread, not per command.
 *
 * <p>Writers: the transport threads count received commands, the thread that answers records
 * latency, the agent thread publishes progress, and the node's reconciler publishes the role. The
 * monitor thread reads everything.
 */
final class PartitionMetrics {

    /** Latencies above an hour are clamped: the histogram's range is fixed so that recording never allocates. */
    private static final long LATENCY_MAX_MICROS = 3_600_000_000L;

    private final GroupId group;
    private final LongAdder received = new LongAdder();
    private final LongAdder answered = new LongAdder();
    private final Recorder latencyMicros = new Recorder(LATENCY_MAX_MICROS, 2);

    // Published by the agent thread, one writer each.
    private volatile long appliedEntries;
    private volatile long lastIndex;
    private volatile long commitIndex;
    private volatile long lastProgressNanos = System.nanoTime();
    /** The last index seen by the agent thread; a snapshot install moves it without counting entries. */
    private long seenIndex = -1;

    private volatile String role = "none";
    private volatile boolean syncing;

    PartitionMetrics(GroupId group) {
        this.group = group;
    }

    GroupId group() {
        return group;
    }

    // ---------------------------------------------------------------------------------------------
    // Writers

    /** A client command was handed to this replica; any thread. */
    void commandReceived() {
        received.increment();
    }

    /** A command received here was answered {@code latencyNanos} after it arrived; any thread. */
    void commandAnswered(long latencyNanos) {
        answered.increment();
        latencyMicros.recordValue(Math.clamp(latencyNanos / 1_000, 0, LATENCY_MAX_MICROS));
    }

    /** A command received here will never be answered by this replica (it was handed back); any thread. */
    void commandDropped() {
        answered.increment();
    }

    /**
     * Where the replica's log stands after one loop of its agent thread; agent thread only. Entries
     * counted as applied are those the last index moved by since the previous call.
     */
    void progress(long lastIndexNow, long commitIndexNow, long nowNanos) {
        if (seenIndex >= 0 && lastIndexNow > seenIndex) {
            appliedEntries += lastIndexNow - seenIndex;
        }
        if (lastIndexNow != seenIndex) {
            lastProgressNanos = nowNanos;
            seenIndex = lastIndexNow;
            lastIndex = lastIndexNow;
        }
        if (commitIndexNow != commitIndex) {
            commitIndex = commitIndexNow;
        }
    }

    /** A snapshot moved the log to {@code index}: those entries were installed, not applied; agent thread only. */
    void snapshotInstalled(long index) {
        seenIndex = index;
        lastIndex = index;
    }

    /** The controller placed this replica as {@code assignment}, or removed it when null; reconciler thread. */
    void configured(ReplicaAssignment assignment) {
        role = assignment == null ? "removed" : assignment.role().name().toLowerCase(Locale.ROOT);
        syncing = assignment != null && assignment.state() == io.pairstep.core.control.ReplicaState.SYNCING;
    }

    // ---------------------------------------------------------------------------------------------
    // Readers, on the monitor thread

    long appliedEntries() {
        return appliedEntries;
    }

    /** Commands received and not answered yet. */
    long queueDepth() {
        return Math.max(0, received.sum() - answered.sum());
    }

    /** Entries this replica holds beyond what its group committed. */
    long replicationLag() {
        return Math.max(0, lastIndex - commitIndex);
    }

    /** Nanoseconds since the log last moved, or 0 when nothing waits (an idle replica makes no progress and is fine). */
    long progressAgeNanos(long nowNanos) {
        return queueDepth() == 0 && replicationLag() == 0 ? 0 : Math.max(0, nowNanos - lastProgressNanos);
    }

    String role() {
        return role;
    }

    boolean syncing() {
        return syncing;
    }

    /** The latencies recorded since the previous call, in microseconds; {@code recycle} may be the previous result. */
    Histogram latencyIntervalMicros(Histogram recycle) {
        return latencyMicros.getIntervalHistogram(recycle);
    }
}
