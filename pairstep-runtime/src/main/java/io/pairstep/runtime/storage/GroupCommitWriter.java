package io.pairstep.runtime.storage;

import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * The single disk writer of a node: one daemon thread, named {@value #THREAD_NAME}, performs every
 * append, sync, snapshot and reset for all the node's {@link ReplicaLog}s, in the order submitted.
 *
 * <p>Submitting never blocks on disk, so replica threads stay responsive while the disk is slow.
 * The thread takes everything queued at once, appends it, syncs each log touched once, and then
 * reports every submission. Under {@link FsyncPolicy#ALWAYS} that means many submissions share one
 * force (group commit), and a submission is reported only once it is on stable storage.
 *
 * <p><b>Durability depends on the policy.</b> Under {@link FsyncPolicy#INTERVAL} and
 * {@link FsyncPolicy#NONE}, {@code onDurable} is invoked as soon as the records are written to the
 * operating system, <em>before</em> they are forced. Such a callback only promises that the records
 * survive a crash of this process, not of the machine: under {@code INTERVAL} up to one interval of
 * reported records can be lost to a power failure, under {@code NONE} anything not yet written back
 * by the operating system. Those policies trade that guarantee for throughput; choose them only
 * where the partner replica is what makes the data safe.
 *
 * <p>Callbacks run on the disk thread and must be quick: hand the result to the replica's own
 * thread instead of doing work there.
 *
 * <p>Failures never end the thread silently. When work for a log fails, a
 * {@link ReplicaLogFailedException} naming it goes to the error handler, the log's unfinished
 * submissions are not reported, and later work for that log is dropped; other logs are unaffected.
 * An exception thrown by a callback goes to the handler too.
 *
 * <p>Close the writer before closing the logs it writes to.
 */
public final class GroupCommitWriter implements AutoCloseable {

    /** The name of the disk thread. */
    public static final String THREAD_NAME = "pairstep-disk";

    private final BlockingQueue<DiskTask> queue = new LinkedBlockingQueue<>();
    /** Makes the closed check and the enqueue one step, so that nothing is queued behind the stop task. */
    private final Object submitLock = new Object();
    private final Thread thread;
    private boolean closed;

    /**
     * Starts the disk thread.
     *
     * @param policy when to force logs
     * @param intervalMs the shortest time between forces under {@link FsyncPolicy#INTERVAL};
     *     ignored by the other policies
     * @param onError receives every failure on the disk thread; called on that thread
     */
    public GroupCommitWriter(FsyncPolicy policy, long intervalMs, Consumer<Throwable> onError) {
        this(policy, intervalMs, null, onError);
    }

    /**
     * Starts the disk thread with a {@link NodeJournal}: each group is then made durable with one
     * force of the journal rather than one per log it touched. The writer owns the journal from now
     * on and closes it when it stops.
     *
     * @param journal the node's journal, or null to force each log on its own; ignored under
     *     {@link FsyncPolicy#NONE}, which forces nothing
     */
    public GroupCommitWriter(FsyncPolicy policy, long intervalMs, NodeJournal journal, Consumer<Throwable> onError) {
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(onError, "onError");
        if (policy == FsyncPolicy.INTERVAL && intervalMs <= 0) {
            throw new IllegalArgumentException("the interval fsync policy needs a positive intervalMs, got " + intervalMs);
        }
        if (policy == FsyncPolicy.NONE && journal != null) {
            try {
                journal.close();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("closing the node journal, which the none policy does not use", e);
            }
        }
        DiskLoop loop = new DiskLoop(queue, policy, intervalMs, policy == FsyncPolicy.NONE ? null : journal, onError);
        thread = new Thread(loop, THREAD_NAME);
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Queues records for a log; callable from any thread, never blocks on disk.
     *
     * @param log the log to append to
     * @param entries records with consecutive indexes continuing the log; neither the list nor the
     *     arrays are copied, so the caller must not change them afterwards
     * @param onDurable invoked on the disk thread with the last entry's index once the records are
     *     durable as the policy defines it; submissions are reported in the order they were queued
     */
    public void submit(ReplicaLog log, List<Entry> entries, LongConsumer onDurable) {
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(entries, "entries");
        Objects.requireNonNull(onDurable, "onDurable");
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("a submission needs at least one entry");
        }
        enqueue(new DiskTask.Append(log, entries, onDurable));
    }

    /**
     * Queues a {@link ReplicaLog#reset}, ordered with the log's appends: earlier submissions are
     * finished and reported first, later ones continue after the snapshot.
     *
     * @param onDone invoked on the disk thread with {@code snapshotIndex} once the new state is durable
     */
    public void submitReset(ReplicaLog log, long snapshotIndex, byte[] data, LongConsumer onDone) {
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(onDone, "onDone");
        enqueue(new DiskTask.Reset(log, snapshotIndex, data, onDone));
    }

    /** Queues a {@link ReplicaLog#saveSnapshot}, ordered with the log's appends. */
    public void submitSnapshot(ReplicaLog log, long index, byte[] data) {
        submitSnapshot(log, index, data, null);
    }

    /**
     * Queues a {@link ReplicaLog#saveSnapshot}, ordered with the log's appends.
     *
     * @param onDone invoked on the disk thread with {@code index} once the snapshot is durable; may
     *     be null
     */
    public void submitSnapshot(ReplicaLog log, long index, byte[] data, LongConsumer onDone) {
        Objects.requireNonNull(log, "log");
        Objects.requireNonNull(data, "data");
        enqueue(new DiskTask.SaveSnapshot(log, index, data, onDone));
    }

    /**
     * Returns a future that completes once everything queued before this call is finished and
     * reported, so a caller can read a log that other threads were writing to.
     */
    public java.util.concurrent.CompletableFuture<Void> barrier() {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        enqueue(new DiskTask.Barrier(done));
        return done;
    }

    private void enqueue(DiskTask task) {
        synchronized (submitLock) {
            if (closed) {
                throw new IllegalStateException("the group commit writer is closed");
            }
            queue.add(task);
        }
    }

    /**
     * Finishes everything queued so far, syncs what the interval policy left unforced, and stops
     * the thread. Later submissions are refused. Waits for the thread unless called from it.
     */
    @Override
    public void close() {
        synchronized (submitLock) {
            if (!closed) {
                closed = true;
                queue.add(DiskTask.Stop.INSTANCE);
            }
        }
        if (Thread.currentThread() == thread) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                thread.join();
                break;
            } catch (InterruptedException e) {
                // Stopping half way would drop reported work, so the wait goes on and the interrupt is kept.
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
