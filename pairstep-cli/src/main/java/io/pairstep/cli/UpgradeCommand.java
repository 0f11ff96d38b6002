package io.pairstep.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
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
 * {@code pairstep upgrade NAME --jar NEW.jar}: uploads the new version's jar and starts an online
 * upgrade (POST /v1/services/{name}/upgrade), then follows it in the status until every replica runs
 * the new version (exit 0) or the upgrade rolled back by itself (exit 1, with the reason).
 */
@Command(name = "upgrade", mixinStandardHelpOptions = true,
        description = {"Upgrades a deployed service online to a new jar: backups (in dmr and tmr, the members other than the orderer)",
                "move first, then roles switch, then the rest; a new version that fails (or, in dmr and tmr, answers differently)",
                "before any primary moved is rolled back by itself. Modes pair, dmr and tmr; not none."})
public final class UpgradeCommand implements Callable<Integer> {

    private static final Duration POLL = Duration.ofMillis(250);

    @Mixin
    SystemOptions system = new SystemOptions();

    @Parameters(index = "0", paramLabel = "NAME", description = "The service to upgrade.")
    String name;

    @Option(names = "--jar", paramLabel = "PATH", description = "The new version's jar; it is uploaded to the system.")
    Path jar;

    @Option(names = "--class", paramLabel = "FQCN", description = "The service class in the new jar (default: the current class).")
    String className;

    @Option(names = "--example", paramLabel = "kv|bank", description = "Upgrade to a bundled example instead of a jar.")
    String example;

    @Option(names = "--shadow", paramLabel = "N", defaultValue = "0",
            description = {"First run the new version beside the old one on each partition's backup (in dmr and tmr, on one member",
                    "other than the orderer), on the same commands, for N commands, and report every output that differs; the",
                    "upgrade goes on only if none did. Default 0: no shadow run. Not in mode none (no backup to run it on)."})
    long shadow;

    @Option(names = "--bake", paramLabel = "SECONDS", defaultValue = "0",
            description = {"Once every primary (in dmr and tmr, every orderer) runs the new version, keep the old version's last",
                    "replicas for SECONDS more, ready to take over (and roll the upgrade back) if the new version fails; then",
                    "replace them. Default 0: replace them at once. At most 86400."})
    long bakeSeconds;

