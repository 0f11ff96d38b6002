package io.pairstep.examples;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.NullNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Example {@code kv}: a key-value store of JSON values.
 *
 * <p>Commands (UTF-8 JSON objects) and results:
 *
 * <ul>
 *   <li>{@code {"op":"put","key":K,"value":V}} → {@code {"ok":true}}
 *   <li>{@code {"op":"get","key":K}} → {@code {"value":V}}, or {@code {"value":null}} when absent
 *   <li>{@code {"op":"incr","key":K,"by":N}} → {@code {"value":<new number>}}; an absent key counts
 *       as 0, {@code by} defaults to 1 and must be a long; a key holding anything but a long integer
 *       is refused, and so is an overflow
 *   <li>{@code {"op":"cas","key":K,"expect":E,"value":V}} → {@code {"ok":true|false,"value":<current
 *       value>}}; {@code expect} null means "absent"
 *   <li>{@code {"op":"delete","key":K}} → {@code {"ok":true}}
 * </ul>
 *
 * <p>A key holding JSON null is the same as an absent key: putting null (or a cas to null) removes
 * the key. JSON values are compared by equality, numbers by mathematical value ({@code 1} equals
 * {@code 1.0}). Nested objects keep their property order as written.
 *
 * <p>Snapshot: {@code {"entries":{"a":1,"b":"x"}}}, keys in sorted order.
 */
public final class KvService implements Service {

    private static final byte[] OK = Json.write(Json.object().put("ok", true));

    private TreeMap<String, JsonNode> entries = new TreeMap<>();

    public KvService() {}

    @Override
    public byte[] apply(byte[] command, Context context) throws ApplicationException {
        ObjectNode cmd = Json.parseCommand(Objects.requireNonNull(command, "command"));
        String op = Json.requireString(cmd, "op");
        return switch (op) {
            case "put" -> put(cmd);
            case "get" -> get(cmd);
            case "incr" -> incr(cmd);
            case "cas" -> cas(cmd);
            case "delete" -> delete(cmd);
            default -> throw new MalformedCommandException("unknown op \"" + op + "\"");
        };
    }

    private byte[] put(ObjectNode cmd) throws MalformedCommandException {
        String key = Json.requireString(cmd, "key");
        JsonNode value = Json.require(cmd, "value");
        store(key, value);
        return OK.clone();
    }

    private byte[] get(ObjectNode cmd) throws MalformedCommandException {
        String key = Json.requireString(cmd, "key");
        return valueResult(entries.get(key));
    }

    private byte[] incr(ObjectNode cmd) throws ApplicationException {
        String key = Json.requireString(cmd, "key");
        long by = Json.optionalLong(cmd, "by", 1);
        JsonNode current = entries.get(key);
        long base;
        if (current == null) {
            base = 0;
        } else if (Json.isLong(current)) {
            base = current.longValue();
        } else {
            throw new ApplicationException(
                    "cannot incr key \"" + key + "\": value is not a long integer");
        }
        long next;
        try {
            next = Math.addExact(base, by);
        } catch (ArithmeticException e) {
            throw new ApplicationException("cannot incr key \"" + key + "\": result overflows a long");
        }
        entries.put(key, Json.longNode(next));
        return Json.write(Json.object().put("value", next));
    }

    private byte[] cas(ObjectNode cmd) throws MalformedCommandException {
        String key = Json.requireString(cmd, "key");
        JsonNode expect = Json.require(cmd, "expect");
        JsonNode value = Json.require(cmd, "value");
        JsonNode current = entries.get(key);
        boolean ok = expect.isNull() ? current == null : current != null && Json.sameValue(current, expect);
        if (ok) {
            store(key, value);
            current = value;
        }
        ObjectNode result = Json.object().put("ok", ok);
        result.set("value", current == null ? NullNode.getInstance() : current);
        return Json.write(result);
    }

    private byte[] delete(ObjectNode cmd) throws MalformedCommandException {
        entries.remove(Json.requireString(cmd, "key"));
        return OK.clone();
    }

    private void store(String key, JsonNode value) {
        if (value.isNull()) {
            entries.remove(key);
        } else {
            entries.put(key, value);
        }
    }

    private static byte[] valueResult(JsonNode value) {
        ObjectNode result = Json.object();
        result.set("value", value == null ? NullNode.getInstance() : value);
        return Json.write(result);
    }

    @Override
    public byte[] snapshot() {
        ObjectNode root = Json.object();
        ObjectNode out = root.putObject("entries");
        for (Map.Entry<String, JsonNode> e : entries.entrySet()) {
            out.set(e.getKey(), e.getValue());
        }
        return Json.write(root);
    }

    @Override
    public void restore(byte[] snapshot) {
        ObjectNode in = Json.parseSnapshot(Objects.requireNonNull(snapshot, "snapshot"), "kv", "entries");
        TreeMap<String, JsonNode> restored = new TreeMap<>();
        if (in != null) {
            for (Map.Entry<String, JsonNode> e : in.properties()) {
                if (e.getValue().isNull()) {
                    throw new IllegalArgumentException(
                            "invalid kv snapshot: key \"" + e.getKey() + "\" holds null");
                }
                restored.put(e.getKey(), e.getValue());
            }
        }
        entries = restored;
    }
}
