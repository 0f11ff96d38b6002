package io.pairstep.runtime;

import io.pairstep.core.GroupId;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.runtime.storage.Entry;
import io.pairstep.runtime.storage.GroupCommitWriter;
import io.pairstep.runtime.storage.ReplicaLog;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every hosted group member shares, whatever its protocol: one thread, the single writer of
 * its protocol core. Other threads hand it inputs through a queue; it drains the queue, ticks the
 * core, flushes what the core decided, and sleeps until more arrives. Entries to persist are
 * gathered over one drain and go to the node's group-commit writer as one submission.
 * {@link ReplicaAgent} binds it to a pair replica, {@link LockstepAgent} to a lockstep member.
 */
abstract class AgentThread implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(AgentThread.class);

    private static final long TICK_INTERVAL_NANOS = 5_000_000L;
    private static final int DRAIN_MAX = 4096;

    protected final GroupId group;
    private final ReplicaLog log;
    private final GroupCommitWriter writer;
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    /** What the partition monitors read about this member. */
    private final PartitionMetrics metrics;
    private volatile boolean sleeping;
    private volatile boolean running = true;
    /** Set by the watchdog once this thread is stuck in a command: it must never act again. */
    private volatile boolean abandoned;
    private List<Entry> pendingPersist = new ArrayList<>();
    private long nextTickNanos;

    AgentThread(GroupId group, ReplicaLog log, GroupCommitWriter writer, String threadPrefix) {
        this.group = group;
        this.log = log;
        this.writer = writer;
        this.thread = new Thread(this, threadPrefix + group.service() + "-" + group.partition());
        this.thread.setDaemon(true);
        this.metrics = new PartitionMetrics(group);
    }

    // ---------------------------------------------------------------------------------------------
    // The core, as seen from its thread

    abstract void tickCore(long nowNanos);

    abstract void flushCore(long nowNanos);

    /** The log is durable up to {@code index}. */
    abstract void persistedUpTo(long index);

    /** A snapshot install finished, at {@code index}. */
    abstract void snapshotInstalledAt(long index);

    /** The loop stopped on a broken invariant or a failing service. */
    abstract void failed(Throwable error);

    /** The core's last log index, for the partition monitors. */
    abstract long coreLastIndex();

    /** The core's commit index, for the partition monitors. */
    abstract long coreCommitIndex();

    /** Runs on the agent thread once the loop ended, however it ended. */
    void afterLoop() {}

    // ---------------------------------------------------------------------------------------------
    // Life cycle and inputs, from any thread

    public void start() {
        thread.start();
    }

    public void stop() {
        running = false;
        LockSupport.unpark(thread);
    }

    public void stopAfterQueuedInputs() {
        enqueue(() -> running = false);
    }

    public boolean hasStopped() {
        return abandoned || !thread.isAlive();
    }

    void join() throws InterruptedException {
        if (!abandoned) {
            thread.join(5000);
        }
    }

    /**
     * The watchdog gave up this thread, stuck in a command: should the command ever end, the thread
     * stops without acting on anything more (nothing persisted, sent or answered); see {@link #gone}.
     */
    final void abandon() {
        abandoned = true;
        running = false;
    }

    /** True once abandoned: every output of the core is dropped. */
    final boolean gone() {
        return abandoned;
    }

    /**
     * The watchdog gave up this member's thread, stuck in a command (see {@link GuardedService}): on
     * that thread's behalf, report the crash that {@code hung} describes (with the command as poison
     * where it is one), answer the requests it holds so that their clients ask the member that takes
     * over, and dump its last entries. The state cannot be taken: the service is in the middle of
     * changing it. Runs on the watchdog's thread; returns the dump file, or null.
     */
    final Path actForStuckThread(io.pairstep.core.ServiceHung hung, ReplicaAgent.Host host, Path dumps, String node) {
        abandon();
        if (hung == null) {
            LOG.error("{}: its thread is stuck in a command past the watchdog limit, after it left its group", group);
            return null;
        }
        LOG.error("{}: crashed: {}", group, hung.report().reason());
        host.propose(hung.report());
        for (long requestId : hung.requestIds()) {
            host.reply(requestId, hung.reply());
        }
        String why = "crashed: " + hung.report().reason() + "; the state is not in this dump: the service was in the middle of a command";
        try {
            Path file = LockstepAgent.writeDump(dumps, group, node, hung.epoch(), why, hung.lastIndex(), new byte[0], hung.lastEntries());
            LOG.warn("{}: dump at index {} written to {}", group, hung.lastIndex(), file);
            return file;
        } catch (java.io.IOException | RuntimeException e) {
            LOG.error("{}: cannot write the dump of the stuck thread's member: {}", group, e.toString());
            return null;
        }
    }

    public void awaitStopped() throws InterruptedException {
        join();
    }

    public final PartitionMetrics metrics() {
        return metrics;
    }

    final void enqueue(Runnable input) {
        inbox.add(input);
        if (sleeping) {
            LockSupport.unpark(thread);
        }
    }

    /** Runs {@code task} on the agent thread, between two inputs; what it throws fails the future, not the agent. */
    final <T> java.util.concurrent.CompletableFuture<T> onAgentThread(java.util.function.Supplier<T> task) {
        java.util.concurrent.CompletableFuture<T> done = new java.util.concurrent.CompletableFuture<>();
        enqueue(() -> {
            try {
                done.complete(task.get());
            } catch (RuntimeException | Error e) {
                done.completeExceptionally(e);
            }
        });
        return done;
    }

    /** The next input left in the queue, or null; for {@link #afterLoop}. */
    final Runnable pollLeftover() {
        return inbox.poll();
    }

    @Override
    public void run() {
        try {
            while (running) {
                int work = 0;
                Runnable input;
                while (work < DRAIN_MAX && (input = inbox.poll()) != null) {
                    input.run();
                    work++;
                    if (abandoned) {
                        return;
                    }
                }
                long now = System.nanoTime();
                if (now >= nextTickNanos) {
                    tickCore(now);
                    nextTickNanos = now + TICK_INTERVAL_NANOS;
                }
                flushCore(now);
                // Once per loop, not per command: a few volatile writes at most.
                metrics.progress(coreLastIndex(), coreCommitIndex(), now);
                submitPersist();
                if (work == 0) {
                    sleeping = true;
                    if (inbox.isEmpty() && running) {
                        LockSupport.parkNanos(TICK_INTERVAL_NANOS);
                    }
                    sleeping = false;
                }
            }
        } catch (RuntimeException | Error e) {
            if (abandoned) {
                return;
            }
            failed(e);
        }
        afterLoop();
    }

    // ---------------------------------------------------------------------------------------------
    // Storage outputs of the core, on the agent thread

    private void submitPersist() {
        if (pendingPersist.isEmpty() || abandoned) {
            return;
        }
        List<Entry> batch = pendingPersist;
        pendingPersist = new ArrayList<>();
        writer.submit(log, batch, index -> enqueue(() -> persistedUpTo(index)));
    }

    public void persist(LogEntry entry) {
        pendingPersist.add(new Entry(entry.index(), LogEntryCodec.encode(entry)));
    }

    public void installSnapshot(long index, byte[] state) {
        submitPersist();
        writer.submitReset(log, index, state, done -> enqueue(() -> {
            metrics.snapshotInstalled(done);
            snapshotInstalledAt(done);
        }));
    }

    public void saveSnapshot(long index, byte[] state) {
        submitPersist();
        writer.submitSnapshot(log, index, state);
    }
}
