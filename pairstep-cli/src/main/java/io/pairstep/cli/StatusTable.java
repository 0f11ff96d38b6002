package io.pairstep.cli;

import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;

/** Renders a status document ({@code GET /v1/status}) as readable tables. */
final class StatusTable {

    private StatusTable() {
    }

    static String render(JsonNode status) {
        StringBuilder sb = new StringBuilder();
        sb.append("system ").append(Json.text(status, "system", "?")).append("\n\n");

        // A node that names the controller's voters gets a column saying who votes and who leads.
        List<String> voters = new ArrayList<>();
        status.path("controllerVoters").forEach(v -> voters.add(v.asString()));
        String leader = Json.text(status, "controllerLeader", "");
        List<String[]> nodes = new ArrayList<>();
        nodes.add(voters.isEmpty() ? new String[] {"NODE", "STATE", "PID", "HTTP", "RPC"}
                : new String[] {"NODE", "STATE", "PID", "HTTP", "RPC", "CONTROLLER"});
        for (JsonNode n : status.path("nodes")) {
            long pid = n.path("pid").asLong(0);
            String id = Json.text(n, "id", "?");
            String[] row = {id, Json.text(n, "state", "?"),
                    pid > 0 ? Long.toString(pid) : "-", Json.text(n, "http", "-"), Json.text(n, "rpc", "-")};
            if (!voters.isEmpty()) {
                String role = voters.contains(id) ? (id.equals(leader) ? "voter, leader" : "voter") : "listener";
                row = java.util.Arrays.copyOf(row, 6);
                row[5] = role;
            }
            nodes.add(row);
        }
        if (nodes.size() == 1) {
            sb.append("no nodes\n");
        } else {
            table(sb, nodes);
        }
        sb.append('\n');

        List<String[]> services = new ArrayList<>();
        services.add(new String[] {"SERVICE", "VERSION", "MODE", "PARTITIONS", "ARTIFACT"});
        for (JsonNode s : status.path("services")) {
            services.add(new String[] {Json.text(s, "name", "?"), Json.text(s, "version", "-"),
                    Json.text(s, "mode", "-"), Json.text(s, "partitions", "-"), Json.text(s, "artifact", "-")});
        }
        if (services.size() == 1) {
            sb.append("no services deployed\n");
            return sb.toString();
        }
        table(sb, services);
        sb.append('\n');

        List<String[]> groups = new ArrayList<>();
        groups.add(new String[] {"GROUP", "MODE", "EPOCH", "REPLICAS"});
        for (JsonNode g : status.path("groups")) {
            List<String> replicas = new ArrayList<>();
            for (JsonNode r : g.path("replicas")) {
                replicas.add(Json.text(r, "node", "?") + " " + Json.text(r, "role", "?") + " "
                        + Json.text(r, "state", "?"));
            }
            groups.add(new String[] {Json.text(g, "service", "?") + "/" + Json.text(g, "partition", "?"),
                    Json.text(g, "mode", "-"), Json.text(g, "epoch", "-"),
                    replicas.isEmpty() ? "(no replicas)" : String.join(", ", replicas)});
        }
        if (groups.size() == 1) {
            sb.append("no replica groups\n");
        } else {
            table(sb, groups);
        }
        // What a row cannot hold: lockstep groups that release nothing, and why.
        for (JsonNode g : status.path("groups")) {
            String group = Json.text(g, "service", "?") + "/" + Json.text(g, "partition", "?");
            if (g.has("halted")) {
                sb.append('\n').append(group).append(" HALTED, releases no result: ").append(Json.text(g, "halted", "?"))
                        .append("\n  (read the dumps, then: pairstep resume ").append(Json.text(g, "service", "?")).append(" --partition ")
                        .append(Json.text(g, "partition", "?")).append(" --trust NODE)\n");
            } else if (g.has("dispute")) {
                JsonNode d = g.get("dispute");
                sb.append('\n').append(group).append(" disputed at entry ").append(Json.text(d, "index", "?")).append(": ")
                        .append(Json.text(d, "orderer", "?")).append(" and ").append(Json.text(d, "other", "?"))
                        .append(" disagree; a referee executes it again\n");
            }
        }
        return sb.toString();
    }

    /** Left-aligned columns separated by two spaces; the last column is not padded. */
    static void table(StringBuilder sb, List<String[]> rows) {
        int cols = rows.get(0).length;
        int[] width = new int[cols];
        for (String[] row : rows) {
            for (int i = 0; i < cols; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < cols; i++) {
                line.append(row[i]);
                if (i < cols - 1) {
                    line.append(" ".repeat(width[i] - row[i].length() + 2));
                }
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
    }
}
