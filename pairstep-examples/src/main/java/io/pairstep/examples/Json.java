package io.pairstep.examples;

import java.math.BigDecimal;
import java.util.Comparator;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.cfg.JsonNodeFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.IntNode;
import tools.jackson.databind.node.LongNode;
import tools.jackson.databind.node.ObjectNode;

/** JSON plumbing shared by the example services: one mapper, command parsing, field access. */
final class Json {

    /**
     * The one mapper of the examples. Floating-point numbers are read as {@link BigDecimal} and kept
     * as written (no trailing-zero stripping), so every number round-trips exactly through a snapshot
     * and none can overflow to a non-JSON infinity. Duplicate property names are refused, so a
     * command has exactly one meaning.
     */
    static final ObjectMapper MAPPER =
            JsonMapper.builder()
                    .enable(JsonNodeFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                    .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .build();

    /** JSON value equality: numbers by mathematical value (1 equals 1.0), everything else exactly. */
    private static final Comparator<JsonNode> VALUE_ORDER =
            (a, b) -> {
                if (a.isNumber() && b.isNumber()) {
                    return a.decimalValue().compareTo(b.decimalValue());
                }
                return a.equals(b) ? 0 : 1;
            };

    private Json() {}

    /** Parses a command, which must be one JSON object. */
    static ObjectNode parseCommand(byte[] command) throws MalformedCommandException {
        JsonNode node;
        try {
            node = MAPPER.readTree(command);
        } catch (JacksonException e) {
            throw new MalformedCommandException("command is not valid JSON: " + e.getOriginalMessage());
        }
        if (node == null || node.isMissingNode()) {
            throw new MalformedCommandException("command is empty");
        }
        if (!(node instanceof ObjectNode object)) {
            throw new MalformedCommandException("command must be a JSON object");
        }
        return object;
    }

    /** Returns a present field, which may be JSON null. */
    static JsonNode require(ObjectNode command, String field) throws MalformedCommandException {
        JsonNode value = command.get(field);
        if (value == null) {
            throw new MalformedCommandException("missing field \"" + field + "\"");
        }
        return value;
    }

    static String requireString(ObjectNode command, String field) throws MalformedCommandException {
        JsonNode value = require(command, field);
        if (!value.isString()) {
            throw new MalformedCommandException("field \"" + field + "\" must be a string");
        }
        return value.stringValue();
    }

    static long requireLong(ObjectNode command, String field) throws MalformedCommandException {
        return toLong(field, require(command, field));
    }

    /** Returns an integer field, or {@code absent} when the field is not there at all. */
    static long optionalLong(ObjectNode command, String field, long absent)
            throws MalformedCommandException {
        JsonNode value = command.get(field);
        return value == null ? absent : toLong(field, value);
    }

    private static long toLong(String field, JsonNode value) throws MalformedCommandException {
        if (!isLong(value)) {
            throw new MalformedCommandException("field \"" + field + "\" must be an integer (long)");
        }
        return value.longValue();
    }

    /** Whether a node is a JSON integer that fits a long (1.0 is not an integer here). */
    static boolean isLong(JsonNode value) {
        return value.isIntegralNumber() && value.canConvertToLong();
    }

    /** The node that parsing the decimal text of {@code value} would produce. */
    static JsonNode longNode(long value) {
        return value == (int) value ? IntNode.valueOf((int) value) : LongNode.valueOf(value);
    }

    static boolean sameValue(JsonNode a, JsonNode b) {
        return a.equals(VALUE_ORDER, b);
    }

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    static byte[] write(JsonNode node) {
        return MAPPER.writeValueAsBytes(node);
    }

    /**
     * Parses a snapshot {@code {"<field>":{...}}} and returns the inner object, or {@code null} for
     * an empty snapshot.
     */
    static ObjectNode parseSnapshot(byte[] snapshot, String service, String field) {
        if (snapshot.length == 0) {
            return null;
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(snapshot);
        } catch (JacksonException e) {
            throw new IllegalArgumentException(
                    "invalid " + service + " snapshot: " + e.getOriginalMessage(), e);
        }
        if (root != null && root.get(field) instanceof ObjectNode inner) {
            return inner;
        }
        throw new IllegalArgumentException(
                "invalid " + service + " snapshot: expected {\"" + field + "\":{...}}");
    }
}
