package io.pairstep.core.lockstep;

import io.pairstep.core.GroupId;
import io.pairstep.core.replica.LogEntry;
import java.util.List;

/**
 * Messages between the members of one lockstep group. Every message carries its sender's epoch; a
 * member ignores messages of any other epoch than its own, which fences a stale orderer.
 */
public sealed interface LockstepMessage {

    GroupId group();

    long epoch();

    /**
     * Orderer to member: the entries after {@code previousIndex}, in order. With no entries it is a
     * heartbeat.
     *
     * @param previousEpoch the epoch of the entry at {@code previousIndex}, or 0 when unknown, so that
     *     a member whose log took another turn under an earlier orderer sees it and asks to be rebuilt
     * @param lastIndex the orderer's last entry: a member holding more holds entries the orderer never had
     * @param agreedIndex every entry up to here was released, and this member's votes matched it
     * @param votesThrough the orderer holds this member's votes up to here; it wants the ones after
     * @param checkIndex when not 0, the orderer is idle at this index and asks for a state digest
     * @param selfCheckFailures the indexes, among {@code entries}, of the entries on which the orderer's
     *     own self-check failed, in ascending order (usually none): the orderer did not run those
     *     commands to the end, so a member whose service crashes on one of them crashed on the command
     *     itself, which is then poison, and not on a fault of its own
     */
    record Append(GroupId group, long epoch, long previousIndex, long previousEpoch, List<LogEntry> entries,
            long lastIndex, long agreedIndex, long votesThrough, long checkIndex, List<Long> selfCheckFailures) implements LockstepMessage {

        public Append {
            selfCheckFailures = List.copyOf(selfCheckFailures);
        }
    }

    /**
     * Member to orderer: what it holds and what it produced.
     *
     * @param durableIndex every entry up to here is durable on the member
     * @param nextIndex the next entry the member expects
     * @param gap true when entries were lost on the way and the orderer must send again from
     *     {@code nextIndex}
     * @param rebuild true when the member's log took another turn than the orderer's and it needs a
     *     snapshot
     * @param agreedIndex the highest entry an orderer told this member it agreed on
     * @param voteFloor the member got the entries up to here in a snapshot and has no vote for them
     * @param votes votes for durable entries after the {@code votesThrough} the orderer asked for
     * @param checkIndex the index of {@code checkDigest}, or 0
     * @param checkDigest the member's state digest at {@code checkIndex}
     */
    record Votes(GroupId group, long epoch, long durableIndex, long nextIndex, boolean gap, boolean rebuild,
            long agreedIndex, long voteFloor, List<Vote> votes, long checkIndex, long checkDigest) implements LockstepMessage {}

    /** Orderer to a member being rebuilt: the whole state as of {@code index}. */
    record InstallSnapshot(GroupId group, long epoch, long index, byte[] state) implements LockstepMessage {}

    /**
     * Orderer to a member it found divergent, so that the member hands its state to the runtime for
     * a dump before the controller removes it. Best effort: a lost notice only loses the reason.
     */
    record Diverged(GroupId group, long epoch, long index, String evidence) implements LockstepMessage {}
}
