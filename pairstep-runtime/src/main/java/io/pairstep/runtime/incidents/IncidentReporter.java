package io.pairstep.runtime.incidents;

import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.Incident;
import io.pairstep.core.control.IncidentComponent;
import io.pairstep.core.control.IncidentReport;
import io.pairstep.core.control.IncidentRules;
import io.pairstep.core.control.Incidents;
import io.pairstep.runtime.events.Change;
import io.pairstep.runtime.events.Event;
import io.pairstep.runtime.events.EventLog;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Opens and resolves incidents from the controller leader, and calls home about them.
 *
 * <p>Every node hears every controller state, but only the node that leads the controller acts, as
 * for the SNMP traps: it proposes an {@link ControlCommand.OpenIncident} for each fault {@link
 * IncidentRules#detect} finds, with the recent events about the component from its event log as
 * evidence, and a {@link ControlCommand.ResolveIncident} for each incident whose component healed.
 * The controller opens one incident per fault however often it is proposed and refuses a resolve
 * its own state does not bear out, so two nodes that both believe they lead cannot do harm. A
 * proposal is not repeated for a few seconds, so that the states applied while it is in flight do
 * not each add another entry to the controller log.
 *
 * <p>Each incident event of the event log (opened, acknowledged, updated, resolved) is handed to
 * the call-home sink, again on the leader only.
 */
public final class IncidentReporter {

    /** Recent events kept as an incident's evidence. */
    static final int EVIDENCE_EVENTS = 10;
    static final int EVIDENCE_LINE_CHARS_MAX = 400;
    private static final long REPROPOSE_AFTER_NANOS = 5_000_000_000L;

    /** Where incident updates go when this node leads; must not block. */
    public interface CallHome {
        void post(Event event, Incident incident);
    }

    private final BooleanSupplier leader;
    private final Function<ControlCommand, CompletableFuture<ControlResult>> propose;
    private final EventLog events;
    private final Supplier<ControllerState> latest;
    private final LongSupplier clockMillis;
    private final CallHome callHome;
    /** Proposals in flight by what they are about, with when they were made (System.nanoTime). Listener thread only. */
    private final Map<String, Long> proposed = new HashMap<>();
    private ControllerState previous;

    /**
     * @param latest the newest controller state this node applied, for call home
     * @param clockMillis the wall clock that times incidents
     */
    public IncidentReporter(BooleanSupplier leader, Function<ControlCommand, CompletableFuture<ControlResult>> propose,
            EventLog events, Supplier<ControllerState> latest, LongSupplier clockMillis, CallHome callHome) {
        this.leader = leader;
        this.propose = propose;
        this.events = events;
        this.latest = latest;
        this.clockMillis = clockMillis;
        this.callHome = callHome;
        events.subscribe(this::onEvent);
    }

    /**
     * Takes the next applied controller state, on the controller's listener thread and after the
     * event log took it, so that the evidence holds the events of this very change.
     */
    public void onState(ControllerState state) {
        ControllerState before = previous == null ? state : previous;
        previous = state;
        if (!leader.getAsBoolean()) {
            return;
        }
        long nowNanos = System.nanoTime();
        proposed.values().removeIf(at -> nowNanos - at > REPROPOSE_AFTER_NANOS);
        long nowMillis = clockMillis.getAsLong();
        for (IncidentReport report : IncidentRules.detect(before, state)) {
            if (proposed.putIfAbsent("open " + report.kind() + " " + report.component(), nowNanos) == null) {
                propose.apply(new ControlCommand.OpenIncident(report.withEvidence(evidence(report.component())), nowMillis));
            }
        }
        for (ControlCommand.ResolveIncident resolve : IncidentRules.resolutions(state, nowMillis)) {
            if (proposed.putIfAbsent("resolve " + resolve.id(), nowNanos) == null) {
                propose.apply(resolve);
            }
        }
    }

    /** The last events of this node's log about the component, one line each, oldest first. */
    List<String> evidence(IncidentComponent component) {
        List<String> lines = new ArrayList<>();
        for (Event event : events.all()) {
            if (about(event, component)) {
                String line = event.time() + " " + event.type() + ": " + event.message();
                lines.add(line.length() > EVIDENCE_LINE_CHARS_MAX ? line.substring(0, EVIDENCE_LINE_CHARS_MAX - 3) + "..." : line);
            }
        }
        int keep = Math.min(EVIDENCE_EVENTS, Incidents.EVIDENCE_LINES_MAX);
        return List.copyOf(lines.subList(Math.max(0, lines.size() - keep), lines.size()));
    }

    /**
     * True when the event is about the component: for a node, any event on it (a takeover from it,
     * its replicas removed); for a group, its events; for a replica, its group's events on its node.
     */
    static boolean about(Event event, IncidentComponent component) {
        if (isIncidentEvent(event.type())) {
            return false;
        }
        if (component.group() != null && !component.group().toString().equals(event.component())) {
            return false;
        }
        String node = component.node();
        return node == null || node.equals(event.node()) || node.equals(event.component())
                || node.equals(event.fields().get("replicaNode")) || node.equals(event.fields().get("from"));
    }

    private void onEvent(Event event) {
        if (!isIncidentEvent(event.type()) || !leader.getAsBoolean()) {
            return;
        }
        Object id = event.fields().get("incident");
        Incident incident = id instanceof Long value ? latest.get().incidents().all().get(value) : null;
        if (incident != null) {
            callHome.post(event, incident);
        }
    }

    static boolean isIncidentEvent(String type) {
        return switch (type) {
            case Change.INCIDENT_OPENED, Change.INCIDENT_UPDATED, Change.INCIDENT_ACKNOWLEDGED, Change.INCIDENT_RESOLVED -> true;
            default -> false;
        };
    }
}
