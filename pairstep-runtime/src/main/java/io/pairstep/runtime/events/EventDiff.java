package io.pairstep.runtime.events;

import static io.pairstep.runtime.events.Change.fields;

import io.pairstep.core.GroupId;
import io.pairstep.core.control.AlertRecord;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.FaultRecord;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.Incident;
import io.pairstep.core.control.IncidentState;
import io.pairstep.core.control.Member;
import io.pairstep.core.control.QuarantinedCommand;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.core.control.ServiceUpgrade;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Finds what changed between two controller states, as events.
 *
 * <p>Pure: the result depends only on the two states, so every node, which applies the same
 * sequence of controller states, derives the same events in the same order. The order inside one
 * diff is fixed too: the controller's leader, then members by id, then services by name, then
 * groups by service and partition, then incidents by id, then threshold alerts in the order the
 * controller recorded them, then injected faults in the order the controller recorded them.
 */
public final class EventDiff {

    /** What the controller state says about why a node went down: nothing, today. */
    static final String REASON_UNKNOWN = "not recorded in the controller state";

    private EventDiff() {}

    /** The changes from {@code before} to {@code after}; {@code before} may be an empty state. */
    public static List<Change> between(ControllerState before, ControllerState after) {
        Objects.requireNonNull(before, "before");
        Objects.requireNonNull(after, "after");
        List<Change> changes = new ArrayList<>();
        controllerLeader(before, after, changes);
        members(before, after, changes);
        services(before, after, changes);
        upgrades(before, after, changes);
        groups(before, after, changes);
        incidents(before, after, changes);
        alerts(before, after, changes);
        faults(before, after, changes);
        return changes;
    }

    private static void controllerLeader(ControllerState before, ControllerState after, List<Change> changes) {
        String was = before.controllerLeader();
        String now = after.controllerLeader();
        if (now == null || now.equals(was)) {
            return;
        }
        changes.add(new Change(Change.CONTROLLER_LEADER, now, "controller",
                now + " leads the controller" + (was == null ? "" : " (was " + was + ")"),
                was == null ? fields("leader", now) : fields("leader", now, "previous", was)));
    }

    private static void members(ControllerState before, ControllerState after, List<Change> changes) {
        for (Member now : after.members().values()) {
            Member was = before.members().get(now.id());
            if (was == null) {
                if (now.alive()) {
                    changes.add(up(now, false));
                } else {
                    changes.add(down(now));
                }
                continue;
            }
            if (now.incarnation() != was.incarnation()) {
                // A new process: the old one is gone, whether or not it was declared down first.
                if (was.alive()) {
                    changes.add(new Change(Change.NODE_DOWN, was.id(), was.id(),
                            was.id() + " incarnation " + was.incarnation() + " (pid " + was.pid()
                                    + ") is gone: a new process of the node registered",
                            fields("incarnation", was.incarnation(), "pid", was.pid(), "reason", "replaced by a new incarnation")));
                }
                changes.add(now.alive() ? up(now, true) : down(now));
                continue;
            }
            if (was.alive() && !now.alive()) {
                changes.add(down(now));
            } else if (!was.alive() && now.alive()) {
                changes.add(up(now, true));
            }
        }
        for (Member was : before.members().values()) {
            if (!after.members().containsKey(was.id())) {
                changes.add(new Change(Change.NODE_DOWN, was.id(), was.id(), was.id() + " was removed from the system",
                        fields("incarnation", was.incarnation(), "pid", was.pid(), "reason", "removed")));
            }
        }
    }

    private static Change up(Member member, boolean again) {
        return new Change(Change.NODE_UP, member.id(), member.id(),
                member.id() + (again ? " is up again" : " joined the system") + " (incarnation " + member.incarnation()
                        + ", pid " + member.pid() + ", http " + member.http() + ")",
                fields("incarnation", member.incarnation(), "pid", member.pid(), "http", member.http(), "rpc", member.rpc()));
    }