    @Option(names = "--no-wait", description = "Start the upgrade and return; follow it with `pairstep services` or `pairstep events`.")
    boolean noWait;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600",
            description = "How long to follow the upgrade before giving up waiting (it goes on); default ${DEFAULT-VALUE}.")
    long timeoutSeconds;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if ((jar == null) == (example == null)) {
            throw new CliException("say what to upgrade to: --jar PATH [--class FQCN], or --example NAME", ExitCodes.USAGE);
        }
        if (example != null && className != null) {
            throw new CliException("--class goes with --jar, not with --example", ExitCodes.USAGE);
        }
        if (shadow < 0) {
            throw new CliException("--shadow must be 0 or more commands, got " + shadow, ExitCodes.USAGE);
        }
        if (bakeSeconds < 0 || bakeSeconds > 86_400) {
            throw new CliException("--bake must be from 0 to 86400 seconds, got " + bakeSeconds, ExitCodes.USAGE);
        }
        if (timeoutSeconds < 1) {
            throw new CliException("--timeout must be at least 1 second, got " + timeoutSeconds, ExitCodes.USAGE);
        }
        system.validate();
        ObjectNode body = Json.MAPPER.createObjectNode();
        PrintWriter out = spec.commandLine().getOut();
        try (ApiClient client = system.client()) {
            if (jar != null) {
                byte[] bytes = readJar(jar);
                String digest = DeployCommand.sha256(bytes);
                String uploadClass = className != null ? className.strip() : currentClass(client);
                DeployCommand.upload(client, bytes, digest, uploadClass);
                body.put("digest", digest);
                body.put("class", uploadClass);
            } else {
                body.put("example", example);
            }
            body.put("shadow", shadow);
            if (bakeSeconds > 0) {
                body.put("bakeSeconds", bakeSeconds);
            }
            JsonNode started = client.post("/v1/services/" + name + "/upgrade", Json.MAPPER.writeValueAsBytes(body), "application/json",
                    Map.of(), DeployCommand.TIMEOUT, false).requireOk().json();
            out.printf("upgrading %s from version %s to %s (%s)%s%n", name, Json.text(started, "from", "?"), Json.text(started, "to", "?"),
                    Json.text(started, "artifact", "?"), shadow > 0 ? ", first " + shadow + " commands in shadow mode" : "");
            out.flush();
            if (noWait) {
                return ExitCodes.OK;
            }
            return follow(client, out, Json.text(started, "to", "?"), Json.text(started, "artifact", "?"));
        }
    }

    /** Prints each change of the upgrade's progress until it ends; its exit code. */
    private int follow(ApiClient client, PrintWriter out, String to, String artifact) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            JsonNode services = services(client);
            if (services == null) {
                Thread.sleep(POLL.toMillis());
                continue;
            }
            JsonNode upgrade = upgradeOf(services);
            // The node asked may not have applied this upgrade yet and still show an earlier one to
            // the same version (one that rolled back or stopped): only this artifact's counts.
            if (upgrade != null && Json.text(upgrade, "to", "").equals(to) && Json.text(upgrade, "toArtifact", "").equals(artifact)) {
                String state = Json.text(upgrade, "state", "?");
                String line = state.startsWith("shadow")
                        ? "shadow: " + upgrade.path("shadowed").size() + " partitions compared, " + upgrade.path("differences").size()
                                + " outputs differed" + (upgrade.has("waiting") ? "; " + Json.text(upgrade, "waiting", "") : "")
                        : state.equals("baking")
                        ? "baking: every primary runs version " + to + "; version " + Json.text(upgrade, "from", "?")
                                + " stays as backup for " + Json.text(upgrade, "bakeSeconds", "?") + " s"
                        : state + ": " + Json.text(upgrade, "replicasAtTarget", "?") + "/" + Json.text(upgrade, "replicas", "?")
                                + " replicas at version " + (state.startsWith("roll") ? Json.text(upgrade, "from", "?") : to)
                                + (upgrade.has("waiting") ? "; " + Json.text(upgrade, "waiting", "") : "");
                if (!line.equals(last)) {
                    out.println(line);
                    out.flush();
                    last = line;
                }
                if (state.equals("done")) {
                    out.printf("%s now runs version %s%n", name, to);
                    return ExitCodes.OK;
                }
                if (state.equals("shadow-differed")) {
                    for (JsonNode difference : upgrade.path("differences")) {
                        out.println("  differs: " + difference.asString());
                    }
                    out.flush();
                    throw new CliException("the upgrade of " + name + " to version " + to + " stopped: " + Json.text(upgrade, "reason", "?"),
                            ExitCodes.ERROR);
                }
                if (state.equals("rolled-back")) {
                    throw new CliException("the upgrade of " + name + " to version " + to + " rolled back: " + Json.text(upgrade, "reason", "?"),
                            ExitCodes.ERROR);
                }
            }
            Thread.sleep(POLL.toMillis());
        }
        throw new CliException("the upgrade of " + name + " did not end within " + timeoutSeconds
                + " s; it goes on (follow it with `pairstep services` or `pairstep events`)", ExitCodes.ERROR);
    }

    /**
     * The services document, or null when no node gives it now: a node busy catching up with the
     * controller answers 503 for a moment (the client then asks the others), and nodes may be down.
     * The upgrade goes on meanwhile, so following it polls again.
     */
    private static JsonNode services(ApiClient client) {
        ApiClient.Response answer;
        try {
            answer = client.get("/v1/services", StatusCommand.TIMEOUT);
        } catch (CliException e) {
            return null; // no node answers now
        }
        return answer.status() == 503 ? null : answer.requireOk().json();
    }

    private JsonNode upgradeOf(JsonNode services) {
        for (JsonNode service : services) {
            if (Json.text(service, "name", "").equals(name)) {
                return service.get("upgrade");
            }
        }
        throw new CliException("service " + name + " is no longer deployed", ExitCodes.ERROR);
    }

    /** The class the service runs now, so that --class may be left out when the new jar keeps it. */
    private String currentClass(ApiClient client) {
        for (JsonNode service : client.get("/v1/services", StatusCommand.TIMEOUT).requireOk().json()) {
            if (Json.text(service, "name", "").equals(name)) {
                String current = Json.text(service, "class", "");
                if (current.isEmpty()) {
                    throw new CliException("service " + name + " runs a bundled example: give --class FQCN for the jar", ExitCodes.USAGE);
                }
                return current;
            }
        }
        throw new CliException("unknown service " + name, ExitCodes.ERROR);
    }

    private static byte[] readJar(Path jar) {
        Path abs = jar.toAbsolutePath().normalize();
        if (!Files.isRegularFile(abs)) {
            throw new CliException("--jar: no such file: " + abs, ExitCodes.USAGE);
        }
        try {
            return Files.readAllBytes(abs);
        } catch (IOException e) {
            throw new CliException("--jar: cannot read " + abs + ": " + e.getMessage(), ExitCodes.USAGE);
        }
    }
}
