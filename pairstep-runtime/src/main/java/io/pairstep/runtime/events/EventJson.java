package io.pairstep.runtime.events;

import java.util.List;
import java.util.Map;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** The JSON form of events, as served by {@code GET /v1/events} and the event stream. */
public final class EventJson {

    private static final ObjectMapper JSON = new ObjectMapper();

    private EventJson() {}

    public static ObjectNode node(Event event) {
        ObjectNode object = JSON.createObjectNode();
        object.put("seq", event.seq());
        object.put("version", event.version());
        object.put("index", event.index());
        object.put("time", event.time().toString());
        object.put("type", event.type());
        object.put("node", event.node());
        object.put("component", event.component());
        object.put("message", event.message());
        ObjectNode fields = object.putObject("fields");
        for (Map.Entry<String, Object> field : event.fields().entrySet()) {
            switch (field.getValue()) {
                case null -> fields.putNull(field.getKey());
                case Long value -> fields.put(field.getKey(), value);
                case Integer value -> fields.put(field.getKey(), value);
                case Double value -> fields.put(field.getKey(), value);
                case Boolean value -> fields.put(field.getKey(), value);
                default -> fields.put(field.getKey(), field.getValue().toString());
            }
        }
        return object;
    }

    public static String json(Event event) {
        return JSON.writeValueAsString(node(event));
    }

    public static String json(List<Event> events) {
        ArrayNode array = JSON.createArrayNode();
        events.forEach(e -> array.add(node(e)));
        return JSON.writeValueAsString(array);
    }
}
