package io.pairstep.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code pairstep status}: the system's nodes, services and replica groups (GET /v1/status). */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows the system's nodes, services and replica groups.")
public final class StatusCommand implements Callable<Integer> {

    static final Duration TIMEOUT = Duration.ofSeconds(5);

    @Mixin
    SystemOptions system = new SystemOptions();

    @Option(names = "--json", description = "Print the status document as the node sent it.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return show(system, "/v1/status", json, StatusTable::render, spec.commandLine().getOut());
    }

    /** GETs a document from the system and prints it as the node sent it ({@code --json}) or rendered. */
    static int show(SystemOptions system, String path, boolean json, Function<JsonNode, String> render, PrintWriter out) {
        system.validate();
        ApiClient.Response r;
        try (ApiClient client = system.client()) {
            r = client.get(path, TIMEOUT).requireOk();
        }
        if (json) {
            String text = new String(r.body(), StandardCharsets.UTF_8);
            out.print(text);
            if (!text.endsWith("\n")) {
                out.println();
            }
        } else {
            out.print(render.apply(r.json()));
        }
        out.flush();
        return ExitCodes.OK;
    }
}
