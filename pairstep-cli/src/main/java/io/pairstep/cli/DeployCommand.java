package io.pairstep.cli;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * {@code pairstep deploy NAME ...}: deploys a service (POST /v1/services). A jar is first uploaded
 * (POST /v1/artifacts, with its SHA-256 so that damage on the way is caught), and the service is
 * deployed by that digest, so every node runs exactly these bytes.
 */
@Command(name = "deploy", mixinStandardHelpOptions = true,
        description = {"Deploys a service: a bundled example (--example kv|bank) or a jar and its service class."})
public final class DeployCommand implements Callable<Integer> {

    static final Set<String> MODES = Set.of("pair", "dmr", "tmr", "none");
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Mixin
    SystemOptions system = new SystemOptions();

    @Parameters(index = "0", paramLabel = "NAME", description = "The service's name.")
    String name;

    @Option(names = "--example", paramLabel = "kv|bank", description = "Deploy a bundled example service.")
    String example;

    @Option(names = "--jar", paramLabel = "PATH",
            description = "The service's jar (with --class). It is uploaded to the system: it need not be on the nodes.")
    Path jar;

    @Option(names = "--class", paramLabel = "FQCN", description = "The service class in the jar.")
    String className;

    @Option(names = "--mode", paramLabel = "pair|dmr|tmr|none", defaultValue = "pair",
            description = "Protection mode (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--partitions", paramLabel = "P", defaultValue = "1",
            description = "Number of partitions, >= 1 (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(names = "--digest-every", paramLabel = "K",
            description = "dmr and tmr: the members compare a digest of their state every K commands (default 64), so a"
                    + " corruption that no output shows yet is caught within K commands.")
    Long digestEvery;

    @Spec
    CommandSpec spec;

    /** The jar's bytes once {@link #request} read them; null for an example. */
    private byte[] jarBytes;

    /** Validates the options locally, reads the jar, and builds the request body, which names the jar by its digest. */
    ObjectNode request() {
        if (name == null || name.isBlank()) {
            throw usage("NAME must not be empty");
        }
        if (example != null && (jar != null || className != null)) {
            throw usage("give either --example or --jar with --class, not both");
        }
        if (example == null && jar == null) {
            throw usage(className != null ? "--class needs --jar PATH"
                    : "say what to deploy: --example kv|bank, or --jar PATH --class FQCN");
        }
        if (jar != null && (className == null || className.isBlank())) {
            throw usage("--jar needs --class FQCN (the service class in the jar)");
        }
        if (partitions < 1) {
            throw usage("--partitions must be >= 1, got " + partitions);
        }
        String m = mode.toLowerCase(Locale.ROOT);
        if (!MODES.contains(m)) {
            throw usage("--mode: expected pair, dmr, tmr or none, got '" + mode + "'");
        }
        if (digestEvery != null && digestEvery < 1) {
            throw usage("--digest-every must be >= 1 (commands between state digest comparisons), got " + digestEvery);
        }
        if (digestEvery != null && !m.equals("dmr") && !m.equals("tmr")) {
            throw usage("--digest-every applies to --mode dmr or tmr only (their members compare state digests), not " + m);
        }
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("name", name);
        if (example != null) {
            if (example.isBlank()) {
                throw usage("--example must not be empty");
            }
            body.put("example", example);
        } else {
            Path abs = jar.toAbsolutePath().normalize();
            if (!Files.exists(abs)) {
                throw usage("--jar: no such file: " + abs);
            }
            if (!Files.isRegularFile(abs)) {
                throw usage("--jar: not a file: " + abs);
            }
            if (!Files.isReadable(abs)) {
                throw usage("--jar: cannot read " + abs);
            }
            try {
                jarBytes = Files.readAllBytes(abs);
            } catch (IOException e) {
                throw usage("--jar: cannot read " + abs + ": " + e.getMessage());
            }
            body.put("digest", sha256(jarBytes));
            body.put("class", className.trim());
        }
        body.put("mode", m);
        body.put("partitions", partitions);
        if (digestEvery != null) {
            body.put("digestEvery", digestEvery);
        }
        return body;
    }

    @Override
    public Integer call() {
        ObjectNode body = request();
        system.validate();
        ApiClient.Response r;
        String digest = body.has("digest") ? body.get("digest").asString() : null;
        try (ApiClient client = system.client()) {
            if (digest != null) {
                upload(client, jarBytes, digest, body.get("class").asString());
            }
            r = client.post("/v1/services", Json.MAPPER.writeValueAsBytes(body), "application/json", Map.of(),
                    TIMEOUT, false).requireOk();
        }
        String m = body.get("mode").asString();
        int p = body.get("partitions").asInt();
        long k = body.path("digestEvery").asLong(0);
        try {
            JsonNode doc = Json.MAPPER.readTree(r.body());
            if (doc != null && doc.isObject()) {
                m = Json.text(doc, "mode", m);
                p = doc.path("partitions").asInt(p);
                k = doc.path("digestEvery").asLong(k);
            }
        } catch (RuntimeException e) {
            // the request was accepted; describe it from what we asked for
        }
        spec.commandLine().getOut().printf("deployed %s: mode %s, %d partition%s%s%s%n", name, m, p, p == 1 ? "" : "s",
                k > 0 ? ", state digests every " + k + " commands" : "", digest == null ? "" : ", artifact sha256:" + digest);
        return ExitCodes.OK;
    }

    /**
     * Uploads a jar. The node checks the bytes against their digest, that they are a jar and that
     * they hold the class, and stores nothing otherwise. Uploading the same bytes twice stores them
     * once, so a retry on another node is safe.
     */
    static void upload(ApiClient client, byte[] jar, String digest, String className) {
        String path = "/v1/artifacts?sha256=" + digest + "&class=" + URLEncoder.encode(className, StandardCharsets.UTF_8);
        client.post(path, jar, "application/java-archive", Map.of(), TIMEOUT, true).requireOk();
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }

    private static CliException usage(String message) {
        return new CliException(message, ExitCodes.USAGE);
    }
}
