package io.pairstep.core.control;

/**
 * One replica of a group as placed by the controller.
 *
 * @param node the node that hosts it
 * @param incarnation the node incarnation the replica lives in; a restarted node hosts new replicas
 * @param role primary or backup
 * @param state ok or syncing
 * @param sinceEpoch the epoch at which this replica joined the group; with node and incarnation it
 *     identifies one replica instance, so a replica removed and added again is a new one
 * @param version the version of its service that this replica runs; versions differ within a
 *     group only during an upgrade. Controller states written before upgrades existed read 0 here,
 *     which means 1: the only version there was.
 */
public record ReplicaAssignment(String node, long incarnation, Role role, ReplicaState state, long sinceEpoch, long version) {

    public ReplicaAssignment {
        version = Math.max(1, version);
    }

    /** A replica of version 1 of its service. */
    public ReplicaAssignment(String node, long incarnation, Role role, ReplicaState state, long sinceEpoch) {
        this(node, incarnation, role, state, sinceEpoch, 1);
    }

    ReplicaAssignment with(Role newRole, ReplicaState newState) {
        return new ReplicaAssignment(node, incarnation, newRole, newState, sinceEpoch, version);
    }

    /** True when both describe the same replica instance, whatever its role and state now. */
    public boolean sameInstance(ReplicaAssignment other) {
        return other != null && node.equals(other.node) && incarnation == other.incarnation && sinceEpoch == other.sinceEpoch;
    }
}
