package io.pairstep.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pairstep call NAME [--key K] PAYLOAD}: sends one command to a service. */
@Command(name = "call", mixinStandardHelpOptions = true,
        description = {"Sends one command to a service and prints its result.",
                "Example: pairstep call kv --key a '{\"op\":\"get\",\"key\":\"a\"}' --dir DIR"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the service's result is printed",
                "1:error: unknown service, unavailable, unreachable system, ...",
                "2:usage error",
                "3:the service refused the command (HTTP 422, an application error)"})
public final class CallCommand implements Callable<Integer> {

    @Mixin
    SystemOptions system = new SystemOptions();

    @Parameters(index = "0", paramLabel = "NAME", description = "The service.")
    String name;

    @Parameters(index = "1", paramLabel = "PAYLOAD", description = "The command's text; '-' reads it from stdin.")
    String payload;

    @Option(names = "--key", paramLabel = "K", description = "The key that picks the partition.")
    String key;

    @Option(names = "--idempotency-key", paramLabel = "TEXT",
            description = "Runs the command at most once per TEXT; a retry returns the first answer. "
                    + "With it, a node that does not answer is retried on the next node.")
    String idempotencyKey;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "How long to wait for the answer (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Spec
    CommandSpec spec;

    static String path(String name, String key) {
        return "/v1/services/" + Urls.encode(name) + "/call" + (key == null ? "" : "?key=" + Urls.encode(key));
    }

    @Override
    public Integer call() {
        if (name == null || name.isBlank()) {
            throw new CliException("NAME must not be empty", ExitCodes.USAGE);
        }
        if (timeoutSeconds < 1) {
            throw new CliException("--timeout must be >= 1 second, got " + timeoutSeconds, ExitCodes.USAGE);
        }
        system.validate();
        byte[] body = readPayload();
        Map<String, String> headers = new LinkedHashMap<>();
        if (idempotencyKey != null) {
            headers.put("Idempotency-Key", idempotencyKey);
        }
        ApiClient.Response r;
        try (ApiClient client = system.client()) {
            r = client.post(path(name, key), body, "application/octet-stream", headers,
                    Duration.ofSeconds(timeoutSeconds), idempotencyKey != null);
        }
        if (r.status() == 422) {
            throw new CliException(r.errorMessage(), ExitCodes.APPLICATION_ERROR);
        }
        r.requireOk();
        PrintWriter out = spec.commandLine().getOut();
        String text = new String(r.body(), StandardCharsets.UTF_8);
        out.print(text);
        if (!text.isEmpty() && !text.endsWith("\n")) {
            out.println();
        }
        out.flush();
        return ExitCodes.OK;
    }

    private byte[] readPayload() {
        if (!"-".equals(payload)) {
            return payload.getBytes(StandardCharsets.UTF_8);
        }
        try {
            return System.in.readAllBytes();
        } catch (IOException e) {
            throw new CliException("cannot read the payload from stdin: " + ApiClient.describe(e));
        }
    }
}
