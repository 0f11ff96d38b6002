package io.pairstep.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
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

/**
 * {@code pairstep dump SERVICE [--partition P] [--out FILE]}: a consistent dump of a running
 * partition, taken from a backup or non-ordering voter through the admin API; {@code pairstep dump
 * --inspect FILE} prints a dump readably.
 */
@Command(name = "dump", mixinStandardHelpOptions = true,
        description = {"Takes a consistent dump of a running partition from a backup or voting member (the primary only when",
                "no other member is in sync), without pausing the primary; the dump names the epoch and log index it reflects.",
                "--inspect FILE prints a dump readably, also those the nodes write under DATA/dumps/."})
public final class DumpCommand implements Callable<Integer> {

    /** A dump holds the whole state; serializing and moving it may take longer than a status. */
    static final Duration TIMEOUT = Duration.ofSeconds(90);

    @Mixin
    SystemOptions system = new SystemOptions();

    @Parameters(index = "0", arity = "0..1", paramLabel = "SERVICE", description = "The service to dump.")
    String service;

    @Option(names = "--partition", paramLabel = "P", description = "The partition (default ${DEFAULT-VALUE}).")
    int partition = 0;

    @Option(names = "--out", paramLabel = "FILE",
            description = "Where to write the dump (default: SERVICE-P-eEPOCH-iINDEX.dump in the current directory).")
    Path out;

    @Option(names = "--node", paramLabel = "ID",
            description = "Dump the member on this node (default: an in-sync backup or non-ordering voter, so the primary never pauses).")
    String node;

    @Option(names = "--inspect", paramLabel = "FILE", description = "Print this dump readably instead of taking one; for a bundled"
            + " example it also restores the state into a fresh replica and prints the SHA-256 of its state.")
    Path inspect;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter printer = spec.commandLine().getOut();
        if (inspect != null) {
            if (service != null || out != null || node != null) {
                throw new CliException("--inspect FILE takes no SERVICE, --out or --node", ExitCodes.USAGE);
            }
            inspect(inspect).print(printer);
            return ExitCodes.OK;
        }
        if (service == null) {
            throw new CliException("missing SERVICE (or --inspect FILE)", ExitCodes.USAGE);
        }
        if (partition < 0) {
            throw new CliException("--partition must be >= 0", ExitCodes.USAGE);
        }
        system.validate();
        String text;
        try (ApiClient client = system.client()) {
            // Safe to repeat (a dump changes nothing), but a retry would only double a slow request.
            if (node != null && node.isBlank()) {
                throw new CliException("--node must name a node, e.g. n2", ExitCodes.USAGE);
            }
            text = client.post("/v1/services/" + Urls.encode(service) + "/partitions/" + partition + "/dump"
                            + (node == null ? "" : "?node=" + Urls.encode(node.strip())), new byte[0],
                    "application/json", Map.of(), TIMEOUT, false).requireOk().text();
        }
        DumpFile dump = DumpFile.parse(text, "the node's answer");
        Path file = out != null ? out : Path.of(service + "-" + partition + "-e" + dump.get("epoch") + "-i" + dump.get("index") + ".dump");
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CliException("cannot write the dump to " + file + ": " + e.getMessage());
        }
        printer.printf("dump of %s partition %d from %s (%s) at epoch %s, index %s written to %s%n", service, partition, dump.get("node"),
                dump.header().getOrDefault("role", "member"), dump.get("epoch"), dump.get("index"), file.toAbsolutePath());
        if ("primary".equals(dump.get("role"))) {
            printer.println("note: " + dump.get("reason"));
        }
        printer.flush();
        return ExitCodes.OK;
    }

    static DumpFile inspect(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CliException("cannot read " + file + ": " + e.getClass().getSimpleName() + " " + e.getMessage());
        }
        return DumpFile.parse(text, file.toString());
    }
}
