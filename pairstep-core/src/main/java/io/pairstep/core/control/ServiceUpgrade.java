package io.pairstep.core.control;

import io.pairstep.core.GroupId;
import java.util.List;

/**
 * The latest upgrade of a service, kept after it ends so that operators and the CLI can read how it
 * ended, until the next upgrade of that service replaces it.
 *
 * <p>A pair service moves in three steps, one group at a time and only while every group is fully
 * protected. (1) Each backup is replaced by a new instance of version {@code to}, which restores
 * the primary's snapshot, written by {@code from}, and catches up the log by running every command
 * itself. (2) Once every backup runs {@code to} and is in sync, each primary hands its role over
 * ({@link GroupConfig#handover()}): it stops ordering, waits until its backup holds every entry,
 * and stays, with its {@code from} state, as the new primary's backup, running every command in
 * {@code from}. (3) Once every primary runs {@code to} (and, with a bake time, after it, in {@link
 * State#BAKING}), the {@code from} backups are replaced by {@code to} ones. A {@code to} replica that
 * fails before (3) starts (a snapshot it cannot read, an {@link Error} in a command, as backup or as
 * primary) turns the upgrade into a rollback: a {@code to} primary that crashed was already replaced
 * by its {@code from} backup, the other {@code to} primaries hand their roles back the same way, and
 * the {@code to} backups are replaced by {@code from} ones, rebuilt from the {@code from} primaries.
 * Once a group has no {@code from} replica left, its state exists only in the format {@code to}
 * writes, so there is no way back; the upgrade goes on.
 *
 * <p>A lockstep group ({@code dmr}, {@code tmr}) moves one member at a time, under the same
 * conditions, so that an orderer always has a member of its own version in sync or catching up: in
 * TMR, over every group in turn, one member other than the orderer is replaced in place by a
 * syncing {@code to} member, then each orderer hands its role to it as it leaves, then the last old
 * member is replaced; in DMR, group by group, a {@code to} member syncs on a third node, the orderer
 * hands its role to it and leaves for a second {@code to} member, and the last old member leaves.
 * Before its role moves (either way), an orderer hands over ({@link GroupConfig#handover()}): it
 * orders nothing more until every member in sync holds its last entry, so that no member of the
 * version left behind must be rebuilt, which only the other version could do.
 * While every group whose orderer runs {@code to} still has a {@code from} member in sync (until that
 * last old member is replaced, after the bake if one was asked for), a {@code to} member that
 * crashes or is found divergent turns the upgrade into a rollback: a {@code from} member takes each
 * orderer's role back and {@code to} members are replaced by {@code from} ones the same way.
 * An orderer's role moves to a {@code to} member only once that member is <em>proven</em>: its
 * orderer, of version {@code from}, reported that it voted, in agreement, on {@link
 * #PROVEN_COMMANDS_MIN} commands since it came in sync ({@link ControlCommand.MemberProven}); until
 * then a {@code to} member that answers differently still turns the upgrade back. Without client
 * commands no member is proven and the upgrade waits (see {@link ControllerState#upgradeWaiting}). Members of both versions
 * vote on every output but compare state digests only within one version (see {@link
 * io.pairstep.core.lockstep.LockstepCore}). A group in mode {@code none} moves as a pair does, make
 * before break: a replica of {@code to} syncs on another node as its backup, the primary hands over
 * to it and stays as its backup (through the bake), then leaves. Shadow mode is for every mode but
 * {@code none}.
 *
 * <p>With {@code shadow} commands asked for, nothing moves at first ({@link State#SHADOW}): the
 * backup of each group (in lockstep, one member other than the orderer: see {@link
 * ControllerState#shadowRunner}) runs {@code to} beside its own service, on the same commands, for that many
 * commands, and reports every output that differs. When every partition has reported, the upgrade
 * goes on if none differed, and ends as {@link State#SHADOW_DIFFERED} otherwise, nothing switched.
 *
 * @param state where it is
 * @param reason why it rolled back or stopped; null otherwise
 * @param shadow how many commands each partition runs in shadow mode first; 0 for none
 * @param shadowed the partitions whose shadow run has reported, in order
 * @param differences the outputs that differed in shadow mode, at most {@link #DIFFERENCES_MAX}
 * @param differingPartitions how many partitions reported a difference
 * @param proven the lockstep members of version {@code to} proven beside an orderer of version
 *     {@code from}, still in their groups; empty in pair mode and in states written before proofs existed
 * @param bakeMillis how long every primary (lockstep: orderer) runs {@code to} with the last {@code
 *     from} replicas kept, ready to take back over, before those go; 0 for no bake
 * @param baked true once that bake ended
 */
