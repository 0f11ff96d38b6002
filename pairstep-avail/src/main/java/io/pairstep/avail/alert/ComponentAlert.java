package io.pairstep.avail.alert;

import java.util.Locale;
import java.util.Map;

/**
 * A node or replica changed state.
 *
 * @param componentId the node id for a node, {@code service/partition@node} for a replica
 * @param previousState the state before the change
 * @param reason why, in words, e.g. {@code connection closed; lease expired}
 */
public record ComponentAlert(String id, long timeMillis, String nodeId, ComponentType componentType,
        String componentId, ComponentChange change, ComponentState previousState, String reason) implements Alert {

    @Override
    public String kind() {
        return "component." + change.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public String summary() {
        return String.format(Locale.ROOT, "[%s] %s %s %s (was %s): %s", nodeId, lower(componentType), componentId,
                lower(change), lower(previousState), reason);
    }

    @Override
    public Map<String, Object> fields() {
        Map<String, Object> fields = Alert.commonFields(this);
        fields.put("componentType", lower(componentType));
        fields.put("componentId", componentId);
        fields.put("previousState", lower(previousState));
        fields.put("state", lower(change.newState()));
        fields.put("reason", reason);
        return fields;
    }

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
