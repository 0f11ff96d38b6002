package io.pairstep.core.control;

import java.util.ArrayList;
import java.util.List;

/**
 * A fault the system found, kept in the controller until the faulty component is healed: which
 * component, what happened, the evidence, what to do, and every update since it opened.
 *
 * @param id unique in the system, raised by one for every incident opened
 * @param openedMillis when the fault was seen, in ms since the epoch
 * @param updatedMillis when the incident last changed
 * @param history every update, oldest first; the first is the opening. Bounded: past {@link
 *     Incidents#HISTORY_MAX} updates the oldest after the opening are dropped
 */
public record Incident(long id, IncidentKind kind, IncidentComponent component, long openedMillis, String what,
        List<String> evidence, String dumpFile, String suggestedAction, IncidentState state, long updatedMillis,
        List<IncidentUpdate> history) {

    public Incident {
        evidence = evidence == null ? List.of() : List.copyOf(evidence);
        history = history == null ? List.of() : List.copyOf(history);
    }

    public boolean resolved() {
        return state == IncidentState.RESOLVED;
    }

    /** This incident moved to {@code newState} (or kept its state) with one more update. */
    Incident updated(IncidentState newState, long timeMillis, String message, String newDumpFile) {
        List<IncidentUpdate> updates = new ArrayList<>(history);
        updates.add(new IncidentUpdate(timeMillis, newState, message));
        while (updates.size() > Incidents.HISTORY_MAX) {
            updates.remove(1);
        }
        return new Incident(id, kind, component, openedMillis, what, evidence, newDumpFile, suggestedAction, newState,
                Math.max(updatedMillis, timeMillis), updates);
    }
}
