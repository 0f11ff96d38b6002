package io.pairstep.runtime;

import io.pairstep.core.GroupId;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.ReplicaCore;
import io.pairstep.core.replica.ReplicaOutput;
import io.pairstep.core.replica.Reply;
import io.pairstep.runtime.storage.Entry;
import io.pairstep.runtime.storage.GroupCommitWriter;
import io.pairstep.runtime.storage.ReplicaLog;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosts one replica on its own thread: the single writer of its {@link ReplicaCore}. Other threads
 * hand it inputs through a queue; it drains the queue, ticks the core, flushes what the core
 * decided, and sleeps until more arrives. Entries to persist are gathered over one drain and go to
 * the node's group-commit writer as one submission.
 */
final class ReplicaAgent implements GroupAgent, ReplicaOutput, Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaAgent.class);
    private static final long TICK_INTERVAL_NANOS = 5_000_000L;
    private static final int DRAIN_MAX = 4096;

    /** What the agent needs from its node. */
    interface Host {
        void sendPeer(String node, PeerMessage message);

        void reply(long requestId, Reply reply);

        void propose(ControlCommand command);

        void suspect(String node, boolean connectionClosed, String reason);
    }

    private final GroupId group;
    private final ReplicaCore core;
    private final ReplicaLog log;
    private final GroupCommitWriter writer;
    private final Host host;
    private final ConcurrentLinkedQueue<Runnable> inbox = new ConcurrentLinkedQueue<>();
    private final Thread thread;
    private volatile boolean sleeping;
    private volatile boolean running = true;
    private List<Entry> pendingPersist = new ArrayList<>();
    private long nextTickNanos;
    /** The role and state of the last configuration given, for the log; touched only by the node's reconciler. */
    private String configured = "";

    ReplicaAgent(GroupId group, ReplicaCore.Settings settings, io.pairstep.core.control.ReplicaAssignment identity,
            io.pairstep.api.Service service, ReplicaLog log, GroupCommitWriter writer, Host host) {
        this.group = group;
        this.log = log;
        this.writer = writer;
        this.host = host;
        this.core = new ReplicaCore(group, identity, service, settings, this);
        this.thread = new Thread(this, "pairstep-replica-" + group.service() + "-" + group.partition());
        this.thread.setDaemon(true);
    }

    ReplicaCore core() {
        return core;
    }

    @Override
    public io.pairstep.core.control.ReplicaAssignment identity() {
        return core.identity();
    }

    /** Recovers from the durable log before the first configuration; runs on the caller's thread. */
    @Override
    public long recover(byte[] snapshot, List<LogEntry> tail) {
        core.recover(snapshot, tail);
        return core.lastIndex();
    }

    @Override
    public void start() {
        thread.start();
    }

    @Override
    public void stop() {
        running = false;
        LockSupport.unpark(thread);
    }

    void join() throws InterruptedException {
        thread.join(5000);
    }

    // ---------------------------------------------------------------------------------------------
    // Inputs, from any thread

    @Override
    public void configure(GroupConfig config) {
        io.pairstep.core.control.ReplicaAssignment me = config.replicaOn(core.identity().node());
        String now = me == null || !core.identity().sameInstance(me) ? "removed" : me.role().name().toLowerCase(java.util.Locale.ROOT)
                + " " + me.state().name().toLowerCase(java.util.Locale.ROOT);
        if (!now.equals(configured)) {
            LOG.info("{}: {} in epoch {}{}", group, now, config.epoch(), configured.isEmpty() ? "" : " (was " + configured + ")");
            configured = now;
        }
        enqueue(() -> core.configure(config, System.nanoTime()));
    }

    @Override
    public void clientCommand(ClientCommand command) {
        enqueue(() -> core.onClientCommand(command, System.currentTimeMillis()));
    }

    void peerMessage(String from, PeerMessage message) {
        enqueue(() -> core.onMessage(from, message, System.nanoTime()));
    }

    @Override
    public void connectionLost(String node) {
        enqueue(() -> core.connectionLost(node, System.nanoTime()));
    }

    private void enqueue(Runnable input) {
        inbox.add(input);
        if (sleeping) {
            LockSupport.unpark(thread);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The agent loop

    @Override
    public void run() {
        try {
            while (running) {
                int work = 0;
                Runnable input;
                while (work < DRAIN_MAX && (input = inbox.poll()) != null) {
                    input.run();
                    work++;
                }
                long now = System.nanoTime();
                if (now >= nextTickNanos) {
                    core.tick(now);
                    nextTickNanos = now + TICK_INTERVAL_NANOS;
                }
                core.flush(now);
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
            // A broken invariant or a failing service: this replica stops and its partner takes over.
            LOG.error("replica {} stopped: {}", group, e.toString(), e);
            host.suspect("", false, "replica " + group + " failed: " + e);
        }
    }

    private void submitPersist() {
        if (pendingPersist.isEmpty()) {
            return;
        }
        List<Entry> batch = pendingPersist;
        pendingPersist = new ArrayList<>();
        writer.submit(log, batch, index -> enqueue(() -> core.persisted(index)));
    }

    // ---------------------------------------------------------------------------------------------
    // Outputs, on the agent thread

    @Override
    public void persist(LogEntry entry) {
        pendingPersist.add(new Entry(entry.index(), LogEntryCodec.encode(entry)));
    }

    @Override
    public void installSnapshot(long index, byte[] state) {
        submitPersist();
        writer.submitReset(log, index, state, done -> enqueue(() -> core.snapshotInstalled(done)));
    }

    @Override
    public void saveSnapshot(long index, byte[] state) {
        submitPersist();
        writer.submitSnapshot(log, index, state);
    }

    @Override
    public void send(String node, PeerMessage message) {
        host.sendPeer(node, message);
    }

    @Override
    public void reply(long requestId, Reply reply) {
        host.reply(requestId, reply);
    }

    @Override
    public void control(ControlCommand command) {
        host.propose(command);
    }

    @Override
    public void suspect(String node, boolean connectionClosed, String reason) {
        host.suspect(node, connectionClosed, reason);
    }
}
