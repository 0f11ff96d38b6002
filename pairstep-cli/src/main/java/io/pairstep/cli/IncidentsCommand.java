package io.pairstep.cli;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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

/** {@code pairstep incidents}: the incidents the controller keeps (GET /v1/incidents), and {@code incidents ack ID}. */
@Command(name = "incidents", mixinStandardHelpOptions = true,
        description = {"Shows the incidents: faults the system found (a node down, a replica isolated, a lockstep group halted),"
                + " each with its component, what happened and what to do.",
                "An incident resolves by itself once its component is healed; by default only open and acknowledged ones are shown."},
        subcommands = {IncidentsCommand.Ack.class})
public final class IncidentsCommand implements Callable<Integer> {

    @Mixin
    SystemOptions system = new SystemOptions();

    @Option(names = "--all", description = "Show resolved incidents too (the controller keeps the latest 100).")
    boolean all;

    @Option(names = "--json", description = "Print the incidents as the node sent them: a JSON array.")
    boolean json;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        system.validate();
        JsonNode incidents;
        try (ApiClient client = system.client()) {
            incidents = client.get("/v1/incidents" + (all ? "" : "?state=open,acknowledged"), EventsCommand.TIMEOUT).requireOk().json();
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(json ? Json.PRETTY.writeValueAsString(incidents) + "\n" : render(incidents, all));
        out.flush();
        return ExitCodes.OK;
    }

    /** A table of the incidents, each followed by what happened and the suggested action while it is not resolved. */
    static String render(JsonNode incidents, boolean all) {
        if (incidents.isEmpty()) {
            return all ? "no incidents\n" : "no open incidents\n";
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"ID", "STATE", "KIND", "COMPONENT", "OPENED", "UPDATED"});
        for (JsonNode incident : incidents) {
            rows.add(new String[] {Json.text(incident, "id", "?"), Json.text(incident, "state", "?"), Json.text(incident, "kind", "?"),
                    Json.text(incident.path("component"), "id", "?"), Json.text(incident, "openedAt", "?"),
                    Json.text(incident, "updatedAt", "?")});
        }
        StringBuilder table = new StringBuilder();
        StatusTable.table(table, rows);
        String[] lines = table.toString().split("\n");
        StringBuilder out = new StringBuilder(lines[0]).append('\n');
        for (int i = 0; i < incidents.size(); i++) {
            JsonNode incident = incidents.get(i);
            out.append(lines[i + 1]).append('\n');
            out.append("    ").append(Json.text(incident, "what", "")).append('\n');
            String dump = Json.text(incident.path("evidence"), "dumpFile", null);
            if (dump != null) {
                out.append("    dump: ").append(dump).append('\n');
            }
            if (!"resolved".equals(Json.text(incident, "state", ""))) {
                out.append("    to do: ").append(Json.text(incident, "suggestedAction", "")).append('\n');
            } else {
                JsonNode history = incident.path("history");
                out.append("    ").append(Json.text(history.get(history.size() - 1), "message", "")).append('\n');
            }
        }
        return out.toString();
    }

    /** {@code pairstep incidents ack ID}. */
    @Command(name = "ack", mixinStandardHelpOptions = true,
            description = "Acknowledges an incident: someone is on it. It stays until its component is healed.")
    static final class Ack implements Callable<Integer> {

        @Mixin
        SystemOptions system = new SystemOptions();

        @Parameters(paramLabel = "ID", description = "The incident's id, as 'pairstep incidents' shows it.")
        long id;

        @Option(names = "--by", paramLabel = "WHO", description = "Who acknowledges, for the incident's history (default: your user name).")
        String by = System.getProperty("user.name", "");

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            system.validate();
            ObjectNode body = Json.MAPPER.createObjectNode();
            body.put("by", by);
            JsonNode incident;
            try (ApiClient client = system.client()) {
                // Acknowledging twice changes nothing, so a retry on another node is safe.
                incident = client.post("/v1/incidents/" + id + "/ack", Json.MAPPER.writeValueAsString(body).getBytes(StandardCharsets.UTF_8),
                        "application/json", Map.of(), EventsCommand.TIMEOUT, true).requireOk().json();
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println("incident " + id + " acknowledged: " + Json.text(incident, "kind", "?") + " "
                    + Json.text(incident.path("component"), "id", "?") + ", " + Json.text(incident, "state", "?"));
            out.flush();
            return ExitCodes.OK;
        }
    }
}
