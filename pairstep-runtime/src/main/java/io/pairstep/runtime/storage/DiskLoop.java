package io.pairstep.runtime.storage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * The body of the {@link GroupCommitWriter}'s disk thread. Every field is confined to that thread.
 *
 * <p>It takes everything queued at once, appends each submission to its log, and then finishes the
 * group: syncs the logs the group touched as the policy asks and only then reports the submissions,
 * in queue order. Resets and snapshots finish the group in front of them before they run, so that
 * everything submitted earlier is durable and reported first.
 *
 * <p>With a {@link NodeJournal}, every record also goes to the journal, and a group is made durable
 * by forcing the journal once instead of each log it touched; the logs themselves are forced at
 * checkpoints, when the journal's active segment is full. Should the journal fail, the loop reports
 * it and goes back to forcing each log, which also forces every record the journal held for it.
 */
final class DiskLoop implements Runnable {

    private final BlockingQueue<DiskTask> queue;
    private final FsyncPolicy policy;
    private final long intervalNanos;
    private final Consumer<Throwable> onError;

    // Reused from batch to batch so that steady-state operation allocates nothing here.
    private final List<DiskTask> batch = new ArrayList<>();
    private final List<DiskTask.Append> written = new ArrayList<>();
    private final List<ReplicaLog> touched = new ArrayList<>();
    /** Logs written since the last interval sync; only used by {@link FsyncPolicy#INTERVAL}. */
    private final List<ReplicaLog> unsynced = new ArrayList<>();
    /** Logs whose work is dropped after a failure. Weak, so that a replaced log can be collected. */
    private final Set<ReplicaLog> failed = Collections.newSetFromMap(new WeakHashMap<>());
    private long lastSyncNanos = System.nanoTime();
    /** The node journal, or null when there is none or it failed. */
    private NodeJournal journal;
    /** Logs with records appended since the journal's active segment began, which a checkpoint must force. */
    private final List<ReplicaLog> sinceCheckpoint = new ArrayList<>();
    /** Set when a failed log holds records only the journal has: the journal is then kept until a restart. */
    private boolean checkpointsStopped;

    DiskLoop(BlockingQueue<DiskTask> queue, FsyncPolicy policy, long intervalMs, NodeJournal journal, Consumer<Throwable> onError) {
        this.queue = queue;
        this.journal = journal;
        this.policy = policy;
        this.intervalNanos = TimeUnit.MILLISECONDS.toNanos(intervalMs);
        this.onError = onError;
    }

    @Override
    public void run() {
        boolean running = true;
        while (running) {
            try {
                DiskTask first = nextTask();
                if (first == null) {
                    syncUnsynced();
                    continue;
                }
                batch.add(first);
                queue.drainTo(batch);
                running = process();
            } catch (InterruptedException e) {
                report(new IllegalStateException("the " + GroupCommitWriter.THREAD_NAME
                        + " thread was interrupted; the disk work still queued is dropped", e));
                running = false;
            } catch (Throwable unexpected) {
                // A bug here must not silently end the thread that every replica of the node depends on.
                report(unexpected);
                written.clear();
                touched.clear();
            } finally {
                batch.clear();
            }
        }
    }

    /** Waits for work, or returns null when an interval sync falls due first. */
    private DiskTask nextTask() throws InterruptedException {
        if (policy != FsyncPolicy.INTERVAL || unsynced.isEmpty()) {
            return queue.take();
        }
        long waitNanos = lastSyncNanos + intervalNanos - System.nanoTime();
        return waitNanos <= 0 ? null : queue.poll(waitNanos, TimeUnit.NANOSECONDS);
    }

    /** Runs one batch; returns false once the stop task is reached. */
    private boolean process() {
        for (int i = 0; i < batch.size(); i++) {
            switch (batch.get(i)) {
                case DiskTask.Append append -> write(append);
                case DiskTask.Reset reset -> {
                    finishGroup();
                    reset(reset);
                }
                case DiskTask.SaveSnapshot save -> {
                    finishGroup();
                    saveSnapshot(save);
                }
                case DiskTask.Barrier barrier -> {
                    finishGroup();
                    barrier.done().complete(null);
                }
                case DiskTask.Stop stop -> {
                    finishGroup();
                    // A clean shutdown leaves nothing unforced, even under the interval policy.
                    syncUnsynced();
                    closeJournal();
                    return false;
                }
            }
        }
        finishGroup();
        return true;
    }

    private void write(DiskTask.Append append) {
        ReplicaLog log = append.log();
        if (failed.contains(log)) {
            return;
        }
        List<Entry> entries = append.entries();
        try {
            for (int i = 0; i < entries.size(); i++) {
                Entry entry = entries.get(i);
                log.append(entry.index(), entry.bytes());
            }
        } catch (IOException | RuntimeException e) {
            fail(log, "appending records " + entries.get(0).index() + " to " + append.lastIndex(), e);
            return;
        }
        if (journal != null) {
            try {
                for (int i = 0; i < entries.size(); i++) {
                    Entry entry = entries.get(i);
                    journal.append(log.journalId(), entry.index(), entry.bytes());
                }
            } catch (IOException | RuntimeException e) {
                journalFailed("appending", e);
            }
        }
        addOnce(touched, log);
        written.add(append);
    }

    /** Makes the current group as durable as the policy asks, then reports its submissions in order. */
    private void finishGroup() {
        if (policy == FsyncPolicy.ALWAYS) {
            syncAll(touched);
        } else if (policy == FsyncPolicy.INTERVAL) {
            for (int i = 0; i < touched.size(); i++) {
                addOnce(unsynced, touched.get(i));
            }
        }
        touched.clear();
        for (int i = 0; i < written.size(); i++) {
            DiskTask.Append append = written.get(i);
            // A failed log may have lost what it was given, so nothing of it is ever reported durable.
            if (!failed.contains(append.log())) {
                invoke(append.onDurable(), append.lastIndex());
            }
        }
        written.clear();
        if (policy == FsyncPolicy.INTERVAL && System.nanoTime() - lastSyncNanos >= intervalNanos) {
            syncUnsynced();
        }
        checkpointIfDue();
    }

