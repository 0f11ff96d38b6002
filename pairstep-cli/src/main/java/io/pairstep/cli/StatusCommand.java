package io.pairstep.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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
        system.validate();
        ApiClient.Response r;
        try (ApiClient client = system.client()) {
            r = client.get("/v1/status", TIMEOUT).requireOk();
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            String text = new String(r.body(), StandardCharsets.UTF_8);
            out.print(text);
            if (!text.endsWith("\n")) {
                out.println();
            }
        } else {
            out.print(StatusTable.render(r.json()));
        }
        out.flush();
        return ExitCodes.OK;
    }
}
