package io.pairstep.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code pairstep services}: every service with its version, digest, mode, partitions and health (GET /v1/services). */
@Command(name = "services", mixinStandardHelpOptions = true,
        description = {"Lists the deployed services: version, artifact digest, mode, partitions and health",
                "(ok: every partition fully protected; degraded: serving with less protection; halted: a group releases nothing)."})
public final class ServicesCommand implements Callable<Integer> {

    @Mixin
    SystemOptions system = new SystemOptions();

    @Option(names = "--json", description = "Print the list as the node sent it.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        return StatusCommand.show(system, "/v1/services", json, ServicesCommand::render, spec.commandLine().getOut());
    }

    static String render(JsonNode services) {
        if (services.isEmpty()) {
            return "no services deployed\n";
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"SERVICE", "VERSION", "MODE", "PARTITIONS", "HEALTH", "LAST UPGRADE", "ARTIFACT"});
        for (JsonNode s : services) {
            JsonNode u = s.get("upgrade");
            String upgrade = u == null ? "-" : Json.text(u, "from", "?") + "->" + Json.text(u, "to", "?") + " " + Json.text(u, "state", "?");
            rows.add(new String[] {Json.text(s, "name", "?"), Json.text(s, "version", "-"), Json.text(s, "mode", "-"),
                    Json.text(s, "partitions", "-"), Json.text(s, "health", "-"), upgrade, Json.text(s, "artifact", "-")});
        }
        StringBuilder sb = new StringBuilder();
        StatusTable.table(sb, rows);
        for (JsonNode s : services) {
            JsonNode u = s.get("upgrade");
            if (u != null && u.has("waiting")) {
                // A lockstep upgrade waits for commands to prove its new members: without load it waits.
                sb.append(Json.text(s, "name", "?")).append(": ").append(Json.text(u, "waiting", "")).append('\n');
            }
        }
        return sb.toString();
    }
}