    private static Change down(Member member) {
        return new Change(Change.NODE_DOWN, member.id(), member.id(),
                member.id() + " is down (incarnation " + member.incarnation() + ", pid " + member.pid()
                        + "); the reason is " + REASON_UNKNOWN,
                fields("incarnation", member.incarnation(), "pid", member.pid(), "reason", REASON_UNKNOWN));
    }

    private static void services(ControllerState before, ControllerState after, List<Change> changes) {
        for (ServiceSpec now : after.services().values()) {
            ServiceSpec was = before.services().get(now.name());
            if (was == null) {
                changes.add(new Change(Change.SERVICE_DEPLOYED, null, now.name(),
                        now.name() + " deployed: version " + now.version() + ", mode " + now.mode().label() + ", "
                                + now.partitions() + (now.partitions() == 1 ? " partition" : " partitions") + ", " + now.artifact(),
                        serviceFields(now)));
            } else if (!was.equals(now)) {
                changes.add(new Change(Change.SERVICE_CHANGED, null, now.name(),
                        now.name() + " changed: version " + was.version() + " to " + now.version() + ", " + now.artifact(),
                        serviceFields(now)));
            }
        }
        for (ServiceSpec was : before.services().values()) {
            if (!after.services().containsKey(was.name())) {
                changes.add(new Change(Change.SERVICE_REMOVED, null, was.name(), was.name() + " was removed",
                        fields("version", was.version())));
            }
        }
    }

    private static void upgrades(ControllerState before, ControllerState after, List<Change> changes) {
        for (ServiceUpgrade now : after.upgrades().values()) {
            ServiceUpgrade was = before.upgrades().get(now.service());
            if (now.equals(was)) {
                continue;
            }
            String versions = "version " + now.from().version() + " to " + now.to().version();
            String message = switch (now.state()) {
                case UPGRADING -> was == null || !was.active() || was.to().version() != now.to().version()
                        || was.state() == ServiceUpgrade.State.SHADOW
                        ? (was != null && was.state() == ServiceUpgrade.State.SHADOW ? "no output differed in shadow mode; " : "")
                                + "upgrade from " + versions + " started (" + now.to().artifact() + "): "
                                + (now.from().mode().lockstep() ? "the members other than the orderer first, then the orderers"
                                        : "backups first, then each primary hands over to its new backup, then the old primaries are replaced")
                        : was.state() == ServiceUpgrade.State.BAKING
                        ? (now.baked() ? "bake of version " + now.to().version() + " ended: the version " + now.from().version()
                                + " backups are replaced now"
                                : "a version " + now.from().version() + " backup took over while baking: primaries hand over again")
                        : "upgrade from " + versions + " goes on: " + now.reason();
                case BAKING -> "every primary runs version " + now.to().version() + "; the version " + now.from().version()
                        + " backups stay, ready to take back over, for " + now.bakeMillis() / 1000 + " s";
                case SHADOW -> was == null || was.state() != ServiceUpgrade.State.SHADOW || was.to().version() != now.to().version()
                        ? "upgrade from " + versions + " started in shadow mode (" + now.to().artifact() + "): each backup runs version "
                                + now.to().version() + " beside its own for " + now.shadow() + " commands"
                        : "shadow run of version " + now.to().version() + " ended on " + now.shadowed().size() + " of "
                                + after.services().get(now.service()).partitions() + " partitions";
                case SHADOW_DIFFERED -> "upgrade from " + versions + " stopped: " + now.reason() + ": " + String.join("; ", now.differences());
                case ROLLING_BACK -> "upgrade from " + versions + " rolls back: " + now.reason();
                case DONE -> "upgrade from " + versions + " done: every replica runs version " + now.to().version();
                case ROLLED_BACK -> "upgrade from " + versions + " rolled back: every replica runs version " + now.from().version()
                        + " again (" + now.reason() + ")";
            };
            changes.add(new Change(Change.SERVICE_UPGRADE, null, now.service(), now.service() + ": " + message,
                    fields("from", now.from().version(), "to", now.to().version(), "state", now.state().label(),
                            "reason", now.reason() == null ? "" : now.reason())));
        }
    }

