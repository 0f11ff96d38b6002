package io.pairstep.core.control;

import io.pairstep.core.GroupId;

/**
 * A change to the system's configuration. Commands go through the replicated controller log, so
 * every controller replica applies the same ones in the same order, and a decision such as "who is
 * primary" is made exactly once.
 */
public sealed interface ControlCommand {

    /** Names the system the first time it starts. A data directory of another system is refused. */
    record Bootstrap(String systemId) implements ControlCommand {}

    /** A node process started (or the controller needs to hear it again). */
    record RegisterNode(String node, String http, String rpc, long incarnation, long pid) implements ControlCommand {}

    /** The supervisor concluded that this incarnation of the node is gone. */
    record NodeDown(String node, long incarnation, String reason) implements ControlCommand {}

    /** Deploy a new service. */
    record Deploy(ServiceSpec spec) implements ControlCommand {}

    /**
     * A primary reports that its syncing backup holds everything released so far. The primary
     * already waits for that backup's acknowledgements before it sends this.
     */
    record ReplicaCaughtUp(GroupId group, long epoch, String node, long incarnation) implements ControlCommand {}

    /**
     * A pair primary asked to hand over (see {@link GroupConfig#handover()}) holds nothing its backup
     * does not: both hold the log up to {@code index} and the primary orders nothing more in this
     * epoch. The controller swaps their roles, keeping both instances. From a lockstep orderer: every
     * member in sync holds its log up to {@code index}, agreed on; the controller moves its role and
     * it leaves.
     */
    record HandedOver(GroupId group, long epoch, String node, long incarnation, long index) implements ControlCommand {}

    /** A primary reports that its backup stopped acknowledging; the primary goes on alone. */
    record ReplicaFailed(GroupId group, long epoch, String reporter, String node, String reason) implements ControlCommand {}

    /**
     * This node now leads the controller. Placement keeps new primaries off the leader's node where
     * it can, so that losing a primary's node does not also cost a controller election.
     */
    record ControllerLeader(String node) implements ControlCommand {}

    /**
     * A lockstep orderer reports that a member of its group produced another output or state than
     * the agreed one, and must be removed. The orderer may name itself when the others outvoted it
     * or when its own self-check failed.
     *
     * @param index the log entry where the divergence showed
     * @param evidence what differed, for operators
     */
    record ReplicaDiverged(GroupId group, long epoch, String reporter, String node, long index, String evidence)
            implements ControlCommand {}

    /**
     * A lockstep orderer reports that its group's voters disagree at {@code index} and nothing shows
     * which is right: the group must release nothing more, whoever orders it from now on.
     */
    record GroupHalted(GroupId group, long epoch, String reporter, long index, String evidence) implements ControlCommand {}

    /**
     * A DMR orderer reports that its partner {@code other} disagrees with it at {@code index} and
     * neither failed a self-check: the controller adds a referee that executes the entry again (see
     * {@link Dispute}), or halts the group when no node can host one.
     */
    record RefereeNeeded(GroupId group, long epoch, String reporter, String other, long index, String evidence)
            implements ControlCommand {}

    /**
     * An operator resumes a halted lockstep group: the member on {@code trusted} becomes its only
     * member and orderer, the others leave (each dumps its state for diagnosis), and fresh members are
     * rebuilt from the trusted one. Entries the trusted member holds that were never released become
     * the group's history; their clients get its results when they retry.
     *
     * @param reason why, for the event log
     */
    record ResumeGroup(GroupId group, String trusted, String reason) implements ControlCommand {}

    /**
     * An operator drains a node ({@code drain} true): it receives no new replicas, and its pair
     * primaries and backups move to other nodes one at a time while every group stays protected.
     * With {@code drain} false the node takes replicas again.
     */
    record DrainNode(String node, boolean drain) implements ControlCommand {}

    /** An operator removes a node that is down, or drained and empty, from the system. */
    record RemoveNode(String node) implements ControlCommand {}

    /**
     * The controller leader found a fault no unresolved incident records: open one. A second report
     * of the same fault of the same component opens nothing (it may add a dump file).
     *
     * @param timeMillis when the leader saw it, by its clock; the controller reads none
     */
    record OpenIncident(IncidentReport report, long timeMillis) implements ControlCommand {}

