package io.pairstep.runtime;

import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.Member;
import io.pairstep.core.control.QuarantinedCommand;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.core.control.ServiceUpgrade;
import java.util.Locale;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/** The status document of {@code GET /v1/status} and {@code pairstep status --json}. */
final class StatusDocument {

    static final ObjectMapper JSON = new ObjectMapper();

    private StatusDocument() {}

    static String json(ControllerState state) {
        return json(state, java.util.List.of());
    }

    /** @param voters the nodes that vote in the controller now, as this node knows them */
    static String json(ControllerState state, java.util.Collection<String> voters) {
        ObjectNode root = JSON.createObjectNode();
        root.put("system", state.systemId());
        // Raised by every configuration change: of two documents, the higher version is the newer.
        root.put("version", state.version());
        // The node leading the controller, as last recorded in the controller state.
        root.put("controllerLeader", state.controllerLeader());
        // The nodes that vote in the controller (the rest follow its log); a removed voter's vote moves to another node.
        ArrayNode voting = root.putArray("controllerVoters");
        voters.stream().sorted().forEach(voting::add);
        ArrayNode nodes = root.putArray("nodes");
        for (Member member : state.members().values()) {
            ObjectNode node = nodes.addObject();
            node.put("id", member.id());
            node.put("state", member.alive() ? "up" : "down");
            node.put("pid", member.pid());
            node.put("http", member.http());
            node.put("rpc", member.rpc());
            node.put("voter", voters.contains(member.id()));
        }
        ArrayNode services = root.putArray("services");
        for (ServiceSpec spec : state.services().values()) {
            ObjectNode service = services.addObject();
            service.put("name", spec.name());
            service.put("version", spec.version());
            service.put("mode", spec.mode().label());
            service.put("partitions", spec.partitions());
            service.put("artifact", spec.artifact());
            service.put("digest", spec.artifactDigest());
            digestEvery(spec, service);
            upgrade(state, spec, service);
        }
        ArrayNode groups = root.putArray("groups");
        for (GroupConfig config : state.groups().values()) {
            ObjectNode group = groups.addObject();
            group.put("service", config.group().service());
            group.put("partition", config.group().partition());
            group.put("mode", config.mode().label());
            group.put("epoch", config.epoch());
            if (config.halted() != null) {
                group.put("halted", config.halted()); // a lockstep group that stopped releasing, and why
            }
            if (config.dispute() != null) {
                // A DMR group whose members disagreed: a referee re-executes the entry, the majority decides.
                ObjectNode dispute = group.putObject("dispute");
                dispute.put("index", config.dispute().index());
                dispute.put("orderer", config.dispute().orderer());
                dispute.put("other", config.dispute().other());
                dispute.put("evidence", config.dispute().evidence());
            }
            if (!config.quarantined().isEmpty()) {
                // Poison commands: each crashed or hung a replica, and is refused from then on.
                ArrayNode quarantined = group.putArray("quarantined");
                for (QuarantinedCommand poison : config.quarantined()) {
                    ObjectNode entry = quarantined.addObject();
                    entry.put("session", Long.toHexString(poison.session()));
                    entry.put("sequence", poison.sequence());
                    entry.put("payload", poison.payload());
                    entry.put("payloadBytes", poison.payloadBytes());
                    entry.put("node", poison.node());
                    entry.put("epoch", poison.epoch());
                    entry.put("reason", poison.reason());
                }
            }
            ArrayNode replicas = group.putArray("replicas");
            for (ReplicaAssignment assignment : config.replicas()) {
                ObjectNode replica = replicas.addObject();
                replica.put("node", assignment.node());
                replica.put("role", assignment.role().name().toLowerCase(Locale.ROOT));
                replica.put("state", assignment.state().name().toLowerCase(Locale.ROOT));
                replica.put("version", assignment.version());
            }
        }
        return JSON.writeValueAsString(root);
    }

    /** The answer of {@code GET /v1/services} and {@code pairstep services --json}. */
    static ArrayNode services(ControllerState state) {
        ArrayNode services = JSON.createArrayNode();
        for (ServiceSpec spec : state.services().values()) {
            int groups = 0;
            int fullyProtected = 0;
            int halted = 0;
            for (GroupConfig group : state.groups().values()) {
                if (group.group().service().equals(spec.name())) {
                    groups++;
                    fullyProtected += group.fullyProtected() ? 1 : 0;
                    halted += group.halted() != null ? 1 : 0;
                }
            }
            ObjectNode service = services.addObject();
            service.put("name", spec.name());
            service.put("version", spec.version());
            service.put("artifact", spec.artifact());
            service.put("digest", spec.artifactDigest());
            service.put("class", spec.className());
            service.put("mode", spec.mode().label());
            service.put("partitions", spec.partitions());
            service.put("health", health(spec.partitions(), groups, fullyProtected, halted));
            service.put("fullyProtected", fullyProtected);
            digestEvery(spec, service);
            upgrade(state, spec, service);
        }
        return services;
    }

    /** For a lockstep service, how often its members compare state digests, under {@code "digestEvery"}. */
    private static void digestEvery(ServiceSpec spec, ObjectNode service) {
        if (spec.mode().lockstep()) {
            service.put("digestEvery", spec.digestEvery());
        }
    }

    /** The service's latest upgrade, under {@code "upgrade"}, if it had one. */
    private static void upgrade(ControllerState state, ServiceSpec spec, ObjectNode service) {
        ServiceUpgrade upgrade = state.upgrades().get(spec.name());
        if (upgrade == null) {
            return;
        }
        ObjectNode node = service.putObject("upgrade");
        node.put("from", upgrade.from().version());
        node.put("to", upgrade.to().version());
        node.put("toArtifact", upgrade.to().artifact());
        node.put("state", upgrade.state().label());
        if (upgrade.reason() != null) {
            node.put("reason", upgrade.reason());
        }
        if (upgrade.shadow() > 0) {
            node.put("shadow", upgrade.shadow());
            ArrayNode shadowed = node.putArray("shadowed");
            upgrade.shadowed().forEach(shadowed::add);
            ArrayNode differences = node.putArray("differences");
            upgrade.differences().forEach(differences::add);
        }
        if (upgrade.bakeMillis() > 0) {
            node.put("bakeSeconds", upgrade.bakeMillis() / 1000);
        }
        long replicas = 0;
        long moved = 0;
        for (GroupConfig group : state.groups().values()) {
            if (group.group().service().equals(spec.name())) {
                for (ReplicaAssignment replica : group.replicas()) {
                    replicas++;
                    moved += replica.version() == upgrade.target().version() && replica.state() == ReplicaState.OK ? 1 : 0;
                }
            }
        }
        node.put("replicas", replicas);
        node.put("replicasAtTarget", moved);
        if (upgrade.from().mode().lockstep()) {
            // Members of the new version whose orderer reported them proven (see ServiceUpgrade), and
            // what the upgrade waits for now, if for proofs.
            node.put("provenMembers", upgrade.proven().size());
            node.put("provenCommands", ServiceUpgrade.PROVEN_COMMANDS_MIN);
            String waiting = state.upgradeWaiting(spec.name());
            if (waiting != null) {
                node.put("waiting", waiting);
            }
        }
    }

    /**
     * {@code halted} when a group releases nothing, {@code ok} when every partition has its group
     * with every replica its mode asks for in sync, else {@code degraded} (it serves, with less
     * protection than it should have, or a partition has no group yet).
     */
    static String health(int partitions, int groups, int fullyProtected, int halted) {
        if (halted > 0) {
            return "halted";
        }
        return groups == partitions && fullyProtected == partitions ? "ok" : "degraded";
    }
}