    private void syncUnsynced() {
        syncAll(unsynced);
        unsynced.clear();
        lastSyncNanos = System.nanoTime();
    }

    /** Makes everything appended to these logs durable: one journal force, or one force per log. */
    private void syncAll(List<ReplicaLog> logs) {
        if (logs.isEmpty()) {
            return;
        }
        if (journal != null) {
            try {
                journal.sync();
                for (int i = 0; i < logs.size(); i++) {
                    ReplicaLog log = logs.get(i);
                    if (log.isOpen() && !failed.contains(log)) {
                        log.markDurableInJournal();
                        addOnce(sinceCheckpoint, log);
                    }
                }
                return;
            } catch (IOException | RuntimeException e) {
                journalFailed("syncing", e);
            }
        }
        for (int i = 0; i < logs.size(); i++) {
            ReplicaLog log = logs.get(i);
            // A log closed by its owner was synced by its close.
            if (log.isOpen()) {
                sync(log);
            }
        }
    }

    /**
     * Forces every log the journal's active segment covers and starts a new segment, once the
     * active one is full. A failed log may hold reported records only in the journal, so then the
     * journal is kept whole until the node restarts and recovers it.
     */
    private void checkpointIfDue() {
        if (journal == null || checkpointsStopped || !journal.checkpointDue()) {
            return;
        }
        // Under the interval policy, logs written since the last sync have records in the segment too.
        syncUnsynced();
        if (journal == null) {
            return; // the journal failed while syncing; every log was forced instead
        }
        for (int i = 0; i < sinceCheckpoint.size(); i++) {
            ReplicaLog log = sinceCheckpoint.get(i);
            if (log.isOpen() && log.hasUnforcedRecords()) {
                sync(log);
            }
            // A log its owner closed was forced by the close, unless that failed.
            if (failed.contains(log) || !log.isOpen() && !log.isForced()) {
                checkpointsStopped = true;
                report(new IllegalStateException("the node journal is kept until the node restarts, because "
                        + log + " failed while it held records only the journal has"));
                return;
            }
        }
        try {
            journal.checkpoint();
            sinceCheckpoint.clear();
        } catch (IOException | RuntimeException e) {
            journalFailed("starting a new segment of", e);
        }
    }

    /**
     * The journal can no longer be trusted to hold what is written to it: report it and force each
     * log from now on. Forcing a log also forces the records the journal held for it, so nothing
     * reported earlier depends on the journal after the next sync of every log it covers.
     */
    private void journalFailed(String operation, Exception cause) {
        NodeJournal broken = journal;
        journal = null;
        report(new IOException("the node journal failed while " + operation + " it; every replica log is forced "
                + "on its own from now on", cause));
        for (int i = 0; i < sinceCheckpoint.size(); i++) {
            ReplicaLog log = sinceCheckpoint.get(i);
            if (log.isOpen()) {
                sync(log);
            }
        }
        sinceCheckpoint.clear();
        try {
            broken.close();
        } catch (IOException | RuntimeException closing) {
            // Already reported as failed; the files stay for recovery at the next start.
        }
    }

    private void closeJournal() {
        if (journal == null) {
            return;
        }
        try {
            journal.close();
        } catch (IOException | RuntimeException e) {
            report(e);
        }
    }

    private void sync(ReplicaLog log) {
        if (failed.contains(log)) {
            return;
        }
        try {
            log.sync();
        } catch (IOException | RuntimeException e) {
            fail(log, "syncing", e);
        }
    }

    private void reset(DiskTask.Reset reset) {
        ReplicaLog log = reset.log();
        if (failed.contains(log)) {
            return;
        }
        try {
            log.reset(reset.snapshotIndex(), reset.data());
        } catch (IOException | RuntimeException e) {
            fail(log, "resetting to the snapshot at index " + reset.snapshotIndex(), e);
            return;
        }
        invoke(reset.onDone(), reset.snapshotIndex());
    }

    private void saveSnapshot(DiskTask.SaveSnapshot save) {
        ReplicaLog log = save.log();
        if (failed.contains(log)) {
            return;
        }
        try {
            log.saveSnapshot(save.index(), save.data());
        } catch (IOException | RuntimeException e) {
            fail(log, "saving the snapshot at index " + save.index(), e);
            return;
        }
        if (save.onDone() != null) {
            invoke(save.onDone(), save.index());
        }
    }

    private void fail(ReplicaLog log, String operation, Exception cause) {
        failed.add(log);
        report(new ReplicaLogFailedException(log, operation, cause));
    }

    private void invoke(LongConsumer callback, long index) {
        try {
            callback.accept(index);
        } catch (Throwable t) {
            // A faulty callback belongs to its replica; the disk thread carries on for the others.
            report(t);
        }
    }

    private void report(Throwable problem) {
        try {
            onError.accept(problem);
        } catch (Throwable handlerFailure) {
            // The handler itself failed; the thread's uncaught exception handler is the last resort.
            handlerFailure.addSuppressed(problem);
            Thread current = Thread.currentThread();
            current.getUncaughtExceptionHandler().uncaughtException(current, handlerFailure);
        }
    }

    private static void addOnce(List<ReplicaLog> logs, ReplicaLog log) {
        for (int i = 0; i < logs.size(); i++) {
            if (logs.get(i) == log) {
                return;
            }
        }
        logs.add(log);
    }
}
