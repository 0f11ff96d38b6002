package io.pairstep.core.control;

import io.pairstep.core.GroupId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which faults open an incident and when an incident's component is healed, read from controller
 * states only. Pure, so the controller leader and the controller itself reach the same verdict.
 *
 * <p>A node that is down and a halted group are faults of the state itself, so they are found
 * whenever the leader looks, even by a leader elected after the fault. An isolated replica shows
 * only in the change between two states (its group is rebuilt at once), so it is found only by the
 * node that leads when that change is applied.
 */
public final class IncidentRules {

    private IncidentRules() {}

    /** The faults of {@code after} (and of the change from {@code before}) that no unresolved incident records yet. */
    public static List<IncidentReport> detect(ControllerState before, ControllerState after) {
        List<IncidentReport> found = new ArrayList<>();
        Incidents incidents = after.incidents();
        for (Member member : after.members().values()) {
            Member was = before.members().get(member.id());
            boolean down = !member.alive();
            // A process that came back before anyone declared it down was down all the same.
            boolean replaced = was != null && was.alive() && was.incarnation() != member.incarnation();
            if ((down || replaced) && incidents.unresolved(IncidentKind.NODE_DOWN, IncidentComponent.node(member.id())) == null) {
                found.add(nodeDown(after, down ? member : was, replaced && !down));
            }
        }
        for (GroupConfig group : after.groups().values()) {
            GroupConfig was = before.groups().get(group.group());
            if (group.halted() != null
                    && incidents.unresolved(IncidentKind.GROUP_HALTED, IncidentComponent.group(group.group())) == null) {
                found.add(groupHalted(group));
            }
            if (was != null) {
                isolated(after, was, group, found);
            }
        }
        return found;
    }

    private static IncidentReport nodeDown(ControllerState state, Member member, boolean restarted) {
        List<String> hosted = new ArrayList<>();
        for (GroupConfig group : state.groups().values()) {
            if (group.replicaOn(member.id()) != null) {
                hosted.add(group.group().toString());
            }
        }
        String what = "node " + member.id() + " (incarnation " + member.incarnation() + ", pid " + member.pid() + ", http "
                + member.http() + ") " + (restarted ? "stopped and a new process of it registered before it was declared down"
                        : "is down: it stopped renewing its lease with the controller or its connections broke")
                + (hosted.isEmpty() ? "" : "; it still holds replicas of " + String.join(", ", hosted));
        return new IncidentReport(IncidentKind.NODE_DOWN, IncidentComponent.node(member.id()), what, List.of(), null,
                "Find out why process " + member.pid() + " of " + member.id() + " stopped: read the node's log (DATA/node.log"
                        + " for a local system) and the host's system log (out of memory, killed, hardware). Start the node again"
                        + " (pairstep cluster start-node --id " + member.id() + " for a local system); the incident resolves by"
                        + " itself once the node is up. If it stops again, take the host out of service.");
    }

    private static IncidentReport groupHalted(GroupConfig group) {
        return new IncidentReport(IncidentKind.GROUP_HALTED, IncidentComponent.group(group.group()),
                group.group() + " (" + group.mode().label() + ") halted and releases no result: " + group.halted(), List.of(), null,
                "Compare the dump files of the members under each node's DATA/dumps/ and find which member is wrong;"
                        + " clients of " + group.group().service() + " get errors until the group is resumed or redeployed.");
    }

    /**
     * A replica instance that left its group while its node stayed up in the same process, other
     * than by a move the controller planned (see {@link GroupConfig#movedOut()}).
     */
    private static void isolated(ControllerState after, GroupConfig was, GroupConfig now, List<IncidentReport> found) {
        for (ReplicaAssignment old : was.replicas()) {
            boolean stillThere = now.replicas().stream().anyMatch(old::sameInstance);
            Member member = after.members().get(old.node());
            boolean nodeUp = member != null && member.alive() && member.incarnation() == old.incarnation();
            IncidentComponent component = IncidentComponent.replica(now.group(), old.node());
            if (stillThere || !nodeUp || now.movedOut(old) || after.incidents().unresolved(IncidentKind.REPLICA_ISOLATED, component) != null) {
                continue;
            }
            String role = old.role() == Role.PRIMARY ? (now.mode().lockstep() ? "orderer" : "primary") : (now.mode().lockstep() ? "member" : "backup");
            String why = now.mode().lockstep()
                    ? "it was outvoted or failed a self-check, or stopped answering the orderer"
                    : "it stopped acknowledging its primary";
            found.add(new IncidentReport(IncidentKind.REPLICA_ISOLATED, component,
                    "the " + role + " of " + now.group() + " on " + old.node() + " was taken out of the group while " + old.node()
                            + " stays up: " + why + " (epoch " + was.epoch() + " to " + now.epoch() + ")",
                    List.of(), null, isolatedAction(old.node(), now.mode().lockstep())));
        }
    }

