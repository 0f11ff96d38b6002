package io.pairstep.core.control;

import io.pairstep.core.Invariants;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The incidents the controller keeps, by id. Part of the {@link ControllerState}, so it is
 * deterministic and bounded like the rest: at most {@link #UNRESOLVED_MAX} unresolved incidents
 * (more are refused), and only the newest {@link #RESOLVED_KEPT_MAX} resolved ones (older ones are
 * pruned when another resolves), each with a bounded history, so the controller's snapshots stay
 * small however long the system runs.
 *
 * <p>Time comes with each command (the proposing node's clock); nothing here reads a clock.
 */
public final class Incidents {

    public static final int UNRESOLVED_MAX = 1_000;
    public static final int RESOLVED_KEPT_MAX = 100;
    public static final int HISTORY_MAX = 20;
    public static final int EVIDENCE_LINES_MAX = 20;
    public static final int TEXT_CHARS_MAX = 2_000;

    private final TreeMap<Long, Incident> byId = new TreeMap<>();
    private long nextId;

    Incidents() {
        this(List.of(), 1);
    }

    /** Rebuilds the incidents of a snapshot; {@code nextId} 0 (a snapshot from before incidents) means 1. */
    Incidents(Collection<Incident> incidents, long nextId) {
        incidents.forEach(incident -> byId.put(incident.id(), incident));
        this.nextId = Math.max(1, nextId);
        checkInvariants();
    }

    /** Every incident kept, by id. */
    public SortedMap<Long, Incident> all() {
        return Collections.unmodifiableSortedMap(byId);
    }

    /** The id the next incident will get. */
    public long nextId() {
        return nextId;
    }

    /** The unresolved incident of this kind about this component, or null. */
    public Incident unresolved(IncidentKind kind, IncidentComponent component) {
        for (Incident incident : byId.values()) {
            if (!incident.resolved() && incident.kind() == kind && incident.component().equals(component)) {
                return incident;
            }
        }
        return null;
    }

    /**
     * Opens an incident, unless one about the same fault of the same component is still unresolved:
     * then the report only adds a dump file that incident lacked. So a fault reported twice (by two
     * nodes that both believed they led, or by a leader that proposed again) opens one incident.
     */
    ControlResult open(IncidentReport report, long timeMillis) {
        String problem = problem(report, timeMillis);
        if (problem != null) {
            return ControlResult.refused(problem);
        }
        Incident existing = unresolved(report.kind(), report.component());
        if (existing != null) {
            if (report.dumpFile() == null || existing.dumpFile() != null) {
                return ControlResult.UNCHANGED;
            }
            byId.put(existing.id(), existing.updated(existing.state(), timeMillis, "dump file " + report.dumpFile(), report.dumpFile()));
            return ControlResult.CHANGED;
        }
        long unresolved = byId.values().stream().filter(i -> !i.resolved()).count();
        if (unresolved >= UNRESOLVED_MAX) {
            return ControlResult.refused(UNRESOLVED_MAX + " incidents are unresolved already; resolve some before more can open");
        }
        long id = nextId++;
        IncidentUpdate opening = new IncidentUpdate(timeMillis, IncidentState.OPEN, "opened: " + report.what());
        byId.put(id, new Incident(id, report.kind(), report.component(), timeMillis, report.what(), report.evidence(),
                report.dumpFile(), report.suggestedAction(), IncidentState.OPEN, timeMillis, List.of(opening)));
        if (report.kind() == IncidentKind.NODE_DOWN) {
            supersedeReplicasOf(report.component().node(), id, timeMillis);
        }
        return ControlResult.CHANGED;
    }

    /**
     * A replica's partner often notices a dead node before the controller declares it down, and
     * reports the replica isolated. Once the node is known down, the node is the faulty component:
     * its isolated replicas are resolved into the node's incident, so one fault is one open incident.
     */
    private void supersedeReplicasOf(String node, long nodeIncident, long timeMillis) {
        for (Incident incident : List.copyOf(byId.values())) {
            if (!incident.resolved() && incident.kind() == IncidentKind.REPLICA_ISOLATED && node.equals(incident.component().node())) {
                byId.put(incident.id(), incident.updated(IncidentState.RESOLVED, timeMillis,
                        "resolved: part of incident " + nodeIncident + " (node " + node + " is down)", incident.dumpFile()));
            }
        }
        prune();
    }

    private static String problem(IncidentReport report, long timeMillis) {
        if (report == null || report.kind() == null || report.component() == null) {
            return "an incident needs a kind and a component";
        }
        String component = report.component().problem();
        if (component != null) {
            return component;
        }
        if (blank(report.what()) || blank(report.suggestedAction())) {
            return "an incident needs what happened and a suggested action";
        }
        if (timeMillis < 0) {
            return "an incident's time must not be negative, was " + timeMillis;
        }
        if (report.evidence().size() > EVIDENCE_LINES_MAX) {
            return "an incident keeps at most " + EVIDENCE_LINES_MAX + " lines of evidence, was given " + report.evidence().size();
        }
        boolean tooLong = tooLong(report.what()) || tooLong(report.suggestedAction()) || tooLong(report.dumpFile())
                || report.evidence().stream().anyMatch(line -> line == null || tooLong(line));
        return tooLong ? "an incident's texts must be at most " + TEXT_CHARS_MAX + " characters each (and no evidence line null)" : null;
    }

    /** An operator saw the incident. Acknowledging twice changes nothing; a resolved incident is refused. */
    ControlResult acknowledge(long id, String by, long timeMillis) {
        Incident incident = byId.get(id);
        if (incident == null) {
            return ControlResult.refused(unknown(id));
        }
        if (incident.resolved()) {
            return ControlResult.refused("incident " + id + " is resolved already");
        }
        if (incident.state() == IncidentState.ACKNOWLEDGED) {
            return ControlResult.UNCHANGED;
        }
        if (tooLong(by) || timeMillis < 0) {
            return ControlResult.refused("who acknowledges must be at most " + TEXT_CHARS_MAX + " characters, and the time not negative");
        }
        String who = blank(by) ? "an operator" : by.strip();
        byId.put(id, incident.updated(IncidentState.ACKNOWLEDGED, timeMillis, "acknowledged by " + who, incident.dumpFile()));
        return ControlResult.CHANGED;
    }

    /**
     * The incident's component is healed. {@code healed} is the controller's own check of its
     * state, so a report from a node with an old picture of the system cannot resolve an incident
     * whose fault is still there.
     */
    ControlResult resolve(long id, String how, long timeMillis, boolean healed) {
        Incident incident = byId.get(id);
        if (incident == null) {
            return ControlResult.refused(unknown(id));
        }
        if (incident.resolved()) {
            return ControlResult.UNCHANGED;
        }
        if (!healed) {
            return ControlResult.refused("incident " + id + " (" + incident.kind().label() + " " + incident.component()
                    + ") is not healed yet");
        }
        if (blank(how) || tooLong(how) || timeMillis < 0) {
            return ControlResult.refused("a resolution needs how it healed (at most " + TEXT_CHARS_MAX + " characters) and a time");
        }
        byId.put(id, incident.updated(IncidentState.RESOLVED, timeMillis, "resolved: " + how, incident.dumpFile()));
        prune();
        return ControlResult.CHANGED;
    }

    /** Forgets the oldest resolved incidents beyond {@link #RESOLVED_KEPT_MAX}. */
    private void prune() {
        long resolved = byId.values().stream().filter(Incident::resolved).count();
        Iterator<Incident> it = byId.values().iterator();
        while (resolved > RESOLVED_KEPT_MAX && it.hasNext()) {
            if (it.next().resolved()) {
                it.remove();
                resolved--;
            }
        }
    }

    static String unknown(long id) {
        return "unknown incident " + id;
    }

    private static boolean blank(String text) {
        return text == null || text.isBlank();
    }

    private static boolean tooLong(String text) {
        return text != null && text.length() > TEXT_CHARS_MAX;
    }

    void checkInvariants() {
        long unresolved = 0;
        long resolved = 0;
        for (Incident incident : byId.values()) {
            Invariants.check(incident.id() > 0 && incident.id() < nextId, "incident %d is outside 1..%d", incident.id(), nextId - 1);
            Invariants.check(!incident.history().isEmpty() && incident.history().size() <= HISTORY_MAX,
                    "incident %d has %d updates", incident.id(), incident.history().size());
            if (incident.resolved()) {
                resolved++;
            } else {
                unresolved++;
            }
        }
        Invariants.check(unresolved <= UNRESOLVED_MAX, "%d unresolved incidents", unresolved);
        Invariants.check(resolved <= RESOLVED_KEPT_MAX, "%d resolved incidents kept", resolved);
    }
}
