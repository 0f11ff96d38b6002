package io.pairstep.avail.config;

import io.pairstep.avail.Metric;
import io.pairstep.avail.threshold.Direction;
import io.pairstep.avail.threshold.ThresholdRule;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reads and checks an availability configuration file. Every wrong entry is reported with its path
 * in the file, and one wrong entry refuses the whole file, so a half-understood configuration never
 * runs. The format:
 *
 * <pre>{@code
 * thresholds:
 *   - metric: node.disk.free.bytes     # one of Metric's names
 *     direction: below                 # above (default) or below
 *     fire: 1.0e9                      # alert when at or beyond this ...
 *     clear: 2.0e9                     # ... clear when back past this (default: fire)
 *     duration: 30s                    # ... each for this long (ms, s, m or h)
 *     subject: /var/lib/pairstep       # optional: only this data directory (node metrics)
 *   - metric: partition.latency.p99.ms # a partition metric: measured on the node hosting the replica
 *     fire: 250
 *     duration: 10s
 *     service: kv                      # optional: only this service ...
 *     partition: 3                     # ... and/or only this partition number
 * actions:
 *   - {type: email, host: smtp.example.com, port: 587, tls: starttls, from: ps@example.com, to: [ops@example.com]}
 *   - {type: webhook, url: "http://ops.example.com/alerts", timeout: 5s}
 *   - {type: program, path: /usr/local/bin/page-someone, args: [--urgent], timeout: 10s}
 *   - {type: snmp, target: "nms.example.com:162", version: v2c, community: public}
 *   - {type: snmp, target: "nms.example.com:162", version: v3, user: pairstep, auth: sha,
 *      authPassphrase: "...", privPassphrase: "...", engineId: "80001f8804..."}   # privacy: AES-128
 * callHome: "https://support.example.com/pairstep/incidents"   # or {url: ..., timeout: 5s}
 * snmpAgent: {listen: "0.0.0.0:1161", community: public}        # answers GET for the system's state
 * }</pre>
 */
public final class ConfigParser {

    private static final YAMLMapper YAML = YAMLMapper.builder().build();
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");
    private static final long DEFAULT_EMAIL_TIMEOUT_MILLIS = 10_000;
    private static final long DEFAULT_WEBHOOK_TIMEOUT_MILLIS = 5_000;
    private static final long DEFAULT_PROGRAM_TIMEOUT_MILLIS = 10_000;
    private static final int DEFAULT_SNMP_PORT = 162;
    private static final int MIN_USM_PASSPHRASE_LENGTH = 8;

    private final List<String> problems = new ArrayList<>();

    private ConfigParser() {}

