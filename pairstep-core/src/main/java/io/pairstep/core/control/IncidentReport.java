package io.pairstep.core.control;

import java.util.List;

/**
 * A fault found in the controller state, as the leader proposes it to open an incident.
 *
 * @param what what happened, for people
 * @param evidence recent events about the component, one line each, oldest first
 * @param dumpFile the state dump a leaving lockstep member wrote, as {@code node:path}, or null
 * @param suggestedAction what an operator should do
 */
public record IncidentReport(IncidentKind kind, IncidentComponent component, String what, List<String> evidence,
        String dumpFile, String suggestedAction) {

    public IncidentReport {
        evidence = evidence == null ? List.of() : List.copyOf(evidence);
    }

    public IncidentReport withEvidence(List<String> lines) {
        return new IncidentReport(kind, component, what, lines, dumpFile, suggestedAction);
    }
}