    private static java.util.Map<String, Object> serviceFields(ServiceSpec spec) {
        return fields("version", spec.version(), "mode", spec.mode().label(), "partitions", spec.partitions(),
                "artifact", spec.artifact(), "digest", spec.artifactDigest());
    }

    private static void groups(ControllerState before, ControllerState after, List<Change> changes) {
        for (GroupConfig now : after.groups().values()) {
            GroupConfig was = before.groups().get(now.group());
            if (was == null) {
                placed(now, changes);
            } else {
                group(after, was, now, changes);
                quarantined(was, now, changes);
                halted(was, now, changes);
            }
        }
        for (GroupConfig was : before.groups().values()) {
            if (!after.groups().containsKey(was.group())) {
                String component = component(was.group());
                changes.add(new Change(Change.GROUP_REMOVED, null, component, component + " was removed",
                        fields("epoch", was.epoch())));
            }
        }
    }

    private static void placed(GroupConfig group, List<Change> changes) {
        String component = component(group.group());
        StringBuilder message = new StringBuilder(component).append(" placed:");
        List<String> nodes = new ArrayList<>();
        for (ReplicaAssignment replica : group.replicas()) {
            message.append(nodes.isEmpty() ? " " : ", ").append(label(replica.role())).append(' ').append(replica.node());
            nodes.add(replica.node());
        }
        message.append(" (epoch ").append(group.epoch()).append(')');
        ReplicaAssignment primary = group.primary();
        changes.add(new Change(Change.GROUP_PLACED, primary == null ? null : primary.node(), component, message.toString(),
                fields("service", group.group().service(), "partition", group.group().partition(), "epoch", group.epoch(),
                        "primary", primary == null ? "" : primary.node(), "replicas", String.join(",", nodes))));
    }

    private static void group(ControllerState after, GroupConfig was, GroupConfig now, List<Change> changes) {
        String component = component(now.group());
        ReplicaAssignment oldPrimary = was.primary();
        ReplicaAssignment newPrimary = now.primary();
        boolean primaryChanged = newPrimary != null && !newPrimary.sameInstance(oldPrimary);
        if (primaryChanged) {
            if (oldPrimary != null && !oldPrimary.node().equals(newPrimary.node())) {
                // A hand-over (planned: a move, a drain, an upgrade) keeps the old primary as the backup.
                boolean handover = now.replicas().stream().anyMatch(r -> r.sameInstance(oldPrimary) && r.role() == Role.BACKUP);
                changes.add(new Change(Change.TAKEOVER, newPrimary.node(), component,
                        component + ": " + newPrimary.node() + " took over from " + oldPrimary.node()
                                + (handover ? " by hand-over; " + oldPrimary.node() + " stays as its backup" : "") + " (epoch " + was.epoch()
                                + " to " + now.epoch() + ")",
                        groupFields(now, "from", oldPrimary.node(), "to", newPrimary.node(), "previousEpoch", was.epoch(),
                                "handover", handover)));
            } else {
                changes.add(new Change(Change.PRIMARY_RECOVERED, newPrimary.node(), component,
                        component + ": " + newPrimary.node() + " is primary again in a new process and recovers from its own log"
                                + " (epoch " + now.epoch() + ")",
                        groupFields(now, "to", newPrimary.node(), "previousEpoch", was.epoch())));
            }
        }
        for (ReplicaAssignment old : was.replicas()) {
            if (find(now, old) != null || (primaryChanged && old.sameInstance(oldPrimary))) {
                continue;
            }
            Member member = after.members().get(old.node());
            boolean nodeGone = member == null || !member.alive() || member.incarnation() != old.incarnation();
            // The controller state does not say which of the two it was; a crash also quarantines its poison, if any.
            String why = nodeGone ? "its node is down"
                    : now.movedOut(old) ? "moved by the controller (to spread load, off a draining node, or an upgrade step)"
                    : "it crashed or stopped acknowledging its primary";
            changes.add(new Change(Change.REPLICA_REMOVED, old.node(), component,
                    component + ": the " + label(old.role()) + " on " + old.node() + " was removed: " + why + " (epoch " + now.epoch() + ")",
                    groupFields(now, "replicaNode", old.node(), "role", label(old.role()), "reason", why)));
        }
        for (ReplicaAssignment replica : now.replicas()) {
            ReplicaAssignment old = find(was, replica);
            if (old == null) {
                if (primaryChanged && replica.sameInstance(newPrimary)) {
                    continue;
                }
                changes.add(new Change(Change.REPLICA_INSERTED, replica.node(), component,
                        component + ": new " + label(replica.role()) + " on " + replica.node() + ", " + label(replica.state())
                                + " (epoch " + now.epoch() + ")",
                        groupFields(now, "replicaNode", replica.node(), "role", label(replica.role()), "state", label(replica.state()),
                                "version", replica.version())));
            } else if (old.state() == ReplicaState.SYNCING && replica.state() == ReplicaState.OK) {
                changes.add(new Change(Change.REPLICA_SYNCED, replica.node(), component,
                        component + ": the " + label(replica.role()) + " on " + replica.node() + " is in sync (epoch " + now.epoch() + ")",
                        groupFields(now, "replicaNode", replica.node(), "role", label(replica.role()), "state", label(replica.state()))));
            }
        }
    }