    /** Reads {@code file}; a file that cannot be read is refused like a wrong one. */
    public static AvailabilityConfig read(Path file) throws ConfigException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of("cannot read: " + e));
        }
        return parse(text, file.toString());
    }

    /** Checks {@code text}; {@code source} names it in messages. */
    public static AvailabilityConfig parse(String text, String source) throws ConfigException {
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (JacksonException e) {
            throw new ConfigException(source, List.of("not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr()
                            + ", column " + e.getLocation().getColumnNr() + ")")));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return AvailabilityConfig.EMPTY;
        }
        ConfigParser parser = new ConfigParser();
        AvailabilityConfig config = parser.config(root);
        if (!parser.problems.isEmpty()) {
            throw new ConfigException(source, parser.problems);
        }
        return config;
    }

    private AvailabilityConfig config(JsonNode root) {
        if (!root.isObject()) {
            problems.add("top level: expected a mapping with thresholds: and actions:");
            return null;
        }
        onlyKnown(root, "top level", "thresholds", "actions", "callHome", "snmpAgent");
        List<ThresholdConfig> thresholds = new ArrayList<>();
        List<ActionConfig> actions = new ArrayList<>();
        JsonNode thresholdList = root.get("thresholds");
        if (isList(thresholdList, "thresholds")) {
            for (int i = 0; i < thresholdList.size(); i++) {
                thresholds.add(threshold(thresholdList.get(i), "thresholds[" + i + "]"));
            }
        }
        JsonNode actionList = root.get("actions");
        if (isList(actionList, "actions")) {
            for (int i = 0; i < actionList.size(); i++) {
                actions.add(action(actionList.get(i), "actions[" + i + "]"));
            }
        }
        JsonNode callHomeNode = root.get("callHome");
        ActionConfig.Webhook callHome = callHomeNode == null || callHomeNode.isNull() ? null : callHome(callHomeNode);
        JsonNode agentNode = root.get("snmpAgent");
        SnmpAgentConfig snmpAgent = agentNode == null || agentNode.isNull() ? null : snmpAgent(agentNode);
        return problems.isEmpty() ? new AvailabilityConfig(thresholds, actions, callHome, snmpAgent) : null;
    }

    private ThresholdConfig threshold(JsonNode entry, String path) {
        if (!isMapping(entry, path)) {
            return null;
        }
        onlyKnown(entry, path, "metric", "direction", "fire", "clear", "duration", "subject", "service", "partition");
        String metricName = requiredText(entry, path, "metric");
        Metric metric = null;
        if (metricName != null) {
            metric = Metric.byName(metricName).orElse(null);
            if (metric == null) {
                problems.add(path + ".metric: unknown metric \"" + metricName + "\" (known: " + Metric.knownNames() + ")");
            }
        }
        Direction direction = entry.has("direction")
                ? choice(entry.get("direction"), path + ".direction", Direction.class)
                : Direction.ABOVE;
        Double fire = number(entry.get("fire"), path + ".fire");
        Double clear = entry.has("clear") ? number(entry.get("clear"), path + ".clear") : fire;
        Long holdMillis = duration(entry.get("duration"), path + ".duration");
        String subject = entry.has("subject") ? text(entry.get("subject"), path + ".subject") : null;
        String service = entry.has("service") ? text(entry.get("service"), path + ".service") : null;
        Integer partition = entry.has("partition") ? partitionNumber(entry.get("partition"), path + ".partition") : null;
        if (metric != null && !selectorsFit(entry, path, metric)) {
            return null;
        }
        if (direction == null || fire == null || clear == null || holdMillis == null) {
            return null;
        }
        if (direction == Direction.ABOVE ? clear > fire : clear < fire) {
            problems.add(path + ".clear: " + ThresholdRule.clearLevelProblem(direction, fire));
            return null;
        }
        return metric == null ? null
                : new ThresholdConfig(metric, subject, service, partition, new ThresholdRule(direction, fire, clear, holdMillis));
    }

    /** A partition metric is narrowed by service: and partition:, a node metric by subject:; never the other way round. */
    private boolean selectorsFit(JsonNode entry, String path, Metric metric) {
        boolean fit = true;
        if (metric.perPartition() && entry.has("subject")) {
            problems.add(path + ".subject: " + metric.metricName() + " is a partition metric: select with service: and partition:");
            fit = false;
        }
        for (String selector : List.of("service", "partition")) {
            if (!metric.perPartition() && entry.has(selector)) {
                problems.add(path + "." + selector + ": only partition.* metrics have a " + selector + ", not " + metric.metricName());
                fit = false;
            }
        }
        return fit;
    }

    private Integer partitionNumber(JsonNode node, String path) {
        if (node.isIntegralNumber() && node.canConvertToInt() && node.intValue() >= 0) {
            return node.intValue();
        }
        problems.add(path + ": not a partition number (0 or more): " + node);
        return null;
    }

    private ActionConfig action(JsonNode entry, String path) {
        if (!isMapping(entry, path)) {
            return null;
        }
        String type = requiredText(entry, path, "type");
        if (type == null) {
            return null;
        }
        return switch (type) {
            case "email" -> email(entry, path);
            case "webhook" -> webhook(entry, path);
            case "program" -> program(entry, path);
            case "snmp" -> snmp(entry, path);
            default -> {
                problems.add(path + ".type: unknown action \"" + type + "\" (known: email, webhook, program, snmp)");
                yield null;
            }
        };
    }

    private ActionConfig email(JsonNode entry, String path) {
        onlyKnown(entry, path, "type", "host", "port", "tls", "from", "to", "user", "password", "timeout");
        String host = requiredText(entry, path, "host");
        Integer port = entry.has("port") ? port(entry.get("port"), path + ".port") : Integer.valueOf(25);
        ActionConfig.Tls tls = entry.has("tls") ? choice(entry.get("tls"), path + ".tls", ActionConfig.Tls.class) : ActionConfig.Tls.NONE;
        String from = requiredText(entry, path, "from");
        List<String> to = textList(entry.get("to"), path + ".to", true);
        String user = entry.has("user") ? text(entry.get("user"), path + ".user") : null;
        String password = entry.has("password") ? text(entry.get("password"), path + ".password") : null;
        if ((user == null) != (password == null)) {
            problems.add(path + ": user and password go together");
        }
        Long timeoutMillis = optionalDuration(entry, path, "timeout", DEFAULT_EMAIL_TIMEOUT_MILLIS);
        if (host == null || port == null || tls == null || from == null || to == null || timeoutMillis == null) {
            return null;
        }
        return new ActionConfig.Email(host, port, tls, from, to, user, password, timeoutMillis);
    }

    private ActionConfig.Webhook webhook(JsonNode entry, String path) {
        onlyKnown(entry, path, "type", "url", "timeout");
        return webhookTarget(entry, path);
    }

    /** The url and timeout of a webhook entry (also of a call home). */
    private ActionConfig.Webhook webhookTarget(JsonNode entry, String path) {
        String url = requiredText(entry, path, "url");
        Long timeoutMillis = optionalDuration(entry, path, "timeout", DEFAULT_WEBHOOK_TIMEOUT_MILLIS);
        if (url == null || timeoutMillis == null) {
            return null;
        }
        URI uri = httpUrl(url, path + ".url");
        return uri == null ? null : new ActionConfig.Webhook(uri, timeoutMillis);
    }

    /** {@code callHome: URL}, or {@code callHome: {url: URL, timeout: 5s}}: a webhook for incidents. */
    private ActionConfig.Webhook callHome(JsonNode node) {
        if (node.isObject()) {
            onlyKnown(node, "callHome", "url", "timeout");
            return webhookTarget(node, "callHome");
        }
        String url = text(node, "callHome");
        URI uri = url == null ? null : httpUrl(url, "callHome");
        return uri == null ? null : new ActionConfig.Webhook(uri, DEFAULT_WEBHOOK_TIMEOUT_MILLIS);
    }

    private URI httpUrl(String url, String path) {
        try {
            URI uri = new URI(url);
            if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
                problems.add(path + ": not an http or https URL: \"" + url + "\"");
                return null;
            }
            return uri;
        } catch (URISyntaxException e) {
            problems.add(path + ": not a URL: \"" + url + "\" (" + e.getReason() + ")");
            return null;
        }
    }

    private ActionConfig program(JsonNode entry, String path) {
        onlyKnown(entry, path, "type", "path", "args", "timeout");
        String program = requiredText(entry, path, "path");
        List<String> args = entry.has("args") ? textList(entry.get("args"), path + ".args", false) : List.of();
        Long timeoutMillis = optionalDuration(entry, path, "timeout", DEFAULT_PROGRAM_TIMEOUT_MILLIS);
        if (program == null || args == null || timeoutMillis == null) {
            return null;
        }
        Path file = Path.of(program);
        if (!file.isAbsolute() || !Files.isRegularFile(file) || !Files.isExecutable(file)) {
            problems.add(path + ".path: not an executable file given by its absolute path: \"" + program + "\"");
            return null;
        }
        return new ActionConfig.Program(file, args, timeoutMillis);
    }

    /** {@code snmpAgent: {listen: HOST:PORT, community: NAME}}: where the node answers SNMP GET requests. */
    private SnmpAgentConfig snmpAgent(JsonNode entry) {
        String path = "snmpAgent";
        if (!isMapping(entry, path)) {
            return null;
        }
        onlyKnown(entry, path, "listen", "community");
        String listen = requiredText(entry, path, "listen");
        if (listen == null) {
            return null;
        }
        int colon = listen.lastIndexOf(':');
        if (colon <= 0) {
            problems.add(path + ".listen: expected host:port, got \"" + listen + "\"");
            return null;
        }
        Integer port = parsePort(listen.substring(colon + 1), path + ".listen", listen);
        String community = entry.has("community") ? text(entry.get("community"), path + ".community") : "public";
        return port == null || community == null ? null : new SnmpAgentConfig(listen.substring(0, colon), port, community);
    }

    private ActionConfig snmp(JsonNode entry, String path) {
        String version = entry.has("version") ? text(entry.get("version"), path + ".version") : "v2c";
        if (version == null) {
            return null;
        }
        boolean v3 = version.equals("v3");
        if (!v3 && !version.equals("v2c")) {
            problems.add(path + ".version: unknown SNMP version \"" + version + "\" (known: v2c, v3)");
            return null;
        }
        if (v3) {
            onlyKnown(entry, path, "type", "target", "version", "user", "auth", "authPassphrase", "privPassphrase", "engineId");
        } else {
            onlyKnown(entry, path, "type", "target", "version", "community");
        }
        String target = requiredText(entry, path, "target");
        if (target == null) {
            return null;
        }
        int colon = target.lastIndexOf(':');
        String host = colon < 0 ? target : target.substring(0, colon);
        Integer port = colon < 0 ? Integer.valueOf(DEFAULT_SNMP_PORT) : parsePort(target.substring(colon + 1), path + ".target", target);
        if (host.isEmpty()) {
            problems.add(path + ".target: expected host:port, got \"" + target + "\"");
            return null;
        }
        if (!v3) {
            String community = entry.has("community") ? text(entry.get("community"), path + ".community") : "public";
            return port == null || community == null ? null : new ActionConfig.Snmp(host, port, community, null);
        }
        String user = requiredText(entry, path, "user");
        ActionConfig.AuthProtocol auth = entry.has("auth")
                ? choice(entry.get("auth"), path + ".auth", ActionConfig.AuthProtocol.class)
                : ActionConfig.AuthProtocol.SHA;
        String authPassphrase = passphrase(entry, path, "authPassphrase");
        String privPassphrase = passphrase(entry, path, "privPassphrase");
        String engineId = entry.has("engineId") ? text(entry.get("engineId"), path + ".engineId") : null;
        if (engineId != null && !isEngineId(engineId)) {
            problems.add(path + ".engineId: expected 5 to 32 bytes in hex, got \"" + engineId + "\"");
            return null;
        }
        if (port == null || user == null || auth == null || authPassphrase == null || privPassphrase == null) {
            return null;
        }
        return new ActionConfig.Snmp(host, port, null, new ActionConfig.SnmpV3(user, auth, authPassphrase, privPassphrase, engineId));
    }

    private String passphrase(JsonNode entry, String path, String name) {
        String passphrase = requiredText(entry, path, name);
        if (passphrase != null && passphrase.length() < MIN_USM_PASSPHRASE_LENGTH) {
            problems.add(path + "." + name + ": must have at least " + MIN_USM_PASSPHRASE_LENGTH + " characters (RFC 3414)");
            return null;
        }
        return passphrase;
    }

    private static boolean isEngineId(String hex) {
        String digits = hex.startsWith("0x") ? hex.substring(2) : hex;
        if (digits.length() % 2 != 0 || digits.length() < 10 || digits.length() > 64) {
            return false;
        }
        try {
            HexFormat.of().parseHex(digits);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    // Field helpers. Each returns null after recording a problem, so one pass finds every wrong entry.

    private boolean isList(JsonNode node, String path) {
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isArray()) {
            problems.add(path + ": expected a list, got " + node);
            return false;
        }
        return true;
    }

    private boolean isMapping(JsonNode node, String path) {
        if (!node.isObject()) {
            problems.add(path + ": expected a mapping, got " + node);
            return false;
        }
        return true;
    }

    private void onlyKnown(JsonNode entry, String path, String... known) {
        Set<String> allowed = new LinkedHashSet<>(Arrays.asList(known));
        for (String name : entry.propertyNames()) {
            if (!allowed.contains(name)) {
                problems.add((path.equals("top level") ? "" : path + ".") + name + ": unknown field (known here: "
                        + String.join(", ", allowed) + ")");
            }
        }
    }

    private String requiredText(JsonNode entry, String path, String name) {
        if (!entry.has(name) || entry.get(name).isNull()) {
            problems.add(path + "." + name + ": missing");
            return null;
        }
        return text(entry.get(name), path + "." + name);
    }

    private String text(JsonNode node, String path) {
        if (node.isString() && !node.stringValue().isBlank()) {
            return node.stringValue();
        }
        if (node.isNumber() || node.isBoolean()) {
            return node.asString();
        }
        problems.add(path + ": expected text, got " + node);
        return null;
    }

    private List<String> textList(JsonNode node, String path, boolean required) {
        if (node == null || node.isNull()) {
            if (required) {
                problems.add(path + ": missing");
            }
            return required ? null : List.of();
        }
        if (node.isString()) {
            return List.of(node.stringValue());
        }
        if (!node.isArray() || (required && node.isEmpty())) {
            problems.add(path + ": expected a " + (required ? "non-empty " : "") + "list of text, got " + node);
            return null;
        }
        List<String> values = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            String value = text(node.get(i), path + "[" + i + "]");
            if (value == null) {
                return null;
            }
            values.add(value);
        }
        return values;
    }

    private Double number(JsonNode node, String path) {
        if (node == null || node.isNull()) {
            problems.add(path + ": missing");
            return null;
        }
        double value = Double.NaN;
        if (node.isNumber()) {
            value = node.doubleValue();
        } else if (node.isString()) {
            try {
                value = Double.parseDouble(node.stringValue().trim());
            } catch (NumberFormatException e) {
                // Reported below with the offending text.
            }
        }
        if (!Double.isFinite(value)) {
            problems.add(path + ": not a number: " + node);
            return null;
        }
        return value;
    }

    private Long optionalDuration(JsonNode entry, String path, String name, long defaultMillis) {
        return entry.has(name) ? duration(entry.get(name), path + "." + name) : Long.valueOf(defaultMillis);
    }

    private Long duration(JsonNode node, String path) {
        if (node == null || node.isNull()) {
            problems.add(path + ": missing");
            return null;
        }
        Matcher matcher = DURATION.matcher(node.isString() ? node.stringValue().trim() : "");
        if (!matcher.matches()) {
            problems.add(path + ": not a duration: " + node + " (use e.g. 500ms, 30s, 5m, 1h)");
            return null;
        }
        long amount;
        try {
            amount = Long.parseLong(matcher.group(1));
        } catch (NumberFormatException e) {
            problems.add(path + ": duration too long: " + node);
            return null;
        }
        long unitMillis = switch (matcher.group(2).toLowerCase(Locale.ROOT)) {
            case "ms" -> 1;
            case "s" -> 1_000;
            case "m" -> 60_000;
            default -> 3_600_000;
        };
        if (amount > Long.MAX_VALUE / unitMillis) {
            problems.add(path + ": duration too long: " + node);
            return null;
        }
        return amount * unitMillis;
    }

    private Integer port(JsonNode node, String path) {
        if (node.isIntegralNumber()) {
            return parsePort(node.asString(), path, node.asString());
        }
        problems.add(path + ": not a port number: " + node);
        return null;
    }

    private Integer parsePort(String text, String path, String shown) {
        try {
            int port = Integer.parseInt(text);
            if (port >= 1 && port <= 65_535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // Reported below with the offending text.
        }
        problems.add(path + ": not a port number (1 to 65535) in \"" + shown + "\"");
        return null;
    }

    private <E extends Enum<E>> E choice(JsonNode node, String path, Class<E> type) {
        String known = Arrays.stream(type.getEnumConstants())
                .map(constant -> constant.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", "));
        if (node.isString()) {
            for (E constant : type.getEnumConstants()) {
                if (constant.name().equalsIgnoreCase(node.stringValue())) {
                    return constant;
                }
            }
        }
        problems.add(path + ": unknown value " + node + " (known: " + known + ")");
        return null;
    }
}
