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
record DumpFile(Map<String, String> header, String serviceText, List<String> entries) {

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
            } else if (!key.equals(BASE64)) {
                header.put(key, value);
            }
        }
        for (String required : List.of("service", "partition", "node", "epoch", "index")) {
            if (!header.containsKey(required)) {
                throw new CliException(source + " is not a complete pairstep dump: it has no " + required + " line");
            }
        }
        return new DumpFile(header, serviceText, entries);
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