    /** An incident opened, or its latest update; pruned incidents go unmentioned. */
    private static void incidents(ControllerState before, ControllerState after, List<Change> changes) {
        for (Incident now : after.incidents().all().values()) {
            Incident was = before.incidents().all().get(now.id());
            if (was != null && was.history().equals(now.history())) {
                continue;
            }
            String type = was == null ? Change.INCIDENT_OPENED : switch (now.state()) {
                case ACKNOWLEDGED -> was.state() == IncidentState.ACKNOWLEDGED ? Change.INCIDENT_UPDATED : Change.INCIDENT_ACKNOWLEDGED;
                case RESOLVED -> Change.INCIDENT_RESOLVED;
                case OPEN -> Change.INCIDENT_UPDATED;
            };
            String message = "incident " + now.id() + " (" + now.kind().label() + " " + now.component() + "): "
                    + now.history().getLast().message();
            changes.add(new Change(type, now.component().node(), now.component().toString(), message,
                    fields("incident", now.id(), "kind", now.kind().label(), "state", now.state().label())));
        }
    }

    /**
     * The threshold alerts recorded since {@code before}: those with a higher seq than its last. The
     * controller keeps only the latest {@link ControllerState#ALERTS_KEPT_MAX}, so a node that skips
     * over more than that at once sees only the kept ones.
     */
    private static void alerts(ControllerState before, ControllerState after, List<Change> changes) {
        for (AlertRecord alert : after.alerts()) {
            if (alert.seq() <= before.alertsRecorded()) {
                continue;
            }
            String type = AlertRecord.FIRED.equals(alert.transition()) ? Change.THRESHOLD_FIRED : Change.THRESHOLD_CLEARED;
            changes.add(new Change(type, alert.node(), alert.component(), alert.summary(),
                    fields("alert", alert.alertId(), "metric", alert.metric(), "subject", alert.subject(), "value", alert.value(),
                            "level", alert.level(), "direction", alert.direction(), "holdMillis", alert.holdMillis(),
                            "timeMillis", alert.timeMillis())));
        }
    }

    /**
     * The faults injected since {@code before}: those with a higher seq than its last, each about the
     * node it hit and, for a replica fault, its group. Bounded like {@link #alerts}.
     */
    private static void faults(ControllerState before, ControllerState after, List<Change> changes) {
        for (FaultRecord fault : after.faults()) {
            if (fault.seq() <= before.faultsRecorded()) {
                continue;
            }
            java.util.Map<String, Object> fields = fields("fault", fault.faultId(), "kind", fault.kind(), "target", fault.node());
            StringBuilder message = new StringBuilder("fault injected: ").append(fault.kind()).append(' ');
            String component;
            if (fault.replicaFault()) {
                component = fault.service() + "/" + fault.partition();
                fields.put("service", fault.service());
                fields.put("partition", fault.partition());
                message.append(component).append(" on ").append(fault.node());
            } else {
                component = fault.node();
                message.append(fault.node());
            }
            if (fault.seed() != null) {
                fields.put("seed", fault.seed());
                message.append(" (seed ").append(fault.seed()).append(')');
            }
            if (fault.delayMillis() != null) {
                fields.put("ms", fault.delayMillis());
                message.append(" (").append(fault.delayMillis()).append(" ms per command)");
            }
            fields.put("outcome", fault.outcome());
            fields.put("requestedBy", fault.requestedBy());
            fields.put("timeMillis", fault.timeMillis());
            message.append(", asked through ").append(fault.requestedBy());
            if (!fault.outcome().isEmpty()) {
                message.append(": ").append(fault.outcome());
            }
            changes.add(new Change(Change.FAULT_INJECTED, fault.node(), component, message.toString(), fields));
        }
    }

