package io.pairstep.core.replica;

import io.pairstep.core.GroupId;
import java.util.List;

/**
 * Messages between the replicas of one group. Every message carries its sender's epoch; a replica
 * ignores messages of any other epoch than its own, which fences a stale primary.
 */
public sealed interface PeerMessage {

    GroupId group();

    long epoch();

    /**
     * Primary to backup: the entries after {@code previousIndex}, in order. With no entries it is a
     * heartbeat.
     */
    record Append(GroupId group, long epoch, long previousIndex, List<LogEntry> entries, long commitIndex) implements PeerMessage {}

    /**
     * Backup to primary.
     *
     * @param durableIndex every entry up to here is durable on the backup
     * @param nextIndex the next entry the backup expects
     * @param gap true when the backup received entries that do not follow its log: some were lost
     *     on the way and the primary must send again from {@code nextIndex}
     */
    record AppendAck(GroupId group, long epoch, long durableIndex, long nextIndex, boolean gap) implements PeerMessage {}

    /** Primary to a syncing backup: the whole state as of {@code index}. */
    record InstallSnapshot(GroupId group, long epoch, long index, byte[] state) implements PeerMessage {}
}
