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
import io.pairstep.runtime.storage.GroupCommitWriter;
import io.pairstep.runtime.storage.ReplicaLog;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosts one replica on its own thread: the single writer of its {@link ReplicaCore}. Other threads
 * hand it inputs through a queue; it drains the queue, ticks the core, flushes what the core
 * decided, and sleeps until more arrives. Entries to persist are gathered over one drain and go to
 * the node's group-commit writer as one submission.
 */
final class ReplicaAgent extends AgentThread implements GroupAgent, ReplicaOutput {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaAgent.class);

    /** What the agent needs from its node. */
    interface Host {
        void sendPeer(String node, PeerMessage message);

        void reply(long requestId, Reply reply);

        void propose(ControlCommand command);

        void suspect(String node, boolean connectionClosed, String reason);
    }

    private final ReplicaCore core;
    private final Host host;
    /** The role and state of the last configuration given, for the log; touched only by the node's reconciler. */
    private String configured = "";

    ReplicaAgent(GroupId group, ReplicaCore.Settings settings, io.pairstep.core.control.ReplicaAssignment identity,
            io.pairstep.api.Service service, ReplicaLog log, GroupCommitWriter writer, Host host) {
        super(group, log, writer, "pairstep-replica-");
        this.host = host;
        this.core = new ReplicaCore(group, identity, service, settings, this);
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

    // ---------------------------------------------------------------------------------------------
    // Inputs, from any thread

    @Override
    public void configure(GroupConfig config) {
        io.pairstep.core.control.ReplicaAssignment me = config.replicaOn(core.identity().node());
        String now = me == null || !core.identity().sameInstance(me) ? "removed" : me.role().name().toLowerCase(java.util.Locale.ROOT)
                + " " + me.state().name().toLowerCase(java.util.Locale.ROOT);
        metrics().configured(me == null || !core.identity().sameInstance(me) ? null : me);
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

    // ---------------------------------------------------------------------------------------------
    // The core on its thread

    @Override
    void tickCore(long nowNanos) {
        core.tick(nowNanos);
    }

    @Override
    void flushCore(long nowNanos) {
        core.flush(nowNanos);
    }

    @Override
    long coreLastIndex() {
        return core.lastIndex();
    }

    @Override
    long coreCommitIndex() {
        return core.commitIndex();
    }

    @Override
    void persistedUpTo(long index) {
        core.persisted(index);
    }

    @Override
    void snapshotInstalledAt(long index) {
        core.snapshotInstalled(index);
    }

    @Override
    void failed(Throwable error) {
        // A broken invariant or a failing service: this replica stops and its partner takes over.
        LOG.error("replica {} stopped: {}", group, error.toString(), error);
        host.suspect("", false, "replica " + group + " failed: " + error);
    }

    // ---------------------------------------------------------------------------------------------
    // Outputs, on the agent thread (persist and the snapshots are the base's)

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