    /** An operator saw incident {@code id}; {@code by} says who, for the history (may be empty). */
    record AcknowledgeIncident(long id, String by, long timeMillis) implements ControlCommand {}

    /** The component of incident {@code id} is healed; refused while the controller's state says otherwise. */
    record ResolveIncident(long id, String how, long timeMillis) implements ControlCommand {}

    /**
     * A replica crashed: its service threw an {@link Error} or passed the watchdog limit, or it was
     * told to crash (fault injection). Its state can no longer be trusted, so it leaves the group and
     * is rebuilt on its node from a partner (or, with no in-sync partner, from its own durable log).
     *
     * @param incarnation the node incarnation that hosted the replica
     * @param sinceEpoch the epoch the crashed replica instance joined in, so a report about an
     *     instance already replaced changes nothing
     * @param poison the command that crashed a primary, to quarantine; null when the crash was not
     *     a client command's doing (a backup applying an entry its primary ran fine, an injected crash)
     */
    record ReplicaCrashed(GroupId group, long epoch, String node, long incarnation, long sinceEpoch, String reason,
            QuarantinedCommand poison) implements ControlCommand {}

    /**
     * An operator upgrades a deployed service to {@code spec}: the same name, mode and partitions,
     * the next version, other code. See {@link ServiceUpgrade} for how replicas move, and for
     * {@code bakeMillis}, how long a pair service keeps its old version as backup once every
     * primary runs the new one.
     */
    record Upgrade(ServiceSpec spec, long shadow, long bakeMillis) implements ControlCommand {

        /** An upgrade without a bake. */
        public Upgrade(ServiceSpec spec, long shadow) {
            this(spec, shadow, 0);
        }
    }

    /**
     * The controller leader saw the upgrade of {@code service} to {@code toVersion} bake for as long
     * as it asked (see {@link ServiceUpgrade.State#BAKING}); the old version's backups may go.
     */
    record UpgradeBaked(String service, long toVersion) implements ControlCommand {}

    /**
     * A lockstep orderer reports that the member {@code node} of its group, which runs the version an
     * upgrade moves to while the orderer runs the old one, voted in agreement with the orderer's on
     * {@code commands} client commands since it came in sync: the member is proven, and an orderer's
     * role may move to it (see {@link ServiceUpgrade}). The orderer reports, not the member, because
     * only the orderer compares the votes. A report about another instance than the group's member on
     * {@code node} now, from another reporter than the group's orderer, or of an epoch the group has
     * not reached, is refused as stale.
     *
     * @param incarnation the node incarnation that hosts the member
     * @param sinceEpoch the epoch the member instance joined in
     */
    record MemberProven(GroupId group, long epoch, String reporter, String node, long incarnation, long sinceEpoch, long commands)
            implements ControlCommand {}

    /**
     * A pair backup ran the version an upgrade moves to in shadow mode beside its own for {@code
     * compared} commands; {@code differences} describes each output that differed (at most a few).
     */
    record ShadowReport(GroupId group, String node, long toVersion, long compared, java.util.List<String> differences)
            implements ControlCommand {}

    /**
     * A node's threshold fired or cleared: the controller keeps the record among the latest ones, so
     * that every node's event log shows the alert. Sent by the alerting node itself, retried until
     * the controller answers; a record whose alert id is already kept changes nothing.
     *
     * @param alert the record, with {@code seq} 0 (the controller numbers it)
     */
    record RecordAlert(AlertRecord alert) implements ControlCommand {}

    /**
     * Someone injected a fault: the controller keeps the record among the latest ones, so that every
     * node's event log shows it. Sent by the node that carried the fault out, retried until the
     * controller answers; a record whose fault id is already kept changes nothing. It changes no
     * replica: the fault's effects reach the controller on their own, as any real fault's would.
     *
     * @param fault the record, with {@code seq} 0 (the controller numbers it)
     */
    record RecordFault(FaultRecord fault) implements ControlCommand {}
}
