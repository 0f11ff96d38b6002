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

    DiskLoop(BlockingQueue<DiskTask> queue, FsyncPolicy policy, long intervalMs, Consumer<Throwable> onError) {
        this.queue = queue;
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
        addOnce(touched, log);
        written.add(append);
    }

    /** Makes the current group as durable as the policy asks, then reports its submissions in order. */
    private void finishGroup() {
        if (policy == FsyncPolicy.ALWAYS) {
            for (int i = 0; i < touched.size(); i++) {
                sync(touched.get(i));
            }
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
    }

    private void syncUnsynced() {
        for (int i = 0; i < unsynced.size(); i++) {
            ReplicaLog log = unsynced.get(i);
            // A log closed by its owner was synced by its close.
            if (log.isOpen()) {
                sync(log);
            }
        }
        unsynced.clear();
        lastSyncNanos = System.nanoTime();
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
