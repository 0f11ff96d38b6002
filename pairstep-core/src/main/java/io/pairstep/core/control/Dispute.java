package io.pairstep.core.control;

import java.util.Objects;

/**
 * The two members of a DMR group disagree at {@code index} and no self-check shows which is wrong.
 * While a group has a dispute, the controller gives it a third member, a referee, rebuilt from a
 * state both members agreed on. The referee executes the entry again and votes; the member it
 * disagrees with is removed like an outvoted TMR member. The dispute ends when either party leaves
 * the group; a referee that agrees with neither leaves the orderer no majority, and the group halts.
 *
 * @param index the log entry (or the state check) where the two members disagreed
 * @param orderer the member that orders, and reported it
 * @param other the member that disagreed with it
 * @param evidence what differed, for operators
 */
public record Dispute(long index, String orderer, String other, String evidence) {

    public Dispute {
        Objects.requireNonNull(orderer, "orderer");
        Objects.requireNonNull(other, "other");
        evidence = evidence == null ? "" : evidence;
    }

    /**
     * True while both parties of this dispute in {@code before} are the same replica instances in
     * {@code after}: a party that left, or was rebuilt, ends the dispute.
     */
    boolean partiesStayFrom(GroupConfig before, java.util.List<ReplicaAssignment> after) {
        return stays(before.replicaOn(orderer), after) && stays(before.replicaOn(other), after);
    }

    private static boolean stays(ReplicaAssignment party, java.util.List<ReplicaAssignment> after) {
        return party != null && after.stream().anyMatch(party::sameInstance);
    }
}
