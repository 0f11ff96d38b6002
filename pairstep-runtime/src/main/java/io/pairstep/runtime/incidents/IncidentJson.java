package io.pairstep.runtime.incidents;

import io.pairstep.core.control.Incident;
import io.pairstep.core.control.IncidentComponent;
import io.pairstep.core.control.IncidentUpdate;
import java.time.Instant;
import java.util.Collection;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The JSON form of an incident, one shape for the admin API ({@code GET /v1/incidents}), the CLI,
 * the console and the call-home POST. Times are ISO-8601 UTC; kinds and states are lower case
 * ({@code node-down}, {@code acknowledged}).
 */
public final class IncidentJson {

    static final ObjectMapper JSON = new ObjectMapper();

    private IncidentJson() {}

    public static ObjectNode node(Incident incident) {
        ObjectNode object = JSON.createObjectNode();
        object.put("id", incident.id());
        object.put("kind", incident.kind().label());
        object.put("state", incident.state().label());
        object.set("component", component(incident.component()));
        object.put("openedAt", time(incident.openedMillis()));
        object.put("updatedAt", time(incident.updatedMillis()));
        object.put("what", incident.what());
        ObjectNode evidence = object.putObject("evidence");
        ArrayNode events = evidence.putArray("recentEvents");
        incident.evidence().forEach(events::add);
        evidence.put("dumpFile", incident.dumpFile());
        object.put("suggestedAction", incident.suggestedAction());
        ArrayNode history = object.putArray("history");
        for (IncidentUpdate update : incident.history()) {
            ObjectNode entry = history.addObject();
            entry.put("time", time(update.timeMillis()));
            entry.put("state", update.state().label());
            entry.put("message", update.message());
        }
        return object;
    }

    /** {@code type} node, group or replica; {@code id} as in the event log ({@code n2}, {@code kv/0}, {@code kv/0@n2}). */
    private static ObjectNode component(IncidentComponent component) {
        ObjectNode object = JSON.createObjectNode();
        object.put("type", component.group() == null ? "node" : component.node() == null ? "group" : "replica");
        object.put("id", component.toString());
        object.put("node", component.node());
        object.put("service", component.service());
        if (component.partition() == null) {
            object.putNull("partition");
        } else {
            object.put("partition", component.partition());
        }
        return object;
    }

    private static String time(long millis) {
        return Instant.ofEpochMilli(millis).toString();
    }

    /** The same as a map of plain values, for receivers that take maps (the call home). */
    @SuppressWarnings("unchecked")
    public static java.util.Map<String, Object> map(Incident incident) {
        return JSON.convertValue(node(incident), java.util.Map.class);
    }

    public static String json(Incident incident) {
        return JSON.writeValueAsString(node(incident));
    }

    public static String json(Collection<Incident> incidents) {
        ArrayNode array = JSON.createArrayNode();
        incidents.forEach(incident -> array.add(node(incident)));
        return JSON.writeValueAsString(array);
    }
}