    private static void quarantined(GroupConfig was, GroupConfig now, List<Change> changes) {
        String component = component(now.group());
        for (QuarantinedCommand poison : now.quarantined()) {
            if (was.quarantined(poison.session(), poison.sequence()) != null) {
                continue;
            }
            changes.add(new Change(Change.COMMAND_QUARANTINED, poison.node(), component,
                    component + ": command " + poison.sequence() + " of session " + Long.toHexString(poison.session())
                            + " is quarantined as poison: it crashed the replica on " + poison.node() + " (" + poison.reason() + ")",
                    groupFields(now, "session", Long.toHexString(poison.session()), "sequence", poison.sequence(), "payload",
                            poison.payload(), "replicaNode", poison.node(), "reason", poison.reason())));
        }
    }

    /** A lockstep group stopped releasing results: the reason names the entry, the service and what the command asked. */
    private static void halted(GroupConfig was, GroupConfig now, List<Change> changes) {
        String component = component(now.group());
        ReplicaAssignment primary = now.primary();
        if (was.dispute() == null && now.dispute() != null) {
            String referee = now.replicas().stream().map(ReplicaAssignment::node)
                    .filter(node -> !node.equals(now.dispute().orderer()) && !node.equals(now.dispute().other())).findFirst().orElse("?");
            changes.add(new Change(Change.GROUP_DISPUTED, primary == null ? null : primary.node(), component,
                    component + ": " + now.dispute().orderer() + " and " + now.dispute().other() + " disagree at entry " + now.dispute().index()
                            + "; a referee on " + referee + " executes it again (epoch " + now.epoch() + ")",
                    groupFields(now, "index", now.dispute().index(), "orderer", now.dispute().orderer(), "other", now.dispute().other(),
                            "referee", referee, "evidence", now.dispute().evidence())));
        }
        if (was.halted() != null && now.halted() == null) {
            changes.add(new Change(Change.GROUP_RESUMED, primary == null ? null : primary.node(), component,
                    component + " resumed from its member on " + (primary == null ? "?" : primary.node()) + " (epoch " + now.epoch() + ")",
                    groupFields(now, "trusted", primary == null ? "" : primary.node(), "haltedFor", was.halted())));
        }
        if (was.halted() != null || now.halted() == null) {
            return;
        }
        changes.add(new Change(Change.GROUP_HALTED, primary == null ? null : primary.node(), component,
                component + " releases no more results: " + now.halted() + " (epoch " + now.epoch() + ")",
                groupFields(now, "reason", now.halted())));
    }

    private static java.util.Map<String, Object> groupFields(GroupConfig group, Object... more) {
        java.util.Map<String, Object> map = fields("service", group.group().service(), "partition", group.group().partition(),
                "epoch", group.epoch());
        map.putAll(fields(more));
        return map;
    }

    /** The replica of {@code group} that is the same instance as {@code replica}, or null. */
    private static ReplicaAssignment find(GroupConfig group, ReplicaAssignment replica) {
        for (ReplicaAssignment candidate : group.replicas()) {
            if (candidate.sameInstance(replica)) {
                return candidate;
            }
        }
        return null;
    }

    static String component(GroupId group) {
        return group.service() + "/" + group.partition();
    }

    private static String label(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
