package io.pairstep.cli;

import io.pairstep.runtime.DumpFormat;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * A dump as {@code pairstep dump --inspect} reads it: the files a node writes under {@code
 * DATA/dumps/} when a member is isolated or a replica crashes, and the quick dumps of {@code
 * pairstep dump}, all in {@link DumpFormat}.
 *
 * @param header the {@code key: value} lines in their order, the Base64 state left out
 * @param serviceText the service's state as it renders it (JSON for the examples), or null when it is not text
 * @param entries the last entries, one line each
 */
record DumpFile(Map<String, String> header, String serviceText, List<String> entries, String stateBase64) {

    private static final String SERVICE_TEXT = "state.service.text";
    private static final String BASE64 = "state.base64";

    /** Parses a dump, or throws a {@link CliException} naming {@code source} and what is wrong with it. */
    static DumpFile parse(String text, String source) {
        String[] lines = text.split("\n", -1);
        if (lines.length == 0 || !lines[0].strip().equals(DumpFormat.FIRST_LINE)) {
            throw new CliException(source + " is not a pairstep dump (its first line is not \"" + DumpFormat.FIRST_LINE + "\")");
        }
        Map<String, String> header = new LinkedHashMap<>();
        List<String> entries = new ArrayList<>();
        String serviceText = null;
        String stateBase64 = null;
        for (int i = 1; i < lines.length; i++) {
            String line = lines[i];
            if (line.isEmpty()) {
                continue;
            }
            if (line.startsWith("entry ")) {
                entries.add(line.substring("entry ".length()));
                continue;
            }
            int colon = line.indexOf(": ");
            if (colon <= 0) {
                throw new CliException(source + " is not a readable pairstep dump: line " + (i + 1) + " is not \"key: value\"");
            }
            String key = line.substring(0, colon);
            String value = line.substring(colon + 2);
            if (key.equals(SERVICE_TEXT)) {
                serviceText = unquote(value);
            } else if (key.equals(BASE64)) {
                stateBase64 = value.strip();
            } else {
                header.put(key, value);
            }
        }
        for (String required : List.of("service", "partition", "node", "epoch", "index")) {
            if (!header.containsKey(required)) {
                throw new CliException(source + " is not a complete pairstep dump: it has no " + required + " line");
            }
        }
        return new DumpFile(header, serviceText, entries, stateBase64);
    }

    /**
     * Restores the dumped state into a fresh instance of its service, as a new replica is built,
     * and encodes it back. Returns one line for people: the SHA-256 of the state as that replica
     * holds it (equal for two members at the same index, whatever node each is on), or why the
     * check could not be made. Throws {@link CliException} when the state does not restore to the
     * same bytes: then the dump, or the service's snapshot code, is broken.
     */
    String restoreCheck() {
        String artifact = header.get("artifact");
        if (stateBase64 == null) {
            return "not checked: the dump holds no state.base64 line";
        }
        if (artifact == null || !artifact.startsWith("example:")) {
            return "not checked: " + (artifact == null ? "the dump does not name its service's code"
                    : "the state of a jar service restores where its jar is, on a node");
        }
        byte[] dumped;
        try {
            dumped = java.util.Base64.getDecoder().decode(stateBase64);
        } catch (IllegalArgumentException e) {
            throw new CliException("the dump's state.base64 line is not Base64: " + e.getMessage());
        }
        io.pairstep.core.replica.StateCodec.State state;
        try {
            state = io.pairstep.core.replica.StateCodec.decode(dumped);
        } catch (RuntimeException e) {
            throw new CliException("the dump's state cannot be decoded: " + e);
        }
        io.pairstep.api.Service fresh;
        try {
            fresh = io.pairstep.examples.Examples.create(artifact.substring("example:".length()));
        } catch (RuntimeException e) {
            return "not checked: " + e.getMessage();
        }
        fresh.restore(state.service());
        byte[] restored = io.pairstep.core.replica.StateCodec.encode(state.index(), state.epoch(), state.timestampMillis(),
                state.sessions(), fresh.snapshot());
        if (!java.util.Arrays.equals(restored, dumped)) {
            throw new CliException("the dumped state does not restore to itself: a fresh " + artifact + " replica restored from it encodes "
                    + restored.length + " bytes that differ from the " + dumped.length + " dumped");
        }
        return "restores into a fresh " + artifact + " replica at index " + state.index() + ", state SHA-256 " + sha256(restored);
    }

    private static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The text a dump quotes for a valid UTF-8 state, unescaped; null for a binary state ({@code base64:...}). */
    static String unquote(String value) {
        if (value.length() < 2 || value.charAt(0) != '"' || value.charAt(value.length() - 1) != '"') {
            return null;
        }
        StringBuilder out = new StringBuilder(value.length());
        for (int i = 1; i < value.length() - 1; i++) {
            char c = value.charAt(i);
            if (c == '\\' && i + 1 < value.length() - 1) {
                char next = value.charAt(++i);
                out.append(switch (next) {
                    case 'n' -> '\n';
                    case 'r' -> '\r';
                    default -> next;
                });
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    String get(String key) {
        return header.get(key);
    }

    /** The header fields, then the state (pretty JSON when it is JSON, as the examples render it), then the entries. */
    void print(PrintWriter out) {
        header.forEach((key, value) -> {
            if (!key.equals("entries")) {
                out.printf("%-22s %s%n", key + ":", value);
            }
        });
        out.printf("%-22s %s%n", "restored:", restoreCheck());
        out.println();
        out.println("state:");
        out.println(stateForHumans());
        if (!entries.isEmpty()) {
            out.println();
            out.printf("last entries (%d):%n", entries.size());
            entries.forEach(entry -> out.println("  " + entry));
        }
        out.flush();
    }

    private String stateForHumans() {
        if (serviceText == null) {
            return header.containsKey("state.undecodable") ? "(the state could not be decoded; see state.undecodable)"
                    : "(binary, not text: " + header.getOrDefault("state.service.bytes", "?") + " bytes)";
        }
        try {
            JsonNode json = Json.MAPPER.readTree(serviceText);
            if (json != null && (json.isObject() || json.isArray())) {
                return Json.PRETTY.writeValueAsString(json);
            }
        } catch (JacksonException e) {
            // Not JSON: the service renders its state some other way; show it as it is.
        }
        return serviceText;
    }
}
