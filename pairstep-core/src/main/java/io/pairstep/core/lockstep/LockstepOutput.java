package io.pairstep.core.lockstep;

import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.Reply;
import java.util.List;

/**
 * Where a {@link LockstepCore} puts what it decided in one step. The same durability contract as
 * {@link io.pairstep.core.replica.ReplicaOutput}: entries of one member are persisted in the order
 * given and completions come back through {@link LockstepCore#persisted} and {@link
 * LockstepCore#snapshotInstalled}.
 */
public interface LockstepOutput {

    /** Append this entry to the member's durable log. Entries arrive in index order. */
    void persist(LogEntry entry);

    /** Replace the member's durable log and snapshot with this state as of {@code index}. */
    void installSnapshot(long index, byte[] state);

    /** Keep this state as a snapshot of the log up to {@code index}, so older log segments can go. */
    void saveSnapshot(long index, byte[] state);

    /** Send a message to the member of the same group on another node. */
    void send(String node, LockstepMessage message);

    /** Release a reply to the client request that the runtime knows by {@code requestId}. */
    void reply(long requestId, Reply reply);

    /** Propose a change to the controller. */
    void control(ControlCommand command);

    /** Report that this member lost touch with a node of its group. */
    void suspect(String node, boolean connectionClosed, String reason);

    /**
     * This member is leaving its group and its state may be wrong: keep it for diagnosis before it
     * is discarded.
     *
     * @param reason why, such as the evidence of a divergence
     * @param index the last entry the state reflects
     * @param state the member's whole state, as {@link io.pairstep.core.replica.StateCodec} encodes it
     * @param lastEntries the member's most recent entries, oldest first
     */
    void dump(String reason, long index, byte[] state, List<LogEntry> lastEntries);
}
