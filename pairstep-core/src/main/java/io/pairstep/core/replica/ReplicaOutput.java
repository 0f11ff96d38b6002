package io.pairstep.core.replica;

import io.pairstep.core.control.ControlCommand;

/**
 * Where a {@link ReplicaCore} puts what it decided in one step. The runtime implements it with
 * queues that it drains after the step; the simulator with its simulated disk and network.
 *
 * <p>Durability order: the core asks to persist an entry before it counts that entry as
 * acknowledged, and releases a reply only once the entry is durable where the protocol needs it.
 * The runtime must persist the entries of one replica in the order given, and report completion
 * with {@link ReplicaCore#persisted} (or {@link ReplicaCore#snapshotInstalled} for a snapshot).
 */
public interface ReplicaOutput {

    /** Append this entry to the replica's durable log. Entries arrive in index order. */
    void persist(LogEntry entry);

    /** Replace the replica's durable log and snapshot with this state as of {@code index}. */
    void installSnapshot(long index, byte[] state);

    /** Keep this state as a snapshot of the log up to {@code index}, so older log segments can go. */
    void saveSnapshot(long index, byte[] state);

    /** Send a message to the replica of the same group on another node. */
    void send(String node, PeerMessage message);

    /** Release a reply to the client request that the runtime knows by {@code requestId}. */
    void reply(long requestId, Reply reply);

    /** Propose a change to the controller. */
    void control(ControlCommand command);

    /**
     * Report that this replica lost touch with a node of its group: its connection to the node
     * closed ({@code connectionClosed}), or the node went silent.
     */
    void suspect(String node, boolean connectionClosed, String reason);
}
