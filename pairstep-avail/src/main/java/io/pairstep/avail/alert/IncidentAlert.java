package io.pairstep.avail.alert;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An incident opened or changed: what the call-home receiver gets. Unlike the other alerts it goes
 * to the call-home URL only, not to the configured actions.
 *
 * @param change what happened to the incident: {@code opened}, {@code acknowledged}, {@code updated} or {@code resolved}
 * @param incidentId the incident's id in the system
 * @param incident the whole incident as the admin API shows it ({@code GET /v1/incidents/{id}})
 */
public record IncidentAlert(String id, long timeMillis, String nodeId, String change, long incidentId, String summary,
        Map<String, Object> incident) implements Alert {

    public IncidentAlert {
        // Not Map.copyOf: the incident's JSON has nulls (no dump file, no partition of a node).
        incident = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(incident));
    }

    @Override
    public String kind() {
        return "incident." + change;
    }

    /** The alert's facts, then {@code incidentId} and the nested {@code incident} object. */
    @Override
    public Map<String, Object> fields() {
        Map<String, Object> fields = Alert.commonFields(this);
        fields.put("incidentId", incidentId);
        fields.put("incident", incident);
        return fields;
    }
}
