package io.pairstep.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import tools.jackson.databind.JsonNode;

/** {@code pairstep node drain|undrain|remove ID}: a node's place in the system, through the admin API of any node. */
final class NodeAdminCommands {

    private NodeAdminCommands() {}

    /** What every node command names and talks to. */
    abstract static class NodeTarget implements Callable<Integer> {

        @Mixin
        SystemOptions system = new SystemOptions();

        @Parameters(index = "0", paramLabel = "ID", description = "The node, e.g. n4.")
        String id;

        @Spec
        CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }
    }

    @Command(name = "drain", mixinStandardHelpOptions = true,
            description = {"Moves every replica off a node, one at a time while every group stays protected, and gives it no",
                    "new ones; waits until it hosts nothing and says it can be stopped. Lockstep members move too (a DMR member once a third has synced)."})
    static final class Drain extends NodeTarget {

        @Option(names = "--wait", paramLabel = "SECONDS", description = "How long to wait for the node to empty; 0 returns at once"
                + " (default ${DEFAULT-VALUE}).")
        int waitSeconds = 120;

        @Override
        public Integer call() throws InterruptedException {
            system.validate();
            if (waitSeconds < 0) {
                throw new CliException("--wait must be >= 0, was " + waitSeconds, ExitCodes.USAGE);
            }
            try (ApiClient client = system.client()) {
                JsonNode answer = client.post("/v1/nodes/" + Urls.encode(id) + "/drain", new byte[0], "application/json",
                        java.util.Map.of(), StatusCommand.TIMEOUT, true).requireOk().json();
                out().printf("draining %s: %d replica(s) to move%n", id, answer.path("replicas").asInt());
                long deadline = System.nanoTime() + Duration.ofSeconds(waitSeconds).toNanos();
                int left = answer.path("replicas").asInt();
                while (left > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(250);
                    left = replicasOn(client, id);
                }
                if (left > 0) {
                    out().printf("%s still hosts %d replica(s)%s; `pairstep status` shows which%n", id, left,
                            waitSeconds == 0 ? "" : " after " + waitSeconds + " s");
                    return waitSeconds == 0 ? ExitCodes.OK : ExitCodes.ERROR;
                }
                out().printf("%s is drained: it hosts no replica and can be stopped (then `pairstep node remove %s`)%n", id, id);
                return ExitCodes.OK;
            }
        }

        private static int replicasOn(ApiClient client, String id) {
            for (JsonNode node : client.get("/v1/nodes", StatusCommand.TIMEOUT).requireOk().json()) {
                if (id.equals(Json.text(node, "id", null))) {
                    return node.path("replicas").asInt();
                }
            }
            throw new CliException("node " + id + " is no longer in the system");
        }
    }

    @Command(name = "undrain", mixinStandardHelpOptions = true,
            description = "Lets a drained node host replicas again; it takes its share back one replica at a time.")
    static final class Undrain extends NodeTarget {
        @Override
        public Integer call() {
            system.validate();
            try (ApiClient client = system.client()) {
                client.post("/v1/nodes/" + Urls.encode(id) + "/undrain", new byte[0], "application/json", java.util.Map.of(),
                        StatusCommand.TIMEOUT, true).requireOk();
            }
            out().printf("%s takes replicas again%n", id);
            return ExitCodes.OK;
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = {"Removes a node that is down, or drained and empty, from the system. A node that votes in the",
                    "controller first hands its vote to another live node (one that is up and not draining), so the",
                    "controller keeps its three voters; with no such node, nothing changes (add a node first)."})
    static final class Remove extends NodeTarget {
        /** Moving a vote takes two configuration changes of the controller, through an election if one is due. */
        static final java.time.Duration TIMEOUT = java.time.Duration.ofSeconds(30);

        @Override
        public Integer call() {
            system.validate();
            tools.jackson.databind.JsonNode answer;
            try (ApiClient client = system.client()) {
                answer = client.delete("/v1/nodes/" + Urls.encode(id), TIMEOUT).requireOk().json();
            }
            tools.jackson.databind.JsonNode moved = answer == null ? null : answer.get("voteMovedTo");
            if (moved != null && !moved.isNull()) {
                out().printf("%s removed; its vote in the controller moved to %s%n", id, moved.asString());
            } else {
                out().printf("%s removed%n", id);
            }
            return ExitCodes.OK;
        }
    }
}