public record ServiceUpgrade(ServiceSpec from, ServiceSpec to, State state, String reason, long shadow, List<Integer> shadowed,
        List<String> differences, int differingPartitions, List<ProvenMember> proven, long bakeMillis, boolean baked) {

    /** How many differing outputs an upgrade keeps. */
    public static final int DIFFERENCES_MAX = 100;

    /**
     * How many client commands a lockstep member of the new version must have voted on, in agreement
     * with an orderer of the old version, before an orderer's role may move to it. A version that
     * answers differently on a fraction {@code p} of commands gets past that many with probability
     * {@code (1 - p)^64}: 0.1% for one command in ten, 10^-8 for one in four. More would make an
     * upgrade under light load wait longer for each group (DMR and TMR prove one member per group,
     * group by group), with no more protection against a version that differs only on commands that
     * rarely come.
     */
    public static final long PROVEN_COMMANDS_MIN = 64;

    /**
     * A lockstep member instance of the new version that voted in agreement on {@code commands}
     * client commands beside an orderer of the old version, as that orderer reported.
     */
    public record ProvenMember(GroupId group, String node, long incarnation, long sinceEpoch, long commands) {

        /** True when this is the proof of {@code replica}, a member of {@code group}. */
        public boolean of(GroupId group, ReplicaAssignment replica) {
            return this.group.equals(group) && node.equals(replica.node()) && incarnation == replica.incarnation()
                    && sinceEpoch == replica.sinceEpoch();
        }
    }

    public ServiceUpgrade {
        shadowed = shadowed == null ? List.of() : List.copyOf(shadowed);
        differences = differences == null ? List.of() : List.copyOf(differences);
        // Null in controller states written before members had to prove themselves.
        proven = proven == null ? List.of() : List.copyOf(proven);
    }

    /** An upgrade with no member proven yet. */
    public ServiceUpgrade(ServiceSpec from, ServiceSpec to, State state, String reason, long shadow, List<Integer> shadowed,
            List<String> differences, int differingPartitions) {
        this(from, to, state, reason, shadow, shadowed, differences, differingPartitions, List.of(), 0, false);
    }

    /** True when the controller recorded {@code replica}, a member of {@code group}, as proven. */
    public boolean proven(GroupId group, ReplicaAssignment replica) {
        return proven.stream().anyMatch(p -> p.of(group, replica));
    }

    /** Where an upgrade is. */
    public enum State {
        /** The new version runs beside the old on each group's backup; nothing moves yet. */
        SHADOW,
        /** Shadow mode found outputs that differ; nothing was switched. */
        SHADOW_DIFFERED,
        /** Replicas move to version {@code to}. */
        UPGRADING,
        /**
         * Every primary runs {@code to}; each keeps its backup of version {@code from} (a lockstep
         * group, its last member of version {@code from}), which would take over if {@code to}
         * failed, until the bake time is over.
         */
        BAKING,
        /** A {@code to} replica failed; replicas move back to version {@code from}. */
        ROLLING_BACK,
        /** Every replica runs {@code to}, which is now the service's version. */
        DONE,
        /** Every replica runs {@code from} again. */
        ROLLED_BACK;

        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    public String service() {
        return to.name();
    }

    /** True while replicas are still moving. */
    public boolean active() {
        return state == State.SHADOW || state == State.UPGRADING || state == State.BAKING || state == State.ROLLING_BACK;
    }

    /** The version replicas move to now. */
    public ServiceSpec target() {
        return state == State.UPGRADING || state == State.BAKING || state == State.DONE ? to : from;
    }

    ServiceUpgrade with(State newState, String newReason) {
        return new ServiceUpgrade(from, to, newState, newReason, shadow, shadowed, differences, differingPartitions, proven, bakeMillis,
                baked);
    }

    ServiceUpgrade bakeEnded() {
        return new ServiceUpgrade(from, to, State.UPGRADING, reason, shadow, shadowed, differences, differingPartitions, proven, bakeMillis,
                true);
    }

    ServiceUpgrade withProven(List<ProvenMember> newProven) {
        return new ServiceUpgrade(from, to, state, reason, shadow, shadowed, differences, differingPartitions, newProven, bakeMillis, baked);
    }
}
