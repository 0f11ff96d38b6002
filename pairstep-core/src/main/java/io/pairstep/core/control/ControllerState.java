package io.pairstep.core.control;

import io.pairstep.core.GroupId;
import io.pairstep.core.Invariants;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand.AcknowledgeIncident;
import io.pairstep.core.control.ControlCommand.Bootstrap;
import io.pairstep.core.control.ControlCommand.ControllerLeader;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.DrainNode;
import io.pairstep.core.control.ControlCommand.GroupHalted;
import io.pairstep.core.control.ControlCommand.HandedOver;
import io.pairstep.core.control.ControlCommand.MemberProven;
import io.pairstep.core.control.ControlCommand.RefereeNeeded;
import io.pairstep.core.control.ControlCommand.ResumeGroup;
import io.pairstep.core.control.ControlCommand.NodeDown;
import io.pairstep.core.control.ControlCommand.OpenIncident;
import io.pairstep.core.control.ControlCommand.RecordAlert;
import io.pairstep.core.control.ControlCommand.RecordFault;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import io.pairstep.core.control.ControlCommand.RemoveNode;
import io.pairstep.core.control.ControlCommand.ReplicaCaughtUp;
import io.pairstep.core.control.ControlCommand.ReplicaDiverged;
import io.pairstep.core.control.ControlCommand.ReplicaCrashed;
import io.pairstep.core.control.ControlCommand.ReplicaFailed;
import io.pairstep.core.control.ControlCommand.ResolveIncident;
import io.pairstep.core.control.ControlCommand.ShadowReport;
import io.pairstep.core.control.ControlCommand.Upgrade;
import io.pairstep.core.control.ControlCommand.UpgradeBaked;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The system's configuration: members, services, and the placement, roles and epoch of every
 * replica group. A deterministic state machine: the same commands in the same order give the same
 * state on every controller replica. It reads no clock; liveness decisions arrive as {@link
 * NodeDown} commands from the {@link Supervisor}.
 *
 * <p>Safety rests on three rules. Only a replica in state {@link ReplicaState#OK} is ever promoted.
 * A replica becomes OK only at the request of its primary, which already waits for that replica's
 * acknowledgements. A restarted node's replicas are rebuilt, except a primary that no in-sync
 * backup could replace, which recovers from its own durable log.
 */
public final class ControllerState {

    private String systemId;
    private long version;
    /** The node that last reported leading the controller, or null. */
    private String controllerLeader;
    private final TreeMap<String, Member> members = new TreeMap<>();
    private final TreeMap<String, ServiceSpec> services = new TreeMap<>();
    private final TreeMap<GroupId, GroupConfig> groups = new TreeMap<>();
    /** Nodes an operator is draining: they get no new replicas and give theirs away. */
    private final TreeSet<String> draining = new TreeSet<>();
    private final Incidents incidents;
    /** The latest upgrade of each service that was ever upgraded, by service name. */
    private final TreeMap<String, ServiceUpgrade> upgrades = new TreeMap<>();
    /** The latest threshold alerts nodes reported, oldest first, at most {@link #ALERTS_KEPT_MAX}. */
    private final ArrayDeque<AlertRecord> alerts = new ArrayDeque<>();
    /** The seq of the last alert recorded (0 before the first). */
    private long alertsRecorded;
    /** The latest faults injected, oldest first, at most {@link #FAULTS_KEPT_MAX}. */
    private final ArrayDeque<FaultRecord> faults = new ArrayDeque<>();
    /** The seq of the last fault recorded (0 before the first). */
    private long faultsRecorded;

    /**
     * How many alert records the controller keeps. They exist to become events on every node, which
     * reads the new ones of each state it applies, so a short tail bounds the state without losing
     * any unless more arrive within one state change than this.
     */
    public static final int ALERTS_KEPT_MAX = 100;

    /** How many fault records the controller keeps; bounded for the same reason as {@link #ALERTS_KEPT_MAX}. */
    public static final int FAULTS_KEPT_MAX = 100;

    public ControllerState() {
        incidents = new Incidents();
    }

    /** Rebuilds a state from its parts, as read from a controller snapshot. */
    public ControllerState(
            String systemId, long version, Collection<Member> members, Collection<ServiceSpec> services, Collection<GroupConfig> groups) {
        this(systemId, version, null, members, services, groups);
    }

    /** Rebuilds a state from its parts, as read from a controller snapshot. */
    public ControllerState(String systemId, long version, String controllerLeader, Collection<Member> members,
            Collection<ServiceSpec> services, Collection<GroupConfig> groups) {
        this(systemId, version, controllerLeader, members, services, groups, List.of(), List.of(), 1, List.of());
    }

    /** Rebuilds a state from all its parts, as read from a controller snapshot. */
    public ControllerState(String systemId, long version, String controllerLeader, Collection<Member> members,
            Collection<ServiceSpec> services, Collection<GroupConfig> groups, Collection<String> draining,
            Collection<Incident> incidents, long nextIncidentId, Collection<ServiceUpgrade> upgrades) {
        this(systemId, version, controllerLeader, members, services, groups, draining, incidents, nextIncidentId, upgrades, List.of(), 0);
    }

    /** Rebuilds a state from all its parts, alert records included, as read from a controller snapshot. */
    public ControllerState(String systemId, long version, String controllerLeader, Collection<Member> members,
            Collection<ServiceSpec> services, Collection<GroupConfig> groups, Collection<String> draining,
            Collection<Incident> incidents, long nextIncidentId, Collection<ServiceUpgrade> upgrades,
            Collection<AlertRecord> alerts, long alertsRecorded) {
        this(systemId, version, controllerLeader, members, services, groups, draining, incidents, nextIncidentId, upgrades, alerts,
                alertsRecorded, List.of(), 0);
    }

    /** Rebuilds a state from all its parts, alert and fault records included, as read from a controller snapshot. */
    public ControllerState(String systemId, long version, String controllerLeader, Collection<Member> members,
            Collection<ServiceSpec> services, Collection<GroupConfig> groups, Collection<String> draining,
            Collection<Incident> incidents, long nextIncidentId, Collection<ServiceUpgrade> upgrades,
            Collection<AlertRecord> alerts, long alertsRecorded, Collection<FaultRecord> faults, long faultsRecorded) {
        this.draining.addAll(draining);
        this.alerts.addAll(alerts);
        this.alertsRecorded = alertsRecorded;
        this.faults.addAll(faults);
        this.faultsRecorded = faultsRecorded;
        upgrades.forEach(u -> this.upgrades.put(u.service(), u));
        this.incidents = new Incidents(incidents, nextIncidentId);
        this.systemId = systemId;
        this.version = version;
        this.controllerLeader = controllerLeader;
        members.forEach(m -> this.members.put(m.id(), m));
        services.forEach(s -> this.services.put(s.name(), s));
        groups.forEach(g -> this.groups.put(g.group(), g));
        checkInvariants();
    }

    public String systemId() {
        return systemId;
    }

    /** Raised by every command that changes the state. */
    public long version() {
        return version;
    }

    /** The node that last reported leading the controller (it may have lost the lead since), or null. */
    public String controllerLeader() {
        return controllerLeader;
    }

    public SortedMap<String, Member> members() {
        return Collections.unmodifiableSortedMap(members);
    }

    /** The replicas a node hosts, in group order. */
    public List<ReplicaAssignment> replicasOn(String node) {
        List<ReplicaAssignment> hosted = new ArrayList<>();
        for (GroupConfig config : groups.values()) {
            ReplicaAssignment replica = config.replicaOn(node);
            if (replica != null) {
                hosted.add(replica);
            }
        }
        return hosted;
    }

    /** The nodes being drained, whether or not they still host replicas. */
    public java.util.SortedSet<String> draining() {
        return Collections.unmodifiableSortedSet(draining);
    }

    public SortedMap<String, ServiceSpec> services() {
        return Collections.unmodifiableSortedMap(services);
    }

    public SortedMap<GroupId, GroupConfig> groups() {
        return Collections.unmodifiableSortedMap(groups);
    }

    /** The latest upgrade of every service that was upgraded, by service name. */
    public SortedMap<String, ServiceUpgrade> upgrades() {
        return Collections.unmodifiableSortedMap(upgrades);
    }

    /**
     * The spec of {@code version} of a service: its current one, or during an upgrade the version it
     * moves from or to. Null when no replica may run that version.
     */
    public ServiceSpec specFor(String service, long version) {
        ServiceSpec current = services.get(service);
        if (current != null && current.version() == version) {
            return current;
        }
        ServiceUpgrade upgrade = upgrades.get(service);
        if (upgrade != null && upgrade.active()) {
            return upgrade.to().version() == version ? upgrade.to() : upgrade.from().version() == version ? upgrade.from() : null;
        }
        return null;
    }

    /** The incidents kept: every unresolved one and the latest resolved ones. */
    public Incidents incidents() {
        return incidents;
    }

    /** The latest threshold alerts nodes reported, oldest first; each has a higher {@link AlertRecord#seq()} than the one before. */
    public List<AlertRecord> alerts() {
        return List.copyOf(alerts);
    }

    /** The seq of the last alert record (0 before the first). */
    public long alertsRecorded() {
        return alertsRecorded;
    }

    /** The latest faults injected, oldest first; each has a higher {@link FaultRecord#seq()} than the one before. */
    public List<FaultRecord> faults() {
        return List.copyOf(faults);
    }

    /** The seq of the last fault record (0 before the first). */
    public long faultsRecorded() {
        return faultsRecorded;
    }

    /** Applies one command. Refused commands leave the state unchanged. */
    public ControlResult apply(ControlCommand command) {
        ControlResult result =
                switch (command) {
                    case Bootstrap bootstrap -> bootstrap(bootstrap);
                    case RegisterNode register -> register(register);
                    case NodeDown down -> nodeDown(down);
                    case Deploy deploy -> deploy(deploy);
                    case ReplicaCaughtUp caughtUp -> caughtUp(caughtUp);
                    case HandedOver handedOver -> handedOver(handedOver);
                    case ReplicaFailed failed -> replicaFailed(failed);
                    case ControllerLeader leader -> controllerLeader(leader);
                    case ReplicaDiverged diverged -> replicaDiverged(diverged);
                    case GroupHalted halted -> groupHalted(halted);
                    case RefereeNeeded referee -> refereeNeeded(referee);
                    case ResumeGroup resume -> resumeGroup(resume);
                    case DrainNode drain -> drain(drain);
                    case RemoveNode remove -> remove(remove);
                    case OpenIncident open -> incidents.open(open.report(), open.timeMillis());
                    case AcknowledgeIncident ack -> incidents.acknowledge(ack.id(), ack.by(), ack.timeMillis());
                    case ResolveIncident resolve -> resolveIncident(resolve);
                    case ReplicaCrashed crashed -> replicaCrashed(crashed);
                    case Upgrade upgrade -> upgrade(upgrade);
                    case ShadowReport report -> shadowReport(report);
                    case UpgradeBaked baked -> upgradeBaked(baked);
                    case MemberProven proven -> memberProven(proven);
                    case RecordAlert record -> recordAlert(record);
                    case RecordFault record -> recordFault(record);
                };
        // An alert or fault record moves no replica, so it takes no placement step either: records
        // must not make the system rebalance faster or differently than it would without them.
        if (result.changed() && !(command instanceof RecordAlert) && !(command instanceof RecordFault)) {
            promoteWherePrimaryIsDown();
            addMissingBackups();
            finishDmrMoves();
            advanceUpgrades();
            if (upgrades.values().stream().noneMatch(ServiceUpgrade::active)) {
                rebalance();
            }
        }
        if (result.changed()) {
            version++;
        }
        checkInvariants();
        return result;
    }

    private ControlResult bootstrap(Bootstrap command) {
        if (systemId == null) {
            systemId = command.systemId();
            return ControlResult.CHANGED;
        }
        return systemId.equals(command.systemId())
                ? ControlResult.UNCHANGED
                : ControlResult.refused("this controller belongs to system " + systemId + ", not " + command.systemId());
    }

    private ControlResult register(RegisterNode command) {
        Member existing = members.get(command.node());
        Member fresh = new Member(command.node(), command.http(), command.rpc(), command.incarnation(), command.pid(), true);
        if (existing == null) {
            members.put(fresh.id(), fresh);
            return ControlResult.CHANGED;
        }
        if (command.incarnation() < existing.incarnation()) {
            return ControlResult.refused("node " + command.node() + " incarnation " + command.incarnation()
                    + " is older than the registered " + existing.incarnation());
        }
        if (command.incarnation() == existing.incarnation()) {
            if (!existing.alive()) {
                return ControlResult.refused("node " + command.node() + " incarnation " + command.incarnation()
                        + " was declared down; register with a new incarnation");
            }
            if (existing.equals(fresh)) {
                return ControlResult.UNCHANGED;
            }
            members.put(fresh.id(), fresh);
            return ControlResult.CHANGED;
        }
        // A new incarnation: the old process is gone even if nobody noticed yet.
        if (existing.alive()) {
            removeNode(existing);
        }
        members.put(fresh.id(), fresh);
        // A primary that an in-sync backup can replace is replaced, even if that became possible
        // only after the node was declared down. Otherwise it stays here and recovers from the
        // node's durable log.
        promoteWherePrimaryIsDown();
        for (GroupConfig config : List.copyOf(groups.values())) {
            ReplicaAssignment primary = config.primary();
            if (primary != null && primary.node().equals(fresh.id()) && primary.incarnation() != fresh.incarnation()) {
                List<ReplicaAssignment> replicas = new ArrayList<>();
                for (ReplicaAssignment replica : config.replicas()) {
                    replicas.add(replica == primary
                            ? new ReplicaAssignment(fresh.id(), fresh.incarnation(), Role.PRIMARY, ReplicaState.OK, primary.sinceEpoch(),
                                    primary.version())
                            : replica);
                }
                put(config, recoveringOrdererKeeps(config, replicas, primary.version()));
            }
        }
        return ControlResult.CHANGED;
    }

    private ControlResult recordAlert(RecordAlert command) {
        AlertRecord alert = command.alert();
        if (alert == null) {
            return ControlResult.refused("an alert record needs its alert");
        }
        String problem = alert.problem();
        if (problem != null) {
            return ControlResult.refused(problem);
        }
        if (!members.containsKey(alert.node())) {
            return ControlResult.refused("alert " + alert.alertId() + " from unknown node " + alert.node());
        }
        if (alerts.stream().anyMatch(kept -> kept.alertId().equals(alert.alertId()))) {
            return ControlResult.UNCHANGED; // a retry of a submission that went through
        }
        alertsRecorded++;
        appendBounded(alerts, alert.withSeq(alertsRecorded), ALERTS_KEPT_MAX);
        return ControlResult.CHANGED;
    }

    /** Appends {@code record}, then drops the oldest records beyond {@code max}. */
    private static <R> void appendBounded(ArrayDeque<R> records, R record, int max) {
        records.addLast(record);
        while (records.size() > max) {
            records.removeFirst();
        }
    }

    private ControlResult recordFault(RecordFault command) {
        FaultRecord fault = command.fault();
        if (fault == null) {
            return ControlResult.refused("a fault record needs its fault");
        }
        String problem = fault.problem();
        if (problem != null) {
            return ControlResult.refused(problem);
        }
        if (!members.containsKey(fault.node())) {
            return ControlResult.refused("fault " + fault.faultId() + " on unknown node " + fault.node());
        }
        if (faults.stream().anyMatch(kept -> kept.faultId().equals(fault.faultId()))) {
            return ControlResult.UNCHANGED; // a retry of a submission that went through
        }
        faultsRecorded++;
        appendBounded(faults, fault.withSeq(faultsRecorded), FAULTS_KEPT_MAX);
        return ControlResult.CHANGED;
    }

    private ControlResult drain(DrainNode command) {
        if (!members.containsKey(command.node())) {
            return ControlResult.refused("unknown node " + command.node() + " (nodes: " + String.join(", ", members.keySet()) + ")");
        }
        boolean changed = command.drain() ? draining.add(command.node()) : draining.remove(command.node());
        return changed ? ControlResult.CHANGED : ControlResult.UNCHANGED;
    }

    /**
     * Why {@link RemoveNode} of {@code node} would be refused now, or null when it would be taken:
     * so that an operator's request can be checked before anything else changes (such as the
     * controller's voters).
     */
    public String removalRefusal(String node) {
        Member member = members.get(node);
        if (member == null) {
            return "unknown node " + node + " (nodes: " + String.join(", ", members.keySet()) + ")";
        }
        if (member.alive() && !draining.contains(member.id())) {
            return "node " + member.id() + " is up: drain it first and remove it once it hosts no replica";
        }
        List<String> hosted = groups.values().stream().filter(g -> g.replicaOn(member.id()) != null).map(g -> g.group().toString()).toList();
        if (!hosted.isEmpty()) {
            return "node " + member.id() + " still hosts replicas of " + String.join(", ", hosted)
                    + (member.alive() ? " (draining moves them away; wait for it)" : " (the only copy of a primary that nobody could replace)");
        }
        return null;
    }

    private ControlResult remove(RemoveNode command) {
        String refusal = removalRefusal(command.node());
        if (refusal != null) {
            return ControlResult.refused(refusal);
        }
        Member member = members.get(command.node());
        members.remove(member.id());
        draining.remove(member.id());
        if (member.id().equals(controllerLeader)) {
            controllerLeader = null;
        }
        return ControlResult.CHANGED;
    }

    private ControlResult controllerLeader(ControllerLeader command) {
        if (command.node() == null || command.node().isEmpty()) {
            return ControlResult.refused("a controller leader needs a node id");
        }
        if (command.node().equals(controllerLeader)) {
            return ControlResult.UNCHANGED;
        }
        controllerLeader = command.node();
        return ControlResult.CHANGED;
    }

    private ControlResult nodeDown(NodeDown command) {
        Member member = members.get(command.node());
        if (member == null) {
            return ControlResult.refused("unknown node " + command.node());
        }
        if (member.incarnation() != command.incarnation() || !member.alive()) {
            return ControlResult.UNCHANGED;
        }
        removeNode(member);
        return ControlResult.CHANGED;
    }

    /** Marks the member down and takes its replicas out of their groups where that is safe. */
    private void removeNode(Member member) {
        members.put(member.id(), member.withAlive(false));
        for (GroupConfig config : List.copyOf(groups.values())) {
            ReplicaAssignment lost = config.replicaOn(member.id());
            if (lost == null) {
                continue;
            }
            if (lost.role() == Role.BACKUP) {
                put(config, without(config, lost));
            }
        }
        // A lost primary is replaced by an in-sync backup. Without one, nobody else holds every
        // released command, and the group waits for this node to come back.
        promoteWherePrimaryIsDown();
    }

    /** Where a group's primary is gone and an in-sync backup is live, the backup takes over. */
    private void promoteWherePrimaryIsDown() {
        for (GroupConfig config : List.copyOf(groups.values())) {
            ReplicaAssignment primary = config.primary();
            if (primary == null || isAlive(primary)) {
                continue;
            }
            ReplicaAssignment successor = promotable(config);
            if (successor == null) {
                continue;
            }
            List<ReplicaAssignment> replicas = new ArrayList<>();
            for (ReplicaAssignment replica : without(config, primary)) {
                replicas.add(replica == successor ? replica.with(Role.PRIMARY, ReplicaState.OK) : replica);
            }
            put(config, replicas);
        }
    }

    /**
     * An in-sync backup on a live node of the same incarnation, or null. In a lockstep group during
     * an upgrade, never an unproven member of the new version beside an orderer of the old one (see
     * {@link #mayOrder}): the group waits instead, as a pair does for a primary no backup can replace,
     * for its orderer's node to return (the orderer recovers from its durable log) rather than let a
     * version that may answer differently order with no way back.
     */
    private ReplicaAssignment promotable(GroupConfig config) {
        // While a lockstep upgrade rolls back, a member of the old version first: the roles move back
        // to it anyway, and one move fewer is one pause fewer for the clients.
        ServiceUpgrade upgrade = config.mode().lockstep() ? upgrades.get(config.group().service()) : null;
        long preferred = upgrade != null && upgrade.state() == ServiceUpgrade.State.ROLLING_BACK ? upgrade.from().version() : -1;
        ReplicaAssignment found = null;
        for (ReplicaAssignment replica : config.replicas()) {
            if (replica.role() == Role.BACKUP && replica.state() == ReplicaState.OK && isAlive(replica) && mayOrder(config, replica)) {
                if (replica.version() == preferred) {
                    return replica;
                }
                found = found == null ? replica : found;
            }
        }
        return found;
    }

    private boolean isAlive(ReplicaAssignment replica) {
        Member member = members.get(replica.node());
        return member != null && member.alive() && member.incarnation() == replica.incarnation();
    }

    private ControlResult deploy(Deploy command) {
        ServiceSpec spec = command.spec();
        String problem = spec.problem();
        if (problem != null) {
            return ControlResult.refused(problem);
        }
        if (services.containsKey(spec.name())) {
            return ControlResult.refused("service " + spec.name() + " is already deployed");
        }
        List<Member> live = liveMembers();
        if (live.isEmpty()) {
            return ControlResult.refused("no live node to place service " + spec.name() + " on");
        }
        services.put(spec.name(), spec);
        for (int partition = 0; partition < spec.partitions(); partition++) {
            GroupId group = new GroupId(spec.name(), partition);
            List<ReplicaAssignment> replicas = new ArrayList<>();
            // Off the controller leader's node when another node is live: a node that leads the
            // controller and hosts a primary would make its loss cost an election before the takeover.
            List<String> avoid = controllerLeader != null && live.stream().anyMatch(m -> !m.id().equals(controllerLeader))
                    ? List.of(controllerLeader)
                    : List.of();
            Member primary = leastLoaded(live, avoid, true);
            replicas.add(new ReplicaAssignment(primary.id(), primary.incarnation(), Role.PRIMARY, ReplicaState.OK, 1, spec.version()));
            List<String> hosting = new ArrayList<>(List.of(primary.id()));
            while (replicas.size() < spec.mode().replicaCount() && replicas.size() < live.size()) {
                // Every replica of a new group starts empty, so all are in sync from the start.
                Member backup = leastLoaded(live, hosting, false);
                replicas.add(new ReplicaAssignment(backup.id(), backup.incarnation(), Role.BACKUP, ReplicaState.OK, 1, spec.version()));
                hosting.add(backup.id());
            }
            groups.put(group, new GroupConfig(group, spec.mode(), 1, replicas));
        }
        return ControlResult.CHANGED;
    }

    private ControlResult upgrade(Upgrade command) {
        ServiceSpec to = command.spec();
        String problem = to.problem();
        if (problem != null) {
            return ControlResult.refused(problem);
        }
        ServiceSpec from = services.get(to.name());
        if (from == null) {
            return ControlResult.refused("unknown service " + to.name() + " (services: " + String.join(", ", services.keySet()) + ")");
        }
        ServiceUpgrade running = upgrades.get(to.name());
        if (running != null && running.active()) {
            return ControlResult.refused("an upgrade of " + to.name() + " from version " + running.from().version() + " to "
                    + running.to().version() + " is under way (" + running.state().label() + "); wait for it to end");
        }
        if (from.mode() == Mode.NONE && command.shadow() != 0) {
            return ControlResult.refused("shadow mode (--shadow) is for modes pair, dmr and tmr only: in mode none there is no backup"
                    + " to run the new version beside the old; upgrade without --shadow");
        }
        if (from.mode() == Mode.NONE && members.keySet().stream().filter(id -> !draining.contains(id)).count() < 2) {
            return ControlResult.refused("service " + to.name() + " runs in mode none: its replica hands over to a replica of the new"
                    + " version that first syncs on another node, and no other node that is not draining can take it");
        }
        long hosts = members.keySet().stream().filter(id -> !draining.contains(id)).count();
        if (from.mode() == Mode.DMR && hosts < 3) {
            // Counted whether up or not: a node down for a moment only makes the upgrade wait for it.
            return ControlResult.refused("service " + to.name() + " runs in mode dmr: each member moves make-before-break, a member of"
                    + " the new version syncing on a third node before the old one leaves, and only " + hosts
                    + " node(s) that are not draining can take replicas");
        }
        if (to.mode() != from.mode() || to.partitions() != from.partitions() || to.digestEvery() != from.digestEvery()) {
            return ControlResult.refused("an upgrade keeps the mode and partitions of " + to.name() + " (" + from.mode().label() + ", "
                    + from.partitions() + "); asked for " + to.mode().label() + ", " + to.partitions());
        }
        if (to.version() != from.version() + 1) {
            return ControlResult.refused("service " + to.name() + " runs version " + from.version() + "; the upgrade must name version "
                    + (from.version() + 1) + ", not " + to.version());
        }
        if (to.artifact().equals(from.artifact()) && to.className().equals(from.className())) {
            return ControlResult.refused("service " + to.name() + " already runs " + from.artifact()
                    + (from.className().isEmpty() ? "" : " " + from.className()));
        }
        if (groups.values().stream().anyMatch(g -> g.group().service().equals(to.name()) && g.halted() != null)) {
            return ControlResult.refused("service " + to.name() + " has a halted group; resolve it before upgrading");
        }
        if (command.shadow() < 0) {
            return ControlResult.refused("shadow must be 0 (none) or a number of commands, not " + command.shadow());
        }
        if (command.bakeMillis() < 0) {
            return ControlResult.refused("bake must be 0 (none) or a time, not " + command.bakeMillis() + " ms");
        }
        upgrades.put(to.name(), new ServiceUpgrade(from, to, command.shadow() > 0 ? ServiceUpgrade.State.SHADOW : ServiceUpgrade.State.UPGRADING,
                null, command.shadow(), List.of(), List.of(), 0, List.of(), command.bakeMillis(), false));
        return ControlResult.CHANGED;
    }

    /**
     * A partition's shadow run ended. Once every partition reported, the upgrade goes on when no
     * output differed, and stops with nothing switched when one did.
     */
    private ControlResult shadowReport(ShadowReport command) {
        ServiceUpgrade upgrade = upgrades.get(command.group().service());
        if (upgrade == null || upgrade.state() != ServiceUpgrade.State.SHADOW || upgrade.to().version() != command.toVersion()
                || upgrade.shadowed().contains(command.group().partition())) {
            return ControlResult.refused("stale shadow report for " + command.group() + " version " + command.toVersion());
        }
        GroupConfig config = groups.get(command.group());
        if (config != null && config.mode().lockstep()) {
            // Only a member that ran the shadow beside its own service, in sync, all along has
            // anything to say: one that left the group, or became orderer or fell behind (which
            // cancels its run), reports nothing; a follower that took over runs it anew.
            ReplicaAssignment member = config.replicaOn(command.node() == null ? "" : command.node());
            if (member == null || member.role() != Role.BACKUP || member.state() != ReplicaState.OK
                    || member.version() != upgrade.from().version()) {
                return ControlResult.refused("stale shadow report for " + command.group() + " version " + command.toVersion() + " from "
                        + command.node() + ", which is not a member in sync other than the orderer");
            }
        }
        List<Integer> shadowed = new ArrayList<>(upgrade.shadowed());
        shadowed.add(command.group().partition());
        List<String> differences = new ArrayList<>(upgrade.differences());
        int differing = upgrade.differingPartitions() + (command.differences().isEmpty() ? 0 : 1);
        for (String difference : command.differences()) {
            if (differences.size() < ServiceUpgrade.DIFFERENCES_MAX) {
                differences.add(command.group() + " on " + command.node() + ": " + difference);
            }
        }
        ServiceUpgrade.State state = upgrade.state();
        String reason = null;
        int partitions = services.get(upgrade.service()).partitions();
        if (shadowed.size() == partitions) {
            state = differing == 0 ? ServiceUpgrade.State.UPGRADING : ServiceUpgrade.State.SHADOW_DIFFERED;
            reason = differing == 0 ? null : "in shadow mode, version " + upgrade.to().version() + " answered differently on "
                    + differing + " of " + partitions + " partitions; nothing was switched";
        }
        upgrades.put(upgrade.service(), new ServiceUpgrade(upgrade.from(), upgrade.to(), state, reason, upgrade.shadow(), shadowed,
                differences, differing, upgrade.proven(), upgrade.bakeMillis(), upgrade.baked()));
        return ControlResult.CHANGED;
    }

    /** The leader's {@link BakeTimer} saw an upgrade bake long enough: the old version's backups may go. */
    private ControlResult upgradeBaked(UpgradeBaked command) {
        ServiceUpgrade upgrade = upgrades.get(command.service());
        if (upgrade == null || upgrade.state() != ServiceUpgrade.State.BAKING || upgrade.to().version() != command.toVersion()) {
            return ControlResult.refused("stale bake report for " + command.service() + " version " + command.toVersion());
        }
        upgrades.put(upgrade.service(), upgrade.bakeEnded());
        return ControlResult.CHANGED;
    }

    /**
     * An orderer of the old version reports that a member of the new one agreed with it on enough
     * commands: the controller records the member instance as proven, so that an orderer's role may
     * move to it (see {@link #mayOrder}). Proofs of instances that left their groups are dropped.
     */
    private ControlResult memberProven(MemberProven command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        ServiceUpgrade upgrade = upgrades.get(command.group().service());
        ReplicaAssignment primary = config.primary();
        ReplicaAssignment member = config.replicaOn(command.node() == null ? "" : command.node());
        if (!config.mode().lockstep() || upgrade == null || !upgrade.active() || upgrade.state() == ServiceUpgrade.State.SHADOW
                || command.epoch() > config.epoch() || primary == null || !primary.node().equals(command.reporter())
                || primary.version() != upgrade.from().version() || member == null || member.role() != Role.BACKUP
                || member.incarnation() != command.incarnation() || member.sinceEpoch() != command.sinceEpoch()
                || member.version() != upgrade.to().version()) {
            return ControlResult.refused("stale proof of the member on " + command.node() + " of " + command.group() + " at epoch "
                    + command.epoch());
        }
        if (command.commands() < ServiceUpgrade.PROVEN_COMMANDS_MIN) {
            return ControlResult.refused("a member is proven by " + ServiceUpgrade.PROVEN_COMMANDS_MIN + " commands in agreement, not "
                    + command.commands());
        }
        if (upgrade.proven(config.group(), member)) {
            return ControlResult.UNCHANGED;
        }
        List<ServiceUpgrade.ProvenMember> proven = new ArrayList<>();
        for (ServiceUpgrade.ProvenMember kept : upgrade.proven()) {
            GroupConfig group = groups.get(kept.group());
            if (group != null && group.replicas().stream().anyMatch(r -> kept.of(kept.group(), r))) {
                proven.add(kept);
            }
        }
        proven.add(new ServiceUpgrade.ProvenMember(config.group(), member.node(), member.incarnation(), member.sinceEpoch(),
                command.commands()));
        upgrades.put(upgrade.service(), upgrade.withProven(proven));
        return ControlResult.CHANGED;
    }

    /**
     * False for a lockstep member of the version an active upgrade moves to that is not proven yet,
     * while its group's orderer still runs the old version: the orderer's role does not move to it,
     * since once an orderer runs the new version there is no way back, and until it has agreed with
     * the old version on {@link ServiceUpgrade#PROVEN_COMMANDS_MIN} commands a version that answers
     * differently may not have shown it yet; nor, while the upgrade rolls back, even once proven.
     * True for every other replica, of a pair group too.
     */
    private boolean mayOrder(GroupConfig config, ReplicaAssignment member) {
        if (!config.mode().lockstep()) {
            return true;
        }
        ServiceUpgrade upgrade = upgrades.get(config.group().service());
        if (upgrade == null || !upgrade.active() || member.version() != upgrade.to().version()) {
            return true;
        }
        ReplicaAssignment primary = config.primary();
        if (primary != null && primary.version() == upgrade.to().version()) {
            return true;
        }
        // While an upgrade rolls back, its version failed: a member of it never takes over from an
        // orderer of the old version, proven or not, which would close the way back for the whole
        // service. The group waits instead for its orderer to recover, as it does for an unproven one.
        return upgrade.state() != ServiceUpgrade.State.ROLLING_BACK && upgrade.proven(config.group(), member);
    }

    /**
     * In shadow mode of an upgrade, the replica of {@code config} that runs the new version beside
     * its own service: the first replica other than the primary (in lockstep, the orderer) that is
     * in sync, of the old version, on a live node; null when there is none (the run waits for one)
     * or no shadow run is asked of this group. Another member that runs it meanwhile may report too
     * (see {@link #shadowReport}), so a runner that leaves or falls behind only costs its own run.
     * A pair group has one backup, so it is the runner whenever it is in sync.
     */
    public ReplicaAssignment shadowRunner(GroupConfig config) {
        ServiceUpgrade upgrade = upgrades.get(config.group().service());
        if (config.mode() == Mode.NONE || upgrade == null || upgrade.state() != ServiceUpgrade.State.SHADOW
                || upgrade.shadowed().contains(config.group().partition()) || config.halted() != null) {
            return null;
        }
        for (ReplicaAssignment replica : config.replicas()) {
            if (replica.role() == Role.BACKUP && replica.state() == ReplicaState.OK && replica.version() == upgrade.from().version()
                    && isAlive(replica)) {
                return replica;
            }
        }
        return null;
    }

    /**
     * What an active upgrade of {@code service} waits for, for operators: in shadow mode, the
     * partitions whose shadow run has not reported yet (it needs client commands, or a replica to
     * run it); in a lockstep upgrade, members of the new version in sync that must be proven before
     * an orderer's role moves to them. Null when it waits for neither.
     */
    public String upgradeWaiting(String service) {
        ServiceUpgrade upgrade = upgrades.get(service);
        if (upgrade != null && upgrade.state() == ServiceUpgrade.State.SHADOW) {
            return shadowWaiting(upgrade);
        }
        if (upgrade == null || upgrade.state() != ServiceUpgrade.State.UPGRADING || !upgrade.from().mode().lockstep()) {
            return null;
        }
        List<String> waiting = new ArrayList<>();
        for (GroupConfig config : groups.values()) {
            if (!config.group().service().equals(service) || config.primary().version() == upgrade.to().version()
                    || config.halted() != null) {
                // A halted group holds the upgrade for another reason: it releases nothing until resumed.
                continue;
            }
            for (ReplicaAssignment replica : config.replicas()) {
                if (replica.role() == Role.BACKUP && replica.state() == ReplicaState.OK && !mayOrder(config, replica)) {
                    waiting.add(replica.node() + " (" + config.group() + ")");
                }
            }
        }
        if (waiting.isEmpty()) {
            return null;
        }
        return "waiting until version " + upgrade.to().version() + " on " + String.join(", ", waiting) + " has agreed with version "
                + upgrade.from().version() + " on " + ServiceUpgrade.PROVEN_COMMANDS_MIN
                + " client commands before an orderer moves to it; without client load it waits";
    }

    private String shadowWaiting(ServiceUpgrade upgrade) {
        List<String> running = new ArrayList<>();
        List<String> unplaced = new ArrayList<>();
        for (GroupConfig config : groups.values()) {
            if (!config.group().service().equals(upgrade.service()) || upgrade.shadowed().contains(config.group().partition())) {
                continue;
            }
            ReplicaAssignment runner = shadowRunner(config);
            if (runner != null) {
                running.add(runner.node() + " (" + config.group() + ")");
            } else {
                unplaced.add(config.group() + (config.halted() != null ? " (halted)" : ""));
            }
        }
        List<String> parts = new ArrayList<>();
        if (!running.isEmpty()) {
            parts.add("waiting until version " + upgrade.to().version() + " has run in shadow mode beside version " + upgrade.from().version()
                    + " on " + String.join(", ", running) + " for " + upgrade.shadow() + " client commands; without client load it waits");
        }
        if (!unplaced.isEmpty()) {
            parts.add((upgrade.from().mode().lockstep() ? "waiting for a member in sync other than the orderer"
                    : "waiting for a backup in sync") + ", on a live node, to run the shadow in " + String.join(", ", unplaced));
        }
        return parts.isEmpty() ? null : String.join("; ", parts);
    }

    /** Moves every active upgrade one step, while the system is quiet; see {@link ServiceUpgrade}. */
    private void advanceUpgrades() {
        boolean changed = false;
        for (ServiceUpgrade upgrade : List.copyOf(upgrades.values())) {
            if (!upgrade.active() || upgrade.state() == ServiceUpgrade.State.SHADOW) {
                continue;
            }
            List<GroupConfig> serviceGroups = groups.values().stream().filter(g -> g.group().service().equals(upgrade.service())).toList();
            if (upgrade.state() == ServiceUpgrade.State.BAKING) {
                if (serviceGroups.stream().anyMatch(g -> g.primary().version() != upgrade.to().version())) {
                    // An old-version backup took over (its primary's node died): hand over again, then bake again.
                    upgrades.put(upgrade.service(), upgrade.with(ServiceUpgrade.State.UPGRADING, upgrade.reason()));
                    changed = true;
                }
                continue;
            }
            if (upgrade.state() == ServiceUpgrade.State.ROLLING_BACK && !canRollBack(upgrade)) {
                // A group lost its last replica of the old version meanwhile (a node died): its
                // state now exists only in the new format, so the way back is closed.
                upgrades.put(upgrade.service(), upgrade.with(ServiceUpgrade.State.UPGRADING, upgrade.reason()
                        + "; cannot roll back: a group has no version " + upgrade.from().version() + " replica left"));
                changed = true;
                continue;
            }
            long target = upgrade.target().version();
            if (endIfEveryReplicaAtTarget(upgrade)) {
                changed = true;
                continue;
            }
            if (changed || !quiet()) {
                continue;
            }
            if (upgrade.from().mode().lockstep()) {
                // In phases over every group: first one member other than the orderer, then the
                // orderers, then the rest; see moveLockstepMember. With a bake, the rest waits for
                // it (BAKING) once every orderer runs the new version: the old version's members
                // stay meanwhile, ready to take the orderers' roles back.
                for (int phase = 1; phase <= 3; phase++) {
                    if (phase == 3 && upgrade.state() == ServiceUpgrade.State.UPGRADING && bakeDue(upgrade)) {
                        if (!changed && serviceGroups.stream().allMatch(g -> g.primary().version() == upgrade.to().version())) {
                            upgrades.put(upgrade.service(), upgrade.with(ServiceUpgrade.State.BAKING, upgrade.reason()));
                            changed = true;
                        }
                        break;
                    }
                    for (GroupConfig config : serviceGroups) {
                        if (!changed && moveLockstepMember(config, target, phase)) {
                            changed = true;
                        }
                    }
                }
                continue;
            }
            changed = movePairGroup(upgrade, serviceGroups, target);
            if (changed) {
                // The last step may have been a replica leaving (mode none), which nothing reports on.
                endIfEveryReplicaAtTarget(upgrade);
            }
        }
    }

    /** True while an upgrade asked for a bake that has not ended: the old version's last replicas stay. */
    private static boolean bakeDue(ServiceUpgrade upgrade) {
        return upgrade.bakeMillis() > 0 && !upgrade.baked()
                && (upgrade.state() == ServiceUpgrade.State.UPGRADING || upgrade.state() == ServiceUpgrade.State.BAKING);
    }

    /** Ends the upgrade when every group of its service is fully protected with only replicas of the version it moves to. */
    private boolean endIfEveryReplicaAtTarget(ServiceUpgrade upgrade) {
        long target = upgrade.target().version();
        boolean allThere = groups.values().stream().filter(g -> g.group().service().equals(upgrade.service()))
                .allMatch(g -> g.fullyProtected() && g.replicas().size() == g.mode().replicaCount()
                        && g.replicas().stream().allMatch(r -> r.version() == target));
        if (!allThere) {
            return false;
        }
        boolean done = upgrade.state() == ServiceUpgrade.State.UPGRADING;
        if (done) {
            services.put(upgrade.service(), upgrade.to());
        }
        upgrades.put(upgrade.service(), upgrade.with(done ? ServiceUpgrade.State.DONE : ServiceUpgrade.State.ROLLED_BACK, upgrade.reason()));
        return true;
    }

    /**
     * One step of a pair service's upgrade (or rollback) to {@code target} in a quiet system; false
     * when nothing moved. In order: (1) upgrading, the backup of a group whose primary runs the old
     * version is replaced by one of {@code target}, rebuilt from the primary's snapshot; (2) a
     * primary of the version left hands its role over to its in-sync backup of {@code target} and
     * stays as its backup, state and all; (3) the backups of the version left are replaced by ones
     * of {@code target}. Until (3) starts, every group keeps a replica of the old version that runs
     * every command, so a failing new version can still be rolled back (a rollback starts at (2)).
     * One group at a time, and nothing moves while a hand-over is under way.
     */
    private boolean movePairGroup(ServiceUpgrade upgrade, List<GroupConfig> serviceGroups, long target) {
        if (serviceGroups.stream().anyMatch(GroupConfig::handover)) {
            return false;
        }
        if (upgrade.state() == ServiceUpgrade.State.UPGRADING) {
            for (GroupConfig config : serviceGroups) {
                ReplicaAssignment backup = config.backup();
                if (config.primary().version() != target && backup != null && backup.version() != target) {
                    replaceBackup(config, backup);
                    return true;
                }
                if (config.primary().version() != target && backup == null && config.mode() == Mode.NONE) {
                    // Make before break: a replica of the new version syncs on another node, for the hand-over.
                    List<String> hosting = config.replicas().stream().map(ReplicaAssignment::node).toList();
                    Member host = leastLoaded(liveMembers(), hosting, false);
                    if (host != null) {
                        List<ReplicaAssignment> grown = new ArrayList<>(config.replicas());
                        grown.add(newBackup(config, host));
                        put(config, grown);
                        return true;
                    }
                }
            }
        }
        for (GroupConfig config : serviceGroups) {
            ReplicaAssignment backup = config.backup();
            if (config.primary().version() != target && backup != null && backup.version() == target && backup.state() == ReplicaState.OK) {
                requestHandover(config);
                return true;
            }
        }
        if (serviceGroups.stream().anyMatch(g -> g.primary().version() != target)) {
            return false;
        }
        if (upgrade.state() == ServiceUpgrade.State.UPGRADING && upgrade.bakeMillis() > 0 && !upgrade.baked()) {
            upgrades.put(upgrade.service(), upgrade.with(ServiceUpgrade.State.BAKING, upgrade.reason()));
            return true;
        }
        boolean left = false;
        for (GroupConfig config : serviceGroups) {
            ReplicaAssignment backup = config.backup();
            if (backup != null && config.mode() == Mode.NONE) {
                // The hand-over's partners go, all at once (nothing syncs): mode none keeps a single replica.
                movePlanned(config, without(config, backup));
                left = true;
            }
        }
        if (left) {
            return true;
        }
        for (GroupConfig config : serviceGroups) {
            ReplicaAssignment backup = config.backup();
            if (backup != null && backup.version() != target) {
                replaceBackup(config, backup);
                return true;
            }
        }
        return false;
    }

    /** Replaces a pair group's backup by a new syncing instance on the same node. */
    private void replaceBackup(GroupConfig config, ReplicaAssignment backup) {
        List<ReplicaAssignment> replicas = new ArrayList<>(without(config, backup));
        replicas.add(newBackup(config, members.get(backup.node())));
        movePlanned(config, replicas);
    }

    /**
     * True while a rollback can rebuild every group of the service in the old version: each one has
     * a primary of the old version, or an in-sync backup of it (a pair's old primary after it handed
     * over; in a lockstep group whose orderer moved, a member of the old version still in sync,
     * which keeps running every command in the old version until phase 3 replaces it). Such a member
     * becomes the orderer again (see {@link #moveLockstepMember} and {@link #finishDmrMoves}), and
     * members of the old version are rebuilt from it.
     */
    private boolean canRollBack(ServiceUpgrade upgrade) {
        long from = upgrade.from().version();
        for (GroupConfig config : groups.values()) {
            if (!config.group().service().equals(upgrade.service()) || config.primary().version() == from) {
                continue;
            }
            if (config.mode().lockstep()) {
                if (config.replicas().stream().noneMatch(r -> r.role() == Role.BACKUP && r.version() == from
                        && r.state() == ReplicaState.OK)) {
                    return false;
                }
                continue;
            }
            ReplicaAssignment backup = config.backup();
            if (backup == null || backup.version() != from || backup.state() != ReplicaState.OK) {
                return false;
            }
        }
        return true;
    }

    /**
     * One step of a lockstep group's upgrade to {@code target} in a quiet system, in {@code phase};
     * false when the group has nothing to move in that phase (or no node to move to). Phases run
     * over every group in turn, so that while any orderer runs the old version the new one can
     * still be turned back everywhere, and so that an orderer always has a member of its own
     * version in sync, or catching up, to tell a damaged orderer from a new version that answers
     * differently (see {@link io.pairstep.core.lockstep.LockstepCore}).
     *
     * <p>TMR: (1) a group with no member of {@code target} yet has one other member replaced in
     * place by a syncing member of {@code target} (its node keeps hosting it, unless it drains), so
     * two members stay in sync; (2) once that member is in sync and proven (see {@link #mayOrder}),
     * the orderer leaves, handing its role to it, and a syncing member of {@code target} takes its
     * place on its node; (3) the last old member is replaced in place. DMR, make-before-break: a
     * member of {@code target} joins on a third node and syncs (three vote meanwhile); once it is
     * proven, {@link #finishDmrMoves} moves the orderer's role to it,
     * the old orderer leaving for a second member of {@code target}, and finally lets the last old
     * member go. A new member is rebuilt from the orderer's verified state, written by the orderer's
     * version, which the new version's {@code restore} migrates.
     */
    private boolean moveLockstepMember(GroupConfig config, long target, int phase) {
        if (!config.fullyProtected()) {
            // A halted group (which a quiet system does not wait for) keeps its states for an operator.
            return false;
        }
        ReplicaAssignment primary = config.primary();
        ReplicaAssignment oldBackup = config.replicas().stream().filter(r -> r.role() == Role.BACKUP && r.version() != target)
                .findFirst().orElse(null);
        Map<String, Integer> load = countPerLiveNode(liveMembers(), false);
        if (config.mode() == Mode.DMR) {
            if (phase != 1 || (oldBackup == null && primary.version() == target)
                    || config.replicas().size() > config.mode().replicaCount()) {
                // A third member is there already: finishDmrMoves moves the roles and lets one go.
                return false;
            }
            String third = emptiestOutside(config, load);
            if (third == null) {
                return false;
            }
            List<ReplicaAssignment> grown = new ArrayList<>(config.replicas());
            grown.add(newBackup(config, members.get(third)));
            put(config, grown);
            return true;
        }
        boolean anyAtTarget = config.replicas().stream().anyMatch(r -> r.version() == target);
        ReplicaAssignment old = switch (phase) {
            case 1 -> anyAtTarget ? null : oldBackup;
            case 2 -> primary.version() != target ? primary : null;
            // Only once the orderer moved: while it waits for a proven successor (see mayOrder), its
            // old version keeps a member of its own in sync.
            default -> primary.version() == target ? oldBackup : null;
        };
        if (old == null) {
            return false;
        }
        if (old.role() == Role.PRIMARY) {
            // Once a member in sync of the target version may order (see mayOrder), the orderer hands
            // over and leaves (lockstepHandedOver); none yet: it waits.
            return moveLockstepOrderer(config);
        }
        String node = draining.contains(old.node()) ? emptiestOutside(config, load) : old.node();
        if (node == null) {
            return false;
        }
        List<ReplicaAssignment> moved = new ArrayList<>(without(config, old));
        moved.add(newBackup(config, members.get(node)));
        movePlanned(config, moved);
        return true;
    }

    /**
     * A replica of the version an upgrade moves to crashed, or a lockstep member of that version
     * answered differently from its orderer. While every group still has a replica of the old
     * version that holds its state ({@link #canRollBack}), the upgrade turns back; after that, the
     * state exists only in the new version's format and the upgrade goes on (the failure is handled
     * like any other).
     */
    private void rollBackIfNewVersionCrashed(GroupConfig config, ReplicaAssignment crashed, String reason) {
        ServiceUpgrade upgrade = upgrades.get(config.group().service());
        if (upgrade == null || (upgrade.state() != ServiceUpgrade.State.UPGRADING && upgrade.state() != ServiceUpgrade.State.BAKING)
                || crashed.version() != upgrade.to().version()) {
            return;
        }
        if (canRollBack(upgrade)) {
            upgrades.put(upgrade.service(), upgrade.with(ServiceUpgrade.State.ROLLING_BACK,
                    "version " + upgrade.to().version() + " failed on " + crashed.node() + " (" + config.group() + "): " + reason));
        }
    }

    private ControlResult caughtUp(ReplicaCaughtUp command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        ReplicaAssignment replica = config.replicaOn(command.node());
        if (config.epoch() != command.epoch()
                || replica == null
                || replica.incarnation() != command.incarnation()
                || replica.state() != ReplicaState.SYNCING) {
            return ControlResult.refused("stale catch-up report for " + command.group() + " at epoch " + command.epoch());
        }
        List<ReplicaAssignment> replicas = new ArrayList<>();
        for (ReplicaAssignment r : config.replicas()) {
            replicas.add(r == replica ? r.with(Role.BACKUP, ReplicaState.OK) : r);
        }
        put(config, replicas);
        return ControlResult.CHANGED;
    }

    /**
     * A pair primary asked to hand over holds nothing its backup does not: the roles swap, and both
     * instances stay, each with its state (see {@link GroupConfig#handover()}).
     */
    private ControlResult handedOver(HandedOver command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        if (config.mode().lockstep()) {
            return lockstepHandedOver(config, command);
        }
        ReplicaAssignment primary = config.primary();
        ReplicaAssignment backup = config.backup();
        if (config.epoch() != command.epoch()
                || !config.handover()
                || !primary.node().equals(command.node())
                || primary.incarnation() != command.incarnation()
                || backup == null
                || backup.state() != ReplicaState.OK) {
            return ControlResult.refused("stale hand-over report for " + command.group() + " at epoch " + command.epoch());
        }
        put(config, List.of(backup.with(Role.PRIMARY, ReplicaState.OK), primary.with(Role.BACKUP, ReplicaState.OK)));
        return ControlResult.CHANGED;
    }

    /**
     * A lockstep orderer asked to hand over (see {@link #moveLockstepOrderer}) holds nothing a member
     * in sync does not: its role moves now, and it leaves for a new member on its node. When the
     * move is no longer possible (its successor left meanwhile), the hand-over is called off and
     * the orderer orders again; the upgrade plans the move anew.
     */
    private ControlResult lockstepHandedOver(GroupConfig config, HandedOver command) {
        ReplicaAssignment primary = config.primary();
        if (config.epoch() != command.epoch() || !config.handover() || primary == null || !primary.node().equals(command.node())
                || primary.incarnation() != command.incarnation()) {
            return ControlResult.refused("stale hand-over report for " + command.group() + " at epoch " + command.epoch());
        }
        if (!lockstepOrdererLeaves(config)) {
            put(config, config.replicas());
        }
        return ControlResult.CHANGED;
    }

    /**
     * An upgrade (or its rollback) moves a lockstep orderer's role to a member in sync of the version
     * it moves to: first the orderer is asked to hand over, so that it stops ordering and every member
     * in sync holds its last entry (a member of the version left behind that held entries the next
     * orderer lacks would have to be rebuilt, and only the next orderer's version could rebuild it);
     * once it reports, {@link #lockstepHandedOver} moves the role. False when there is no such member.
     */
    private boolean moveLockstepOrderer(GroupConfig config) {
        if (config.handover()) {
            return false;
        }
        if (orderersSuccessor(config) == null) {
            return false;
        }
        requestHandover(config);
        return true;
    }

    /** The member in sync of the version the group's upgrade moves to that may take the orderer's role, or null. */
    private ReplicaAssignment orderersSuccessor(GroupConfig config) {
        long target = upgradeTarget(config);
        return config.replicas().stream().filter(r -> r.role() == Role.BACKUP && r.state() == ReplicaState.OK && r.version() == target
                && !draining.contains(r.node()) && isAlive(r) && mayOrder(config, r)).findFirst().orElse(null);
    }

    /**
     * The orderer leaves, its role moving to {@link #orderersSuccessor}, and a syncing member of the
     * version the upgrade moves to takes its place on its node (or, off a draining node, on the
     * emptiest one outside the group). False when no member can take the role or no node the place.
     */
    private boolean lockstepOrdererLeaves(GroupConfig config) {
        ReplicaAssignment primary = config.primary();
        ReplicaAssignment successor = orderersSuccessor(config);
        if (successor == null || successor.version() == primary.version()) {
            // None, or the upgrade turned around meanwhile and the orderer already runs its target.
            return false;
        }
        List<ReplicaAssignment> moved = new ArrayList<>();
        for (ReplicaAssignment r : without(config, primary)) {
            moved.add(r == successor ? r.with(Role.PRIMARY, ReplicaState.OK) : r);
        }
        GroupConfig after = new GroupConfig(config.group(), config.mode(), config.epoch(), moved, config.halted(), config.quarantined(),
                config.dispute());
        String node = draining.contains(primary.node()) ? emptiestOutside(after, countPerLiveNode(liveMembers(), false)) : primary.node();
        if (node == null) {
            return false;
        }
        moved.add(newBackup(after, members.get(node)));
        movePlanned(config, moved);
        return true;
    }

    /** Asks a pair group's primary to hand its role to its in-sync backup; see {@link GroupConfig#handover()}. */
    private void requestHandover(GroupConfig config) {
        groups.put(config.group(), new GroupConfig(config.group(), config.mode(), config.epoch() + 1, config.replicas(), config.halted(),
                config.quarantined(), config.dispute(), true, List.of()));
    }

    private ControlResult replicaFailed(ReplicaFailed command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        ReplicaAssignment primary = config.primary();
        ReplicaAssignment replica = config.replicaOn(command.node());
        if (config.epoch() != command.epoch()
                || primary == null
                || !primary.node().equals(command.reporter())
                || replica == null
                || replica.role() != Role.BACKUP) {
            return ControlResult.refused("stale failure report for " + command.group() + " at epoch " + command.epoch());
        }
        put(config, without(config, replica));
        return ControlResult.CHANGED;
    }

    /**
     * A lockstep member disagreed with the others: it leaves the group. When it is the orderer, an
     * in-sync member takes over; every in-sync member holds every released command.
     */
    private ControlResult replicaDiverged(ReplicaDiverged command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        ReplicaAssignment primary = config.primary();
        ReplicaAssignment replica = config.replicaOn(command.node());
        if (!config.mode().lockstep()
                || config.epoch() != command.epoch()
                || primary == null
                || !primary.node().equals(command.reporter())
                || replica == null) {
            return ControlResult.refused("stale divergence report for " + command.group() + " at epoch " + command.epoch());
        }
        rollBackIfNewVersionCrashed(config, replica, command.evidence());
        if (config.dispute() != null) {
            // The orderer judged with a majority (the referee's vote): the member found divergent leaves and the dispute is settled.
            config = new GroupConfig(config.group(), config.mode(), config.epoch(), config.replicas(), config.halted(), config.quarantined());
        }
        if (replica.role() == Role.BACKUP) {
            put(config, without(config, replica));
            return ControlResult.CHANGED;
        }
        ReplicaAssignment successor = promotable(config);
        if (successor == null) {
            // Nobody else holds a state known to be right (the partner left, or is still syncing
            // from this very orderer): stop releasing results rather than guess.
            if (config.halted() != null) {
                return ControlResult.UNCHANGED;
            }
            String evidence = "halted at entry " + command.index() + ": the orderer " + command.node()
                    + " diverged and no in-sync member can replace it: " + command.evidence();
            groups.put(config.group(), new GroupConfig(config.group(), config.mode(), config.epoch() + 1, config.replicas(), evidence,
                    config.quarantined(), config.dispute()));
            return ControlResult.CHANGED;
        }
        List<ReplicaAssignment> replicas = new ArrayList<>();
        for (ReplicaAssignment r : without(config, primary)) {
            replicas.add(r == successor ? r.with(Role.PRIMARY, ReplicaState.OK) : r);
        }
        put(config, replicas);
        return ControlResult.CHANGED;
    }

    /**
     * The two members of a DMR group disagree and no self-check shows which is wrong: a third member,
     * the referee, joins on another live node, rebuilt from a state both agreed on, and re-executes the
     * entry; the orderer then judges by majority. With no node to host a referee the group halts.
     */
    private ControlResult refereeNeeded(RefereeNeeded command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        ReplicaAssignment primary = config.primary();
        ReplicaAssignment other = config.replicaOn(command.other());
        if (config.mode() != Mode.DMR || config.epoch() != command.epoch() || primary == null
                || !primary.node().equals(command.reporter()) || other == null || other.role() != Role.BACKUP
                || other.state() != ReplicaState.OK) {
            return ControlResult.refused("stale referee request for " + command.group() + " at epoch " + command.epoch());
        }
        if (config.halted() != null || config.dispute() != null) {
            return ControlResult.UNCHANGED;
        }
        List<String> hosting = config.replicas().stream().map(ReplicaAssignment::node).toList();
        Member candidate = leastLoaded(liveMembers(), hosting, false);
        boolean nodeMayReturn = members.values().stream().anyMatch(m -> !m.alive() && !hosting.contains(m.id()) && !draining.contains(m.id()));
        if (candidate == null && !nodeMayReturn && config.replicas().size() <= config.mode().replicaCount()) {
            String evidence = "halted at entry " + command.index() + " by " + command.reporter() + ": " + command.evidence()
                    + "; no other node can host a referee to execute it again";
            groups.put(config.group(), new GroupConfig(config.group(), config.mode(), config.epoch() + 1, config.replicas(), evidence,
                    config.quarantined()));
            return ControlResult.CHANGED;
        }
        // With no live node for it now but one that is down, the referee joins when that node returns
        // (the placement step adds it); the group releases nothing meanwhile.
        List<ReplicaAssignment> replicas = new ArrayList<>(config.replicas());
        if (candidate != null && replicas.size() < config.mode().replicaCount() + 1) {
            // (A group moving a member off a draining node has its third member already: it referees.)
            // The referee runs the orderer's version, even during an upgrade: it may have to compare states.
            ReplicaAssignment referee = newBackup(config, candidate);
            replicas.add(new ReplicaAssignment(referee.node(), referee.incarnation(), referee.role(), referee.state(),
                    referee.sinceEpoch(), primary.version()));
        }
        groups.put(config.group(), new GroupConfig(config.group(), config.mode(), config.epoch() + 1, replicas, null,
                config.quarantined(), new Dispute(command.index(), primary.node(), other.node(), command.evidence())));
        return ControlResult.CHANGED;
    }

    /**
     * An operator chose which member of a halted group holds the right state: it alone stays, as
     * orderer, and the placement step adds fresh members rebuilt from it.
     */
    private ControlResult resumeGroup(ResumeGroup command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        if (config.halted() == null) {
            return ControlResult.refused("group " + command.group() + " is not halted; only a halted group can be resumed");
        }
        ReplicaAssignment trusted = config.replicaOn(command.trusted() == null ? "" : command.trusted());
        List<String> eligible = config.replicas().stream()
                .filter(r -> r.state() == ReplicaState.OK && isAlive(r)).map(ReplicaAssignment::node).toList();
        if (trusted == null || !eligible.contains(trusted.node())) {
            return ControlResult.refused("node " + command.trusted() + " holds no in-sync member of " + command.group()
                    + " on a live node; choose one of " + (eligible.isEmpty() ? "(none: no member can be trusted now)" : String.join(", ", eligible)));
        }
        groups.put(config.group(), new GroupConfig(config.group(), config.mode(), config.epoch() + 1,
                List.of(trusted.with(Role.PRIMARY, ReplicaState.OK)), null, config.quarantined(), null));
        return ControlResult.CHANGED;
    }

    /** A lockstep group stops releasing results; the halt outlives every change of its orderer. */
    private ControlResult groupHalted(GroupHalted command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        ReplicaAssignment primary = config.primary();
        if (!config.mode().lockstep() || config.epoch() != command.epoch() || primary == null || !primary.node().equals(command.reporter())) {
            return ControlResult.refused("stale halt report for " + command.group() + " at epoch " + command.epoch());
        }
        if (config.halted() != null) {
            return ControlResult.UNCHANGED;
        }
        String evidence = "halted at entry " + command.index() + " by " + command.reporter() + ": " + command.evidence();
        groups.put(config.group(), new GroupConfig(config.group(), config.mode(), config.epoch() + 1, config.replicas(), evidence,
                config.quarantined(), config.dispute()));
        return ControlResult.CHANGED;
    }

    /**
     * A replica crashed. Its poison command, if any, is quarantined in the same step as the replica
     * leaves, so the replica that takes over already refuses it when the client retries. A crashed
     * backup, or a crashed primary that an in-sync backup replaces, comes back as a syncing backup on
     * its node (rebuilt from the primary). A crashed primary with nobody to replace it comes back as a
     * new primary instance on its node, which recovers from the node's durable log: the poison never
     * reached that log, since a primary runs a command before it persists it.
     */
    private ControlResult replicaCrashed(ReplicaCrashed command) {
        GroupConfig config = groups.get(command.group());
        if (config == null) {
            return ControlResult.refused("unknown group " + command.group());
        }
        List<QuarantinedCommand> quarantined = new ArrayList<>(config.quarantined());
        boolean newPoison = command.poison() != null && config.quarantined(command.poison().session(), command.poison().sequence()) == null;
        if (newPoison) {
            quarantined.add(command.poison());
            while (quarantined.size() > GroupConfig.QUARANTINED_MAX) {
                quarantined.remove(0);
            }
        }
        long epoch = config.epoch() + 1;
        // Judged by the instance, not the epoch: the group may have changed for other reasons since
        // the crash (a backup caught up), and the crashed replica reports only once.
        ReplicaAssignment replica = config.replicaOn(command.node());
        if (replica == null
                || replica.incarnation() != command.incarnation()
                || replica.sinceEpoch() != command.sinceEpoch()
                || !isAlive(replica)) {
            if (!newPoison) {
                return ControlResult.refused("stale crash report for " + command.group() + " at epoch " + command.epoch());
            }
            // The replica was replaced meanwhile, but the command is still poison: its retries are refused from now on.
            groups.put(config.group(), new GroupConfig(config.group(), config.mode(), epoch, config.replicas(), config.halted(), quarantined,
                    config.dispute()));
            return ControlResult.CHANGED;
        }
        rollBackIfNewVersionCrashed(config, replica, command.reason());
        ReplicaAssignment successor = replica.role() == Role.PRIMARY ? promotable(config) : null;
        List<ReplicaAssignment> replicas = new ArrayList<>();
        for (ReplicaAssignment r : config.replicas()) {
            if (r == replica) {
                boolean staysPrimary = r.role() == Role.PRIMARY && successor == null;
                // A primary that stays recovers from its own log, in the format of its own version.
                replicas.add(new ReplicaAssignment(r.node(), r.incarnation(), staysPrimary ? Role.PRIMARY : Role.BACKUP,
                        staysPrimary ? ReplicaState.OK : ReplicaState.SYNCING, epoch,
                        staysPrimary ? r.version() : newReplicaVersion(afterCrash(config, r, successor))));
            } else {
                replicas.add(r == successor ? r.with(Role.PRIMARY, ReplicaState.OK) : r);
            }
        }
        if (replica.role() == Role.PRIMARY && successor == null) {
            replicas = recoveringOrdererKeeps(config, replicas, replica.version());
        }
        groups.put(config.group(), afterDispute(config, epoch, replicas, quarantined));
        return ControlResult.CHANGED;
    }

    /**
     * The members that stay beside a lockstep orderer that recovers from its own durable log during
     * an upgrade (nobody could replace it: see {@link #promotable}): only those of its own version.
     * Such an orderer holds no verified state to rebuild members from until a state check, and a
     * member of another version compares no state with it: with one in sync, no state would ever be
     * verified and no member could ever be rebuilt. Alone or with members of its version, it is
     * checked as without an upgrade; the members that left (which every released entry is also
     * durable on the orderer) are added back, rebuilt from its next verified state.
     */
    private static List<ReplicaAssignment> recoveringOrdererKeeps(GroupConfig config, List<ReplicaAssignment> replicas, long version) {
        if (!config.mode().lockstep()) {
            return replicas;
        }
        return new ArrayList<>(replicas.stream().filter(r -> r.version() == version).toList());
    }

    private ControlResult resolveIncident(ResolveIncident command) {
        Incident incident = incidents.all().get(command.id());
        boolean healed = incident != null && IncidentRules.healed(incident, this);
        return incidents.resolve(command.id(), command.how(), command.timeMillis(), healed);
    }

    /**
     * Gives every group whose primary is live the backups its mode asks for, as syncing replicas
     * on the least loaded live nodes that do not host the group yet.
     */
    private void addMissingBackups() {
        List<Member> live = liveMembers();
        for (GroupConfig config : List.copyOf(groups.values())) {
            ReplicaAssignment primary = config.primary();
            if (primary == null || !isAlive(primary) || config.replicas().size() >= config.replicasWanted()
                    || config.halted() != null) {
                // A halted group's states are kept as they are for diagnosis: nothing is rebuilt from them.
                continue;
            }
            List<String> hosting = new ArrayList<>(config.replicas().stream().map(ReplicaAssignment::node).toList());
            List<ReplicaAssignment> replicas = new ArrayList<>(config.replicas());
            Member candidate = leastLoaded(live, hosting, false);
            while (candidate != null && replicas.size() < config.replicasWanted()) {
                replicas.add(newBackup(config, candidate));
                hosting.add(candidate.id());
                candidate = leastLoaded(live, hosting, false);
            }
            if (replicas.size() > config.replicas().size()) {
                put(config, replicas);
            }
        }
    }

    /**
     * Spreads replicas, then pair primaries, over the live nodes, so that a node that returns (or
     * joins) gets its share again. One move at a time, and only in a quiet system: every group
     * fully protected on live nodes. A move leaves its group with a syncing replica, which holds
     * back the next move until it has caught up; each move narrows the gap between the most and
     * the least loaded node by two, so moves stop.
     *
     * <p>A backup moves by leaving its group and a syncing backup joining on the emptier node. A
     * primary moves by handing its role over to its in-sync backup (see {@link GroupConfig#handover()}):
     * it stops ordering until the backup holds everything, then stays as the backup, in sync, so the
     * group is never less protected. Its clients are redirected; nothing they were told succeeded is lost.
     *
     * <p>Only pair groups move to spread load: lockstep members are placed once and rebuilt where they
     * are, and leave a node only when it drains.
     */
    private void rebalance() {
        List<Member> live = liveMembers();
        if (live.isEmpty() || !quiet()) {
            return;
        }
        if (drainOne(live) || live.size() < 2) {
            return;
        }
        if (!moveBackup(live)) {
            movePrimary(live);
        }
    }

    /**
     * True when every group that serves is fully protected on live nodes (nothing is syncing or
     * lost) and no primary is handing over.
     */
    private boolean quiet() {
        for (GroupConfig config : groups.values()) {
            if (config.halted() == null && ((!config.fullyProtected() && !heldForBake(config)) || config.handover()
                    || !config.replicas().stream().allMatch(this::isAlive))) {
                return false;
            }
        }
        return true;
    }

    /**
     * True for a DMR group that keeps, through its upgrade's bake, its last member of the old version
     * beside two of the new one, all in sync (see {@link #finishDmrMoves}): it waits for the bake, and
     * the other groups may move meanwhile, as they could not while a member syncs.
     */
    private boolean heldForBake(GroupConfig config) {
        if (config.mode() != Mode.DMR || config.dispute() != null || config.replicas().size() != config.mode().replicaCount() + 1
                || !config.replicas().stream().allMatch(r -> r.state() == ReplicaState.OK)) {
            return false;
        }
        ServiceUpgrade upgrade = upgrades.get(config.group().service());
        return upgrade != null && bakeDue(upgrade) && config.primary().version() == upgrade.to().version()
                && config.replicas().stream().filter(r -> r.version() == upgrade.from().version()).count() == 1;
    }

    /**
     * Moves one replica off a draining node. A pair primary hands its role over to its backup when
     * that backup is on a node that stays (and then leaves as a backup). Any other replica, a TMR member included, is replaced by a
     * syncing one on the emptiest node outside its group, rebuilt as a repair rebuilds it; a TMR
     * orderer first hands its role to an in-sync member that stays. A TMR group so keeps two members
     * in sync throughout. A DMR group instead first gains a third member (its partner would otherwise
     * be the only one in sync meanwhile); {@link #finishDmrMoves} then lets the drained one go.
     */
    private boolean drainOne(List<Member> live) {
        Map<String, Integer> replicas = countPerLiveNode(live, false);
        for (String node : draining) {
            for (GroupConfig config : groups.values()) {
                ReplicaAssignment replica = config.replicaOn(node);
                if (replica == null || config.halted() != null) {
                    continue;
                }
                if (config.mode() == Mode.DMR) {
                    // Make before break: a third member joins elsewhere first, and the one on the
                    // draining node leaves once it is in sync (finishDmrMoves), so two members vote throughout.
                    String target = emptiestOutside(config, replicas);
                    if (target != null) {
                        List<ReplicaAssignment> grown = new ArrayList<>(config.replicas());
                        grown.add(newBackup(config, members.get(target)));
                        put(config, grown);
                        return true;
                    }
                    continue;
                }
                ReplicaAssignment successor = replica.role() == Role.PRIMARY ? inSyncOffDraining(config) : null;
                if (replica.role() == Role.PRIMARY && (successor == null || !config.mode().lockstep())) {
                    if (successor != null && swapPrimary(node, successor.node())) {
                        return true;
                    }
                    continue;
                }
                String target = emptiestOutside(config, replicas);
                if (target != null) {
                    List<ReplicaAssignment> moved = new ArrayList<>();
                    for (ReplicaAssignment r : without(config, replica)) {
                        moved.add(r == successor ? r.with(Role.PRIMARY, ReplicaState.OK) : r);
                    }
                    moved.add(newBackup(config, members.get(target)));
                    movePlanned(config, moved);
                    return true;
                }
            }
        }
        return false;
    }

    /** The live node with the fewest replicas that does not host the group yet, or null. */
    private static String emptiestOutside(GroupConfig config, Map<String, Integer> replicasPerLiveNode) {
        return replicasPerLiveNode.keySet().stream()
                .filter(n -> config.replicaOn(n) == null)
                .min((a, b) -> replicasPerLiveNode.get(a) - replicasPerLiveNode.get(b))
                .orElse(null);
    }

    /**
     * Ends the moves {@link #drainOne} and upgrades start for DMR groups: once a DMR group has three
     * members in sync and no dispute, the member on a draining node leaves (or during an upgrade one
     * of the old version, a backup first, or else the newest one), handing the orderer's role to an
     * in-sync member first if needed. During an upgrade, an orderer of the old version whose group
     * still has another old member hands its role to the new member and is replaced by a second new
     * one instead (see {@link #moveLockstepMember}).
     */
    private void finishDmrMoves() {
        for (GroupConfig config : List.copyOf(groups.values())) {
            if (config.mode() != Mode.DMR || config.dispute() != null || config.halted() != null
                    || config.replicas().size() <= config.mode().replicaCount()
                    || !config.replicas().stream().allMatch(r -> r.state() == ReplicaState.OK && isAlive(r))) {
                continue;
            }
            long target = upgradeTarget(config);
            ReplicaAssignment primary = config.primary();
            if (target > 0 && primary.version() != target && config.replicas().stream().anyMatch(r -> !mayOrder(config, r))) {
                // A member of the new version synced beside the old orderer: it votes with it until
                // proven (see mayOrder), and meanwhile nobody leaves, so that the old version keeps a
                // member of its own to tell which version answers differently.
                continue;
            }
            if (config.handover()) {
                // Its orderer hands over (see moveLockstepOrderer): nothing else moves meanwhile.
                continue;
            }
            boolean oldBackup = config.replicas().stream().anyMatch(r -> target > 0 && r.role() == Role.BACKUP && r.version() != target);
            ReplicaAssignment heir = inSyncOffDraining(config, target);
            if (target > 0 && primary.version() != target && oldBackup && heir != null && heir.version() == target
                    && moveLockstepOrderer(config)) {
                // An upgrade: the orderer's role moves to the member of the new version that just
                // synced, and a second one takes the old orderer's place, so that the new orderer has
                // one of its own version catching up while the last old member still votes; the
                // orderer hands over first (lockstepHandedOver makes the move).
                continue;
            }
            // During an upgrade a member of another version than the target leaves, a backup before the orderer.
            ReplicaAssignment outdated = config.replicas().stream().filter(r -> target > 0 && r.version() != target)
                    .min(java.util.Comparator.comparing(r -> r.role() == Role.PRIMARY)).orElse(null);
            ServiceUpgrade upgrade = upgrades.get(config.group().service());
            if (outdated != null && upgrade != null && bakeDue(upgrade) && primary.version() == target
                    && draining.stream().noneMatch(n -> config.replicaOn(n) != null)) {
                // The last member of the old version stays through the bake, ready to order again.
                continue;
            }
            ReplicaAssignment leaving = config.replicas().stream().filter(r -> draining.contains(r.node())).findFirst()
                    .orElseGet(() -> outdated != null ? outdated : config.replicas().stream().filter(r -> r.role() == Role.BACKUP)
                            .max(java.util.Comparator.comparingLong(ReplicaAssignment::sinceEpoch)).orElseThrow());
            ReplicaAssignment successor = leaving.role() == Role.PRIMARY ? inSyncOffDraining(config, target) : null;
            if (leaving.role() == Role.PRIMARY && successor == null) {
                continue;
            }
            List<ReplicaAssignment> kept = new ArrayList<>();
            for (ReplicaAssignment r : without(config, leaving)) {
                kept.add(r == successor ? r.with(Role.PRIMARY, ReplicaState.OK) : r);
            }
            movePlanned(config, kept);
        }
    }

    /** An in-sync backup of the group on a node that is not draining, or null. */
    private ReplicaAssignment inSyncOffDraining(GroupConfig config) {
        return inSyncOffDraining(config, -1);
    }

    /**
     * The same, one of version {@code preferredVersion} first when there is one. A member that may
     * not order yet (see {@link #mayOrder}) is never chosen: a planned move waits for its proof.
     */
    private ReplicaAssignment inSyncOffDraining(GroupConfig config, long preferredVersion) {
        ReplicaAssignment any = null;
        for (ReplicaAssignment replica : config.replicas()) {
            if (replica.role() == Role.BACKUP && replica.state() == ReplicaState.OK && !draining.contains(replica.node())
                    && mayOrder(config, replica)) {
                if (replica.version() == preferredVersion) {
                    return replica;
                }
                any = any == null ? replica : any;
            }
        }
        return any;
    }

    /**
     * Moves one backup from a node to one with at least two replicas fewer that does not host its
     * group yet: the emptiest such target first, then the fullest source.
     */
    private boolean moveBackup(List<Member> live) {
        Map<String, Integer> replicas = countPerLiveNode(live, false);
        List<String> emptiestFirst = replicas.keySet().stream().sorted((a, b) -> replicas.get(a) - replicas.get(b)).toList();
        for (String target : emptiestFirst) {
            for (String source : emptiestFirst.reversed()) {
                if (replicas.get(source) - replicas.get(target) < 2) {
                    break;
                }
                for (GroupConfig config : groups.values()) {
                    ReplicaAssignment backup = config.replicaOn(source);
                    if (!config.mode().lockstep() && backup != null && backup.role() == Role.BACKUP && config.replicaOn(target) == null) {
                        List<ReplicaAssignment> moved = new ArrayList<>(without(config, backup));
                        moved.add(newBackup(config, members.get(target)));
                        movePlanned(config, moved);
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private void movePrimary(List<Member> live) {
        Map<String, Integer> primaries = countPerLiveNode(live, true);
        // The controller leader's node is kept free of primaries (see deploy) when another node is
        // live: it gives its primaries away and receives none.
        Integer onLeader = controllerLeader == null ? null : primaries.remove(controllerLeader);
        if (primaries.isEmpty()) {
            return;
        }
        String least = emptiest(primaries);
        boolean fromLeader = onLeader != null && onLeader > 0;
        String most = fromLeader ? controllerLeader : fullest(primaries);
        if (!fromLeader && primaries.get(most) - primaries.get(least) < 2) {
            return;
        }
        // Prefer the group whose backup is on the emptiest node; off the leader, any will do.
        if (!swapPrimary(most, least) && fromLeader) {
            swapPrimary(most, null);
        }
    }

    /**
     * Asks the first pair group with its primary on {@code from} and an in-sync backup on {@code to}
     * (any, if null) to hand the primary's role over: the backup becomes primary and the old primary
     * stays, in sync, as its backup, so the group stays fully protected throughout.
     */
    private boolean swapPrimary(String from, String to) {
        for (GroupConfig config : groups.values()) {
            ReplicaAssignment primary = config.primary();
            ReplicaAssignment backup = config.backup();
            if (!config.mode().lockstep() && primary.node().equals(from) && backup != null && backup.state() == ReplicaState.OK
                    && (to == null || backup.node().equals(to))) {
                requestHandover(config);
                return true;
            }
        }
        return false;
    }

    /**
     * The group as a crash of {@code crashed} leaves it, before the crashed replica is rebuilt: without
     * it, and with {@code successor}, if any, as primary. The rebuilt replica's version is chosen from it.
     */
    private static GroupConfig afterCrash(GroupConfig config, ReplicaAssignment crashed, ReplicaAssignment successor) {
        List<ReplicaAssignment> rest = new ArrayList<>();
        for (ReplicaAssignment r : without(config, crashed)) {
            rest.add(r == successor ? r.with(Role.PRIMARY, ReplicaState.OK) : r);
        }
        return new GroupConfig(config.group(), config.mode(), config.epoch(), rest, config.halted(), config.quarantined(), config.dispute());
    }

    /** A new syncing backup instance on {@code member}, of the version new replicas of the group run. */
    private ReplicaAssignment newBackup(GroupConfig config, Member member) {
        return new ReplicaAssignment(member.id(), member.incarnation(), Role.BACKUP, ReplicaState.SYNCING, config.epoch() + 1,
                newReplicaVersion(config));
    }

    /**
     * The version a new replica of the group runs: during an upgrade, the one replicas move to;
     * but never an older version than its primary runs, which it would be rebuilt from (a rollback
     * whose way back a takeover just closed turns into an upgrade again in the same step).
     */
    private long newReplicaVersion(GroupConfig config) {
        return newReplicaVersion(config, config.primary());
    }

    /** As {@link #newReplicaVersion(GroupConfig)}, for a replica rebuilt from {@code source}. */
    private long newReplicaVersion(GroupConfig config, ReplicaAssignment source) {
        String service = config.group().service();
        ServiceUpgrade upgrade = upgrades.get(service);
        if (upgrade == null || !upgrade.active()) {
            return services.get(service).version();
        }
        if (source != null && config.dispute() != null) {
            // A referee judges states too, which only members of the orderer's version can compare.
            return source.version();
        }
        if (config.mode().lockstep() && source != null && upgrade.state() == ServiceUpgrade.State.UPGRADING
                && source.version() == upgrade.from().version()
                && config.replicas().stream().noneMatch(r -> r.role() == Role.BACKUP && r.version() == source.version())) {
            // A lockstep orderer of the old version keeps a member of its own version: without one,
            // nobody could tell a damaged orderer from a new version that answers differently, and
            // none of its states could be verified to rebuild members from. A member that replaces
            // its last one (a repair, or the third DMR member) runs the old version again.
            return source.version();
        }
        return source != null && source.version() == upgrade.to().version() ? source.version() : upgrade.target().version();
    }

    /** The version an active upgrade of the group's service moves replicas to, or -1 with none under way. */
    private long upgradeTarget(GroupConfig config) {
        ServiceUpgrade upgrade = upgrades.get(config.group().service());
        return upgrade != null && upgrade.active() && upgrade.state() != ServiceUpgrade.State.SHADOW ? upgrade.target().version() : -1;
    }

    /** Replicas (or primaries) on every live node, nodes without any included. */
    private Map<String, Integer> countPerLiveNode(List<Member> live, boolean primariesOnly) {
        Map<String, Integer> counts = new TreeMap<>();
        live.forEach(m -> counts.put(m.id(), 0));
        for (GroupConfig config : groups.values()) {
            for (ReplicaAssignment replica : config.replicas()) {
                if (counts.containsKey(replica.node()) && (!primariesOnly || replica.role() == Role.PRIMARY)) {
                    counts.merge(replica.node(), 1, Integer::sum);
                }
            }
        }
        return counts;
    }

    /** The node with the most, ties to the first id. */
    private static String fullest(Map<String, Integer> counts) {
        String best = null;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (best == null || e.getValue() > counts.get(best)) {
                best = e.getKey();
            }
        }
        return best;
    }

    /** The node with the fewest, ties to the first id. */
    private static String emptiest(Map<String, Integer> counts) {
        String best = null;
        for (Map.Entry<String, Integer> e : counts.entrySet()) {
            if (best == null || e.getValue() < counts.get(best)) {
                best = e.getKey();
            }
        }
        return best;
    }

    /** Live members that may receive replicas: not being drained. */
    private List<Member> liveMembers() {
        return members.values().stream().filter(m -> m.alive() && !draining.contains(m.id())).toList();
    }

    /** The live member outside {@code excluded} hosting the fewest primaries (or replicas); ties by id. */
    private Member leastLoaded(List<Member> candidates, List<String> excluded, boolean byPrimaries) {
        Map<String, int[]> load = new TreeMap<>();
        for (GroupConfig config : groups.values()) {
            for (ReplicaAssignment replica : config.replicas()) {
                int[] counts = load.computeIfAbsent(replica.node(), k -> new int[2]);
                counts[0] += replica.role() == Role.PRIMARY ? 1 : 0;
                counts[1] += 1;
            }
        }
        Member best = null;
        long bestScore = Long.MAX_VALUE;
        for (Member member : candidates) {
            if (excluded.contains(member.id())) {
                continue;
            }
            int[] counts = load.getOrDefault(member.id(), new int[2]);
            long score = byPrimaries ? (long) counts[0] * 1_000_000 + counts[1] : counts[1];
            if (score < bestScore) {
                best = member;
                bestScore = score;
            }
        }
        return best;
    }

    private static List<ReplicaAssignment> without(GroupConfig config, ReplicaAssignment removed) {
        List<ReplicaAssignment> replicas = new ArrayList<>(config.replicas());
        replicas.remove(removed);
        return replicas;
    }

    /** Every change of a group's replicas or roles raises its epoch. */
    private void put(GroupConfig config, List<ReplicaAssignment> replicas) {
        groups.put(config.group(), afterDispute(config, config.epoch() + 1, replicas, config.quarantined()));
    }

    /**
     * As {@link #put}, for a change the controller makes by plan (a move, a drain, an upgrade step):
     * the replicas it takes out are recorded as moved out, not lost to a fault.
     */
    private void movePlanned(GroupConfig config, List<ReplicaAssignment> replicas) {
        List<ReplicaAssignment> out = config.replicas().stream().filter(r -> replicas.stream().noneMatch(r::sameInstance)).toList();
        groups.put(config.group(), afterDispute(config, config.epoch() + 1, replicas, config.quarantined()).withMovedOut(out));
    }

    /**
     * The group's next configuration. A dispute stays open while both its parties stay the same
     * replicas. When either leaves or is rebuilt before the referee settled it (a node died, a
     * member failed or crashed), the one left may be the wrong one, and nothing can tell any more:
     * the group halts rather than let it release its results of the disputed entries. (A party the
     * referee outvoted leaves through {@link #replicaDiverged}, which settles the dispute first.)
     */
    private static GroupConfig afterDispute(GroupConfig config, long epoch, List<ReplicaAssignment> replicas,
            List<QuarantinedCommand> quarantined) {
        Dispute dispute = config.dispute();
        if (dispute == null || dispute.partiesStayFrom(config, replicas)) {
            return new GroupConfig(config.group(), config.mode(), epoch, replicas, config.halted(), quarantined, dispute);
        }
        String halted = config.halted() != null ? config.halted()
                : "halted at entry " + dispute.index() + ": " + dispute.evidence() + "; a member of the dispute left before a referee"
                        + " settled it, and nothing shows whether the one left is right";
        return new GroupConfig(config.group(), config.mode(), epoch, replicas, halted, quarantined, null);
    }

    /** Checks the structural invariants; called after every command. */
    public void checkInvariants() {
        incidents.checkInvariants();
        Invariants.check(alerts.size() <= ALERTS_KEPT_MAX, "%d alert records kept", alerts.size());
        long previousSeq = 0;
        for (AlertRecord alert : alerts) {
            Invariants.check(alert.seq() > previousSeq && alert.seq() <= alertsRecorded, "alert record %s has seq %d out of order",
                    alert.alertId(), alert.seq());
            previousSeq = alert.seq();
        }
        Invariants.check(faults.size() <= FAULTS_KEPT_MAX, "%d fault records kept", faults.size());
        long previousFaultSeq = 0;
        for (FaultRecord fault : faults) {
            Invariants.check(fault.seq() > previousFaultSeq && fault.seq() <= faultsRecorded, "fault record %s has seq %d out of order",
                    fault.faultId(), fault.seq());
            // Its node may have been removed since; the record itself stays as valid as when it was taken.
            Invariants.check(fault.problem() == null, "fault record %s kept although: %s", fault.faultId(), fault.problem());
            previousFaultSeq = fault.seq();
        }
        for (GroupConfig config : groups.values()) {
            Invariants.check(config.epoch() >= 1, "group %s has epoch %d", config.group(), config.epoch());
            Invariants.check(services.containsKey(config.group().service()), "group %s has no service", config.group());
            long primaries = config.replicas().stream().filter(r -> r.role() == Role.PRIMARY).count();
            Invariants.check(primaries == 1, "group %s has %d primaries", config.group(), primaries);
            Invariants.check(config.primary().state() == ReplicaState.OK, "group %s has a syncing primary", config.group());
            // A DMR group grows to three for a referee, or while a member moves off a draining node.
            // A group in mode none gains a second replica to hand over to during an upgrade.
            Invariants.check(config.replicas().size() <= config.mode().replicaCount() + (config.mode() == Mode.DMR || config.mode() == Mode.NONE ? 1 : 0),
                    "group %s has %d replicas in mode %s", config.group(), config.replicas().size(), config.mode());
            if (config.dispute() != null) {
                Invariants.check(config.mode() == Mode.DMR, "group %s in mode %s has a dispute", config.group(), config.mode());
                Invariants.check(config.replicaOn(config.dispute().orderer()) != null && config.replicaOn(config.dispute().other()) != null,
                        "group %s keeps a dispute whose party left", config.group());
            }
            long distinctNodes = config.replicas().stream().map(ReplicaAssignment::node).distinct().count();
            Invariants.check(distinctNodes == config.replicas().size(), "group %s has two replicas on one node", config.group());
            for (ReplicaAssignment replica : config.replicas()) {
                Invariants.check(members.containsKey(replica.node()), "group %s is placed on unknown node %s", config.group(), replica.node());
                Invariants.check(replica.sinceEpoch() <= config.epoch(), "group %s replica joined in the future", config.group());
                Invariants.check(specFor(config.group().service(), replica.version()) != null,
                        "group %s has a replica of version %d, which is neither current nor part of an upgrade", config.group(),
                        replica.version());
            }
        }
    }

    /** A deep copy, for simulators and tests that need to keep an old state. */
    public ControllerState copy() {
        return new ControllerState(systemId, version, controllerLeader, members.values(), services.values(), groups.values(), draining,
                incidents.all().values(), incidents.nextId(), upgrades.values(), alerts, alertsRecorded, faults, faultsRecorded);
    }

    /** True when every group of every service is fully protected with a live primary. */
    public boolean allGroupsHealthy() {
        for (GroupConfig config : groups.values()) {
            if (!config.fullyProtected() || !config.replicas().stream().allMatch(this::isAlive)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String toString() {
        return "ControllerState{system=" + systemId + ", version=" + version + ", leader=" + controllerLeader + ", members=" + members.values()
                + ", draining=" + draining
                + ", groups=" + groups.values()
                + ", incidents=" + incidents.all().values()
                + ", upgrades=" + upgrades.values() + "}";
    }
}
