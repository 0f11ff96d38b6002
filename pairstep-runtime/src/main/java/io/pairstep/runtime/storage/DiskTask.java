package io.pairstep.runtime.storage;

import java.util.List;
import java.util.function.LongConsumer;

/** One unit of work queued for the {@link GroupCommitWriter}'s disk thread. */
sealed interface DiskTask {

    /** Appends a submission's records; {@code onDurable} gets the last index once they are durable. */
    record Append(ReplicaLog log, List<Entry> entries, LongConsumer onDurable) implements DiskTask {

        long lastIndex() {
            return entries.get(entries.size() - 1).index();
        }
    }

    /** Replaces a log's whole state by a snapshot; {@code onDone} gets the snapshot index. */
    record Reset(ReplicaLog log, long snapshotIndex, byte[] data, LongConsumer onDone) implements DiskTask {}

    /** Saves a snapshot and compacts; {@code onDone}, if not null, gets the snapshot index. */
    record SaveSnapshot(ReplicaLog log, long index, byte[] data, LongConsumer onDone) implements DiskTask {}

    /** Completes its future once everything queued before it is finished and reported. */
    record Barrier(java.util.concurrent.CompletableFuture<Void> done) implements DiskTask {}

    /** Tells the disk thread to finish what is queued before it and stop. */
    enum Stop implements DiskTask {
        INSTANCE
    }
}
