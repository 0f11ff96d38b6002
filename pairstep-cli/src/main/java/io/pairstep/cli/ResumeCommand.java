package io.pairstep.cli;

import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/**
 * {@code pairstep resume SERVICE [--partition P] --trust NODE}: resumes a halted lockstep group from
 * the member an operator trusts (POST /v1/services/{name}/partitions/{p}/resume).
 */
@Command(name = "resume", mixinStandardHelpOptions = true,
        description = {"Resumes a halted dmr or tmr group: the member on the trusted node becomes its only member and",
                "orderer, the others leave (each writes a dump under its node's DATA/dumps/), and fresh members are rebuilt",
                "from it. Read the halt's evidence (pairstep status) and the dumps first: the trusted state becomes the truth."})
public final class ResumeCommand implements Callable<Integer> {

    @Mixin
    SystemOptions system = new SystemOptions();

    @Parameters(index = "0", paramLabel = "SERVICE", description = "The service, e.g. kv.")
    String service;

    @Option(names = "--partition", paramLabel = "P", defaultValue = "0", description = "The halted partition (default: ${DEFAULT-VALUE}).")
    int partition;

    @Option(names = "--trust", paramLabel = "NODE", required = true,
            description = "The node whose member holds the right state, e.g. n1.")
    String trust;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (partition < 0) {
            throw new CliException("--partition must be >= 0, got " + partition, ExitCodes.USAGE);
        }
        if (trust.isBlank()) {
            throw new CliException("--trust must name a node, e.g. n1", ExitCodes.USAGE);
        }
        system.validate();
        try (ApiClient client = system.client()) {
            JsonNode answer = client.post("/v1/services/" + Urls.encode(service) + "/partitions/" + partition + "/resume?trust="
                    + Urls.encode(trust.strip()), new byte[0], "application/json", Map.of(), StatusCommand.TIMEOUT, false).requireOk().json();
            spec.commandLine().getOut().printf("resumed %s/%d from %s (epoch %d); fresh members are rebuilt from it%n", service,
                    partition, Json.text(answer, "orderer", trust), answer.path("epoch").asLong());
            return ExitCodes.OK;
        }
    }
}