    private static String isolatedAction(String node, boolean lockstep) {
        return "A new replica is rebuilt on a healthy node; nothing is needed for the service. Read " + node + "'s node log"
                + (lockstep ? " and the member's dump under its DATA/dumps/" : "") + " to find the cause; if it happens again on "
                + node + ", take that node out of service.";
    }

    /**
     * A lockstep member of {@code node} wrote a dump as it left its group: the evidence of its
     * isolation. Proposed by that node; it fills in the dump file of the incident the leader opened,
     * or opens it when the dump comes first.
     *
     * @param dumpFile {@code node:path}
     */
    public static IncidentReport memberDumped(GroupId group, String node, String dumpFile, String reason) {
        return new IncidentReport(IncidentKind.REPLICA_ISOLATED, IncidentComponent.replica(group, node),
                "the member of " + group + " on " + node + " left its group with a suspect state: " + reason, List.of(), dumpFile,
                isolatedAction(node, true));
    }

    /** True when the component of {@code incident} is healed in {@code state}, or gone from the system. */
    public static boolean healed(Incident incident, ControllerState state) {
        return how(incident, state) != null;
    }

    /** How the component of {@code incident} healed in {@code state}, or null while it is not healed. */
    public static String how(Incident incident, ControllerState state) {
        IncidentComponent component = incident.component();
        switch (incident.kind()) {
            case NODE_DOWN -> {
                Member member = state.members().get(component.node());
                if (member == null) {
                    return component.node() + " was removed from the system";
                }
                return member.alive() ? component.node() + " is up again (incarnation " + member.incarnation() + ", pid "
                        + member.pid() + ")" : null;
            }
            case REPLICA_ISOLATED -> {
                GroupId id = component.group();
                GroupConfig group = state.groups().get(id);
                if (group == null) {
                    return id + " was removed";
                }
                return fullyProtected(group, state) ? id + " is back to full protection: " + replicas(group) : null;
            }
            case GROUP_HALTED -> {
                GroupConfig group = state.groups().get(component.group());
                return group == null ? component.group() + " was removed"
                        : group.halted() == null ? component.group() + " serves again" : null;
            }
        }
        throw new IllegalArgumentException("unknown incident kind " + incident.kind());
    }

    private static boolean fullyProtected(GroupConfig group, ControllerState state) {
        return group.fullyProtected() && group.replicas().stream().allMatch(replica -> {
            Member member = state.members().get(replica.node());
            return member != null && member.alive() && member.incarnation() == replica.incarnation();
        });
    }

    private static String replicas(GroupConfig group) {
        List<String> parts = new ArrayList<>();
        for (ReplicaAssignment replica : group.replicas()) {
            parts.add(replica.role().name().toLowerCase(Locale.ROOT) + " on " + replica.node());
        }
        return String.join(", ", parts) + " (epoch " + group.epoch() + ")";
    }

    /** The resolutions {@code state} calls for: one for every unresolved incident whose component is healed. */
    public static List<ControlCommand.ResolveIncident> resolutions(ControllerState state, long timeMillis) {
        List<ControlCommand.ResolveIncident> resolutions = new ArrayList<>();
        for (Incident incident : state.incidents().all().values()) {
            String how = incident.resolved() ? null : how(incident, state);
            if (how != null) {
                resolutions.add(new ControlCommand.ResolveIncident(incident.id(), how, timeMillis));
            }
        }
        return resolutions;
    }
}
