package io.pairstep.core.control;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import java.util.List;

/**
 * The configuration of one replica group at one epoch. A new epoch is made by the controller at
 * every change of roles; replicas act only on the configuration of their current epoch.
 *
 * @param halted null while the group serves; for a lockstep group whose members disagreed with
 *     nothing to show which is right, the evidence. A halted group releases no result whoever
 *     orders it, until an operator resolves it.
 * @param quarantined the poison commands of this group, oldest first, at most {@link #QUARANTINED_MAX}:
 *     a primary refuses each of them instead of running it again
 * @param dispute null, or for a DMR group whose two members disagreed with no self-check to settle
 *     it, the disagreement: the group then has a third member, a referee, until one party leaves
 * @param handover for a pair group, true when the controller asks its primary to hand its role to
 *     its in-sync backup (an upgrade step, a move to spread load, a drain): the primary stops ordering commands, waits until the
 *     backup holds every entry, and reports {@link ControlCommand.HandedOver}; the controller then
 *     swaps the roles and the old primary stays, as it is, the new primary's backup. For a lockstep
 *     group (an upgrade step, or its rollback), the orderer likewise stops ordering and reports once
 *     every entry is agreed on and durable on every member in sync; the controller then moves its
 *     role to a member of the version the upgrade moves to, and the orderer leaves. Any other
 *     change of the group's configuration drops the request.
 * @param movedOut the replicas the controller took out of the group by plan in the change that made
 *     this configuration (a move to spread load, a drain, an upgrade step), not for a fault; empty
 *     otherwise. Incidents and events tell the two apart by it.
 */
public record GroupConfig(GroupId group, Mode mode, long epoch, List<ReplicaAssignment> replicas, String halted,
        List<QuarantinedCommand> quarantined, Dispute dispute, boolean handover, List<ReplicaAssignment> movedOut) {

    /** How many poison commands a group remembers; older ones are forgotten first. */
    public static final int QUARANTINED_MAX = 32;

    public GroupConfig {
        replicas = List.copyOf(replicas);
        // Null in controller states written before planned moves were recorded.
        movedOut = movedOut == null ? List.of() : List.copyOf(movedOut);
        // Null in controller states written before quarantines existed.
        quarantined = quarantined == null ? List.of() : List.copyOf(quarantined);
    }

    /** A group asked for no hand-over, with nothing moved out by plan. */
    public GroupConfig(GroupId group, Mode mode, long epoch, List<ReplicaAssignment> replicas, String halted,
            List<QuarantinedCommand> quarantined, Dispute dispute) {
        this(group, mode, epoch, replicas, halted, quarantined, dispute, false, List.of());
    }

    /** This configuration, recording {@code replicas} as taken out by plan. */
    public GroupConfig withMovedOut(List<ReplicaAssignment> planned) {
        return new GroupConfig(group, mode, epoch, replicas, halted, quarantined, dispute, handover, planned);
    }

    /** True when {@code replica} left the group by plan in the change that made this configuration. */
    public boolean movedOut(ReplicaAssignment replica) {
        return movedOut.stream().anyMatch(replica::sameInstance);
    }

    /** A group with no dispute among its members. */
    public GroupConfig(GroupId group, Mode mode, long epoch, List<ReplicaAssignment> replicas, String halted,
            List<QuarantinedCommand> quarantined) {
        this(group, mode, epoch, replicas, halted, quarantined, null);
    }

    /** A group that serves. */
    public GroupConfig(GroupId group, Mode mode, long epoch, List<ReplicaAssignment> replicas) {
        this(group, mode, epoch, replicas, null, List.of());
    }

    /**
     * How many replicas the group should have: what its mode asks for, and a referee while a dispute
     * is open.
     */
    public int replicasWanted() {
        return mode.replicaCount() + (dispute != null ? 1 : 0);
    }

    /** A group with nothing quarantined. */
    public GroupConfig(GroupId group, Mode mode, long epoch, List<ReplicaAssignment> replicas, String halted) {
        this(group, mode, epoch, replicas, halted, List.of());
    }

    /** The quarantined command with this session and sequence, or null. */
    public QuarantinedCommand quarantined(long session, long sequence) {
        for (QuarantinedCommand command : quarantined) {
            if (command.session() == session && command.sequence() == sequence) {
                return command;
            }
        }
        return null;
    }

    public ReplicaAssignment primary() {
        for (ReplicaAssignment replica : replicas) {
            if (replica.role() == Role.PRIMARY) {
                return replica;
            }
        }
        return null;
    }

    /** The first backup, or null. A pair has at most one. */
    public ReplicaAssignment backup() {
        for (ReplicaAssignment replica : replicas) {
            if (replica.role() == Role.BACKUP) {
                return replica;
            }
        }
        return null;
    }

    public ReplicaAssignment replicaOn(String node) {
        for (ReplicaAssignment replica : replicas) {
            if (replica.node().equals(node)) {
                return replica;
            }
        }
        return null;
    }

    /**
     * True when the group serves and every replica the mode asks for is present and in sync (in mode
     * none, also with the second replica an upgrade hands over to, once it is in sync).
     */
    public boolean fullyProtected() {
        return halted == null && dispute == null
                && (mode == Mode.NONE ? !replicas.isEmpty() : replicas.size() == mode.replicaCount())
                && replicas.stream().allMatch(r -> r.state() == ReplicaState.OK);
    }
}
