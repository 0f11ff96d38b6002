package io.pairstep.runtime.controller;

import io.pairstep.core.control.AlertRecord;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.FaultRecord;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.Incident;
import io.pairstep.core.control.Member;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.core.control.ServiceUpgrade;
import java.lang.reflect.RecordComponent;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The JSON encoding of the controller's commands, results and whole state, as stored in the
 * replicated controller log and its snapshots.
 *
 * <p>A command is an object naming its record in {@code type}, followed by the record's fields:
 * {@code {"type":"RegisterNode","node":"n1","http":"...","rpc":"...","incarnation":3}}. The type is
 * looked up in a fixed registry of the permitted subclasses of {@link ControlCommand}; there is no
 * polymorphic default typing, so a log entry can never name an arbitrary class. Enums are written as
 * their names. Decoding is strict about what it cannot understand: an unknown type, an unknown field,
 * a null primitive or broken JSON is an {@link IllegalArgumentException} saying what is wrong. A
 * missing field reads as null, 0 or false, so that log entries and snapshots written before a field
 * was added to a record still decode (the same way on every replica).
 */
public final class ControlJson {

    /** The field naming a command's record. */
    public static final String TYPE_FIELD = "type";

    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .disable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** Command records by type name, from the sealed interface itself so that none is forgotten. */
    private static final Map<String, Class<? extends ControlCommand>> TYPES = registry();

    private ControlJson() {}

    /** The JSON shape of a whole {@link ControllerState}; older snapshots lack the last fields. */
    record StateJson(String systemId, long version, String controllerLeader, List<Member> members, List<ServiceSpec> services,
            List<GroupConfig> groups, List<String> draining, List<Incident> incidents, long nextIncidentId,
            List<ServiceUpgrade> upgrades, List<AlertRecord> alerts, long alertsRecorded, List<FaultRecord> faults,
            long faultsRecorded) {}

    @SuppressWarnings("unchecked")
    private static Map<String, Class<? extends ControlCommand>> registry() {
        Map<String, Class<? extends ControlCommand>> types = new LinkedHashMap<>();
        for (Class<?> type : ControlCommand.class.getPermittedSubclasses()) {
            if (!type.isRecord()) {
                throw new ExceptionInInitializerError("control command " + type.getName() + " is not a record");
            }
            for (RecordComponent component : type.getRecordComponents()) {
                if (component.getName().equals(TYPE_FIELD)) {
                    throw new ExceptionInInitializerError(
                            "control command " + type.getName() + " has a field named \"" + TYPE_FIELD + "\"");
                }
            }
            types.put(type.getSimpleName(), (Class<? extends ControlCommand>) type);
        }
        return Collections.unmodifiableMap(types);
    }

    /** The type names of every command, in declaration order. */
    public static List<String> commandTypes() {
        return List.copyOf(TYPES.keySet());
    }

    /** The type name written for a command, such as {@code RegisterNode}. */
    public static String typeOf(ControlCommand command) {
        return command.getClass().getSimpleName();
    }

    public static byte[] encodeCommand(ControlCommand command) {
        String type = typeOf(command);
        if (TYPES.get(type) != command.getClass()) {
            throw new IllegalArgumentException("not a registered control command: " + command.getClass().getName());
        }
        ObjectNode node = MAPPER.createObjectNode();
        node.put(TYPE_FIELD, type);
        node.setAll((ObjectNode) MAPPER.valueToTree(command));
        return MAPPER.writeValueAsBytes(node);
    }

    public static ControlCommand decodeCommand(byte[] bytes) {
        JsonNode tree = readTree(bytes, "control command");
        if (!tree.isObject()) {
            throw new IllegalArgumentException("a control command must be a JSON object, was " + tree.getNodeType());
        }
        ObjectNode node = (ObjectNode) tree;
        JsonNode typeNode = node.remove(TYPE_FIELD);
        if (typeNode == null || !typeNode.isString()) {
            throw new IllegalArgumentException("a control command needs a string \"" + TYPE_FIELD + "\" field");
        }
        String type = typeNode.stringValue();
        Class<? extends ControlCommand> recordClass = TYPES.get(type);
        if (recordClass == null) {
            throw new IllegalArgumentException(
                    "unknown control command type \"" + type + "\" (known types: " + String.join(", ", TYPES.keySet()) + ")");
        }
        try {
            return MAPPER.treeToValue(node, recordClass);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("malformed " + type + " command: " + e.getOriginalMessage(), e);
        }
    }

    public static byte[] encodeResult(ControlResult result) {
        return MAPPER.writeValueAsBytes(result);
    }

    public static ControlResult decodeResult(byte[] bytes) {
        return readValue(bytes, ControlResult.class, "control result");
    }

    /** Encodes the whole state: system id, version, members, services and groups with their replicas. */
    public static byte[] encodeState(ControllerState state) {
        return MAPPER.writeValueAsBytes(new StateJson(
                state.systemId(),
                state.version(),
                state.controllerLeader(),
                List.copyOf(state.members().values()),
                List.copyOf(state.services().values()),
                List.copyOf(state.groups().values()),
                List.copyOf(state.draining()),
                List.copyOf(state.incidents().all().values()),
                state.incidents().nextId(),
                List.copyOf(state.upgrades().values()),
                state.alerts(),
                state.alertsRecorded(),
                state.faults(),
                state.faultsRecorded()));
    }

    /** Decodes a state written by {@link #encodeState}; its invariants are checked on the way. */
    public static ControllerState decodeState(byte[] bytes) {
        StateJson json = readValue(bytes, StateJson.class, "controller state");
        if (json.members() == null || json.services() == null || json.groups() == null) {
            throw new IllegalArgumentException("malformed controller state: members, services and groups must be arrays");
        }
        // States written before nodes could be drained have no "draining", before incidents no
        // incidents, before upgrades no upgrades, before alert records no alerts, before fault
        // records no faults.
        return new ControllerState(json.systemId(), json.version(), json.controllerLeader(), json.members(), json.services(), json.groups(),
                json.draining() == null ? List.of() : json.draining(),
                json.incidents() == null ? List.of() : json.incidents(), json.nextIncidentId(),
                json.upgrades() == null ? List.of() : json.upgrades(),
                json.alerts() == null ? List.of() : json.alerts(), json.alertsRecorded(),
                json.faults() == null ? List.of() : json.faults(), json.faultsRecorded());
    }

    private static JsonNode readTree(byte[] bytes, String what) {
        try {
            return MAPPER.readTree(bytes);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("malformed " + what + ": " + e.getOriginalMessage(), e);
        }
    }

    private static <T> T readValue(byte[] bytes, Class<T> type, String what) {
        try {
            return MAPPER.readValue(bytes, type);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("malformed " + what + ": " + e.getOriginalMessage(), e);
        }
    }
}
