package io.pairstep.runtime.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlCommand.Bootstrap;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.NodeDown;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import io.pairstep.core.control.ControlCommand.ReplicaCaughtUp;
import io.pairstep.core.control.ControlCommand.ReplicaFailed;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.IncidentComponent;
import io.pairstep.core.control.IncidentKind;
import io.pairstep.core.control.IncidentReport;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.control.ServiceSpec;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ControlJsonTest {

    static final ServiceSpec KV = new ServiceSpec("kv", 1, Mode.PAIR, 2, "example:kv", "", "");

    /** One sample of every command type, including nulls and extreme values where a field allows them. */
    static Stream<ControlCommand> samples() {
        return Stream.of(
                new Bootstrap("sys-1"),
                new RegisterNode("n1", "127.0.0.1:8080", "127.0.0.1:9090", 7, 4242),
                new NodeDown("n2", Long.MAX_VALUE, "no heartbeat for 3000 ms"),
                new NodeDown("n2", 3, null),
                new Deploy(KV),
                new Deploy(new ServiceSpec("jarred", 4, Mode.NONE, 1, "sha256:" + "ab12".repeat(16), "ab12".repeat(16), "com.example.Svc")),
                new ReplicaCaughtUp(new GroupId("kv", 1), 5, "n3", 2),
                new ReplicaFailed(new GroupId("kv", 0), 9, "n1", "n2", "ack timeout \"quoted\" ü"),
                new ControlCommand.ControllerLeader("n3"),
                new ControlCommand.ReplicaDiverged(new GroupId("kv", 1), 4, "n1", "n3", 77, "output digest 0x1f != 0x2e"),
                new ControlCommand.GroupHalted(new GroupId("kv", 0), 6, "n2", 90, "two voters disagree, no self-check failed"),
                new ControlCommand.RefereeNeeded(new GroupId("kv", 0), 6, "n2", "n1", 90, "output digest 0x1f != 0x2e"),
                new ControlCommand.ResumeGroup(new GroupId("kv", 0), "n2", "resumed through the API of node n1"),
                new ControlCommand.OpenIncident(new IncidentReport(IncidentKind.REPLICA_ISOLATED,
                        IncidentComponent.replica(new GroupId("kv", 1), "n3"), "outvoted", List.of("e1", "e2 \"q\""), "n3:/d/x.dump",
                        "read the dump"), 1_763_000_000_000L),
                new ControlCommand.OpenIncident(new IncidentReport(IncidentKind.NODE_DOWN, IncidentComponent.node("n2"), "down",
                        List.of(), null, "restart it"), 0),
                new ControlCommand.AcknowledgeIncident(7, "ops@example.com", 5),
                new ControlCommand.ResolveIncident(Long.MAX_VALUE, "n2 is up again", 6),
                new ControlCommand.DrainNode("n4", true),
                new ControlCommand.DrainNode("n4", false),
                new ControlCommand.RemoveNode("n4"),
                new ControlCommand.ReplicaCrashed(new GroupId("kv", 0), 3, "n1", 2, 1, "java.lang.StackOverflowError",
                        new io.pairstep.core.control.QuarantinedCommand(-5, 9, "{\"op\":\"spin\"} ü", 16, "n1", 3, "watchdog")),
                new ControlCommand.ReplicaCrashed(new GroupId("kv", 1), 4, "n2", 1, 4, "injected", null),
                new ControlCommand.Upgrade(new ServiceSpec("kv", 2, Mode.PAIR, 2, "example:bank", "", ""), 0),
                new ControlCommand.Upgrade(new ServiceSpec("kv", 3, Mode.PAIR, 2, "example:kv", "", ""), 1000),
                new ControlCommand.Upgrade(new ServiceSpec("kv", 3, Mode.PAIR, 2, "example:kv", "", ""), 0, 60_000),
                new ControlCommand.UpgradeBaked("kv", 3),
                new ControlCommand.HandedOver(new GroupId("kv", 1), 7, "n2", 3, Long.MAX_VALUE),
                new ControlCommand.ShadowReport(new GroupId("kv", 1), "n2", 3, 1000, List.of("entry 12: {\"op\":\"x\"} -> a, was b")),
                new ControlCommand.ShadowReport(new GroupId("kv", 0), "n1", 3, 1000, List.of()),
                new ControlCommand.MemberProven(new GroupId("kv", 1), 12, "n1", "n3", 2, 11, 64),
                new ControlCommand.RecordAlert(new io.pairstep.core.control.AlertRecord(0, "n2-1763-7", "n2", "kv/0", "fired",
                        "partition.latency.p99.ms", "kv/0", 312.5, 250, "above", 10_000, 1_763_000_000_000L, "[n2] \"p99\" fired ü")),
                new ControlCommand.RecordFault(io.pairstep.core.control.FaultRecord.ofReplica("n1-f-7", "corrupt", "n2", "kv", 1,
                        Long.MIN_VALUE, null, "flipped bit 3 \"of\" ü", "n1", 1_763_000_000_000L)),
                new ControlCommand.RecordFault(io.pairstep.core.control.FaultRecord.ofReplica("n3-f-1", "slow", "n3", "kv", 0, null, 0L,
                        "back to full speed", "n3", 1)),
                new ControlCommand.RecordFault(io.pairstep.core.control.FaultRecord.ofNode("cli-1", "kill-node", "n2",
                        "SIGKILL sent by the CLI to pid 77", "n1", 2)));
    }

    @ParameterizedTest
    @MethodSource("samples")
    void everyCommandRoundTrips(ControlCommand command) {
        byte[] bytes = ControlJson.encodeCommand(command);
        assertThat(ControlJson.decodeCommand(bytes)).isEqualTo(command);
        assertThat(new String(bytes, StandardCharsets.UTF_8)).startsWith("{\"type\":\"" + command.getClass().getSimpleName() + "\"");
    }

    @Test
    void samplesCoverEveryPermittedCommand() {
        List<String> permitted = Arrays.stream(ControlCommand.class.getPermittedSubclasses()).map(Class::getSimpleName).toList();
        assertThat(ControlJson.commandTypes()).containsExactlyElementsOf(permitted);
        assertThat(samples().map(c -> c.getClass().getSimpleName()).distinct().toList())
                .containsExactlyInAnyOrderElementsOf(permitted);
    }

    @Test
    void commandIsATypedFlatObjectWithEnumNames() {
        String json = new String(ControlJson.encodeCommand(new Deploy(KV)), StandardCharsets.UTF_8);
        assertThat(json).isEqualTo("{\"type\":\"Deploy\",\"spec\":{\"name\":\"kv\",\"version\":1,\"mode\":\"PAIR\","
                + "\"partitions\":2,\"artifact\":\"example:kv\",\"artifactDigest\":\"\",\"className\":\"\",\"digestEveryEntries\":0}}");
        String register = new String(ControlJson.encodeCommand(new RegisterNode("n1", "h:1", "h:2", 3, 77)), StandardCharsets.UTF_8);
        assertThat(register).isEqualTo("{\"type\":\"RegisterNode\",\"node\":\"n1\",\"http\":\"h:1\",\"rpc\":\"h:2\",\"incarnation\":3,\"pid\":77}");
    }

    @Test
    void decodesHandWrittenJsonInAnyFieldOrder() {
        byte[] json = "{\"incarnation\":4,\"node\":\"n2\",\"type\":\"NodeDown\",\"reason\":\"gone\"}".getBytes(StandardCharsets.UTF_8);
        assertThat(ControlJson.decodeCommand(json)).isEqualTo(new NodeDown("n2", 4, "gone"));
    }

    @Test
    void aFieldMissingFromOlderEntriesReadsAsItsDefault() {
        // Log entries and snapshots outlive code versions: a field added to a record later is
        // absent from old entries and reads as null, 0 or false.
        byte[] old = bytes("{\"type\":\"RegisterNode\",\"node\":\"n1\",\"http\":\"h\",\"rpc\":\"r\",\"incarnation\":3}");
        RegisterNode decoded = (RegisterNode) ControlJson.decodeCommand(old);
        assertThat(decoded.node()).isEqualTo("n1");
        assertThat(decoded.incarnation()).isEqualTo(3);
        assertThat(ControlJson.encodeCommand(decoded)).isEqualTo(ControlJson.encodeCommand(ControlJson.decodeCommand(ControlJson.encodeCommand(decoded))));
        assertThat(ControlJson.decodeCommand(bytes("{\"type\":\"NodeDown\",\"node\":\"n1\",\"incarnation\":3}")))
                .isEqualTo(new NodeDown("n1", 3, null));
        // A service deployed before digest intervals were configurable compares digests at the default.
        Deploy deploy = (Deploy) ControlJson.decodeCommand(bytes("{\"type\":\"Deploy\",\"spec\":{\"name\":\"kv\",\"version\":1,"
                + "\"mode\":\"TMR\",\"partitions\":1,\"artifact\":\"example:kv\",\"artifactDigest\":\"\",\"className\":\"\"}}"));
        assertThat(deploy.spec().digestEveryEntries()).isZero();
        assertThat(deploy.spec().digestEvery()).isEqualTo(ServiceSpec.DIGEST_EVERY_DEFAULT);
        Deploy chosen = new Deploy(new ServiceSpec("kv", 1, Mode.TMR, 1, "example:kv", "", "", 16));
        assertThat(ControlJson.decodeCommand(ControlJson.encodeCommand(chosen))).isEqualTo(chosen);
    }

    @Test
    void unknownTypeIsAClearError() {
        assertThatThrownBy(() -> ControlJson.decodeCommand(bytes("{\"type\":\"java.lang.Runtime\",\"x\":1}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown control command type \"java.lang.Runtime\"")
                .hasMessageContaining("RegisterNode");
    }

    @Test
    void malformedCommandsAreClearErrors() {
        assertThatThrownBy(() -> ControlJson.decodeCommand(bytes("{\"systemId\":\"s\"}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"type\"");
        assertThatThrownBy(() -> ControlJson.decodeCommand(bytes("[1,2]")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("JSON object");
        assertThatThrownBy(() -> ControlJson.decodeCommand(bytes("{\"type\":")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("malformed control command");
        assertThatThrownBy(() -> ControlJson.decodeCommand(bytes("{\"type\":\"Bootstrap\",\"systemId\":\"s\",\"extra\":1}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("malformed Bootstrap command");
        assertThatThrownBy(() -> ControlJson.decodeCommand(
                        bytes("{\"type\":\"RegisterNode\",\"node\":\"n1\",\"http\":\"h\",\"rpc\":\"r\",\"incarnation\":null}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("malformed RegisterNode command");
        assertThatThrownBy(() -> ControlJson.decodeCommand(
                        bytes("{\"type\":\"Deploy\",\"spec\":{\"name\":\"kv\",\"version\":1,\"mode\":\"TRIPLE\",\"partitions\":2,"
                                + "\"artifact\":\"example:kv\",\"artifactDigest\":\"\",\"className\":\"\"}}")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TRIPLE");
    }

    @Test
    void resultsRoundTrip() {
        for (ControlResult result : List.of(
                new ControlResult(true, true, ""), new ControlResult(true, false, ""), new ControlResult(false, false, "service kv is already deployed"))) {
            assertThat(ControlJson.decodeResult(ControlJson.encodeResult(result))).isEqualTo(result);
        }
        assertThat(new String(ControlJson.encodeResult(new ControlResult(false, false, "no")), StandardCharsets.UTF_8))
                .isEqualTo("{\"accepted\":false,\"changed\":false,\"reason\":\"no\"}");
    }

    @Test
    void emptyStateRoundTrips() {
        ControllerState empty = new ControllerState();
        ControllerState decoded = ControlJson.decodeState(ControlJson.encodeState(empty));
        assertThat(decoded.systemId()).isNull();
        assertThat(decoded.version()).isZero();
        assertThat(decoded.members()).isEmpty();
        assertThat(decoded.groups()).isEmpty();
    }

    @Test
    void fullStateRoundTripsWithGroupsAndReplicas() {
        ControllerState state = new ControllerState();
        state.apply(new Bootstrap("sys-1"));
        state.apply(new RegisterNode("n1", "h1:80", "h1:90", 1, 0));
        state.apply(new RegisterNode("n2", "h2:80", "h2:90", 1, 0));
        state.apply(new RegisterNode("n3", "h3:80", "h3:90", 1, 0));
        state.apply(new Deploy(KV));
        state.apply(new Deploy(new ServiceSpec("solo", 1, Mode.NONE, 1, "example:kv", "", "")));
        state.apply(new ControlCommand.ControllerLeader("n2"));
        state.apply(new NodeDown("n1", 1, "test"));
        // n1's groups failed over; the replacements are syncing backups on n3.
        assertThat(state.groups().values()).anySatisfy(g -> assertThat(g.replicas()).anyMatch(r -> r.state() == ReplicaState.SYNCING));
        // And kv/1's primary crashed on a command, which is quarantined.
        io.pairstep.core.control.GroupConfig kv1 = state.groups().get(new GroupId("kv", 1));
        io.pairstep.core.control.ReplicaAssignment crashed = kv1.primary();
        assertThat(state.apply(new ControlCommand.ReplicaCrashed(kv1.group(), kv1.epoch(), crashed.node(), crashed.incarnation(),
                crashed.sinceEpoch(), "overflow", new io.pairstep.core.control.QuarantinedCommand(7, 2, "x", 1, crashed.node(), kv1.epoch(),
                        "java.lang.StackOverflowError"))).accepted()).isTrue();

        byte[] bytes = ControlJson.encodeState(state);
        ControllerState decoded = ControlJson.decodeState(bytes);

        assertThat(decoded.systemId()).isEqualTo("sys-1");
        assertThat(decoded.version()).isEqualTo(state.version());
        assertThat(decoded.controllerLeader()).isEqualTo("n2");
        assertThat(decoded.members()).isEqualTo(state.members());
        assertThat(decoded.services()).isEqualTo(state.services());
        assertThat(decoded.groups()).isEqualTo(state.groups());
        assertThat(ControlJson.encodeState(decoded)).isEqualTo(bytes);
        String json = new String(bytes, StandardCharsets.UTF_8);
        assertThat(json).contains("\"role\":\"PRIMARY\"", "\"state\":\"SYNCING\"", "\"mode\":\"PAIR\"",
                "\"group\":{\"service\":\"kv\",\"partition\":0}", "\"quarantined\":[{\"session\":7,\"sequence\":2");

        // The decoded state behaves like the original.
        ControlCommand next = new RegisterNode("n1", "h1:80", "h1:90", 2, 0);
        assertThat(decoded.apply(next)).isEqualTo(state.apply(next));
        assertThat(ControlJson.encodeState(decoded)).isEqualTo(ControlJson.encodeState(state));
    }

    @Test
    void stateWithBrokenInvariantsIsRefused() {
        // A group placed on a node that is not a member.
        String json = "{\"systemId\":\"s\",\"version\":1,\"members\":[],\"services\":[{\"name\":\"kv\",\"version\":1,"
                + "\"mode\":\"NONE\",\"partitions\":1,\"artifact\":\"example:kv\",\"artifactDigest\":\"\",\"className\":\"\"}],"
                + "\"groups\":[{\"group\":{\"service\":\"kv\",\"partition\":0},\"mode\":\"NONE\",\"epoch\":1,"
                + "\"replicas\":[{\"node\":\"ghost\",\"incarnation\":1,\"role\":\"PRIMARY\",\"state\":\"OK\",\"sinceEpoch\":1}]}]}";
        assertThatThrownBy(() -> ControlJson.decodeState(bytes(json))).hasMessageContaining("unknown node ghost");
        assertThatThrownBy(() -> ControlJson.decodeState(bytes("{\"systemId\":null,\"version\":0}")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void derivedAccessorsAreNotWritten() {
        ControllerState state = new ControllerState();
        state.apply(new Bootstrap("s"));
        state.apply(new RegisterNode("n1", "a", "b", 1, 0));
        state.apply(new Deploy(new ServiceSpec("one", 1, Mode.NONE, 1, "example:kv", "", "")));
        state.apply(new ControlCommand.RecordFault(io.pairstep.core.control.FaultRecord.ofReplica("f1", "crash-replica", "n1", "one",
                0, null, null, "crashed", "n1", 5)));
        GroupConfig config = state.groups().get(new GroupId("one", 0));
        assertThat(config.primary().role()).isEqualTo(Role.PRIMARY);
        String json = new String(ControlJson.encodeState(state), StandardCharsets.UTF_8);
        assertThat(json).doesNotContain("\"primary\"", "\"backup\"", "fullyProtected", "problem", "alive\":false", "replicaFault");
        assertThat(json).contains("\"faults\":[{\"seq\":1,\"faultId\":\"f1\",\"kind\":\"crash-replica\"", "\"faultsRecorded\":1");
        String empty = new String(ControlJson.encodeState(new ControllerState("s", 3, List.of(), List.of(), List.of())), StandardCharsets.UTF_8);
        assertThat(empty).isEqualTo("{\"systemId\":\"s\",\"version\":3,\"controllerLeader\":null,\"members\":[],\"services\":[],\"groups\":[],\"draining\":[],"
                + "\"incidents\":[],\"nextIncidentId\":1,\"upgrades\":[],\"alerts\":[],\"alertsRecorded\":0,\"faults\":[],\"faultsRecorded\":0}");
    }

    @Test
    void anUpgradeAndTheReplicaVersionsRoundTripThroughASnapshot() {
        ControllerState state = new ControllerState();
        state.apply(new Bootstrap("s"));
        state.apply(new RegisterNode("n1", "a", "b", 1, 0));
        state.apply(new RegisterNode("n2", "a", "b", 1, 0));
        state.apply(new Deploy(KV));
        state.apply(new ControlCommand.Upgrade(new ServiceSpec("kv", 2, Mode.PAIR, 2, "example:bank", "", ""), 0));
        String json = new String(ControlJson.encodeState(state), StandardCharsets.UTF_8);
        assertThat(json).contains("\"upgrades\":[{\"from\":", "\"state\":\"UPGRADING\"", "\"version\":2")
                .doesNotContain("\"active\"", "\"target\"");
        ControllerState decoded = ControlJson.decodeState(bytes(json));
        assertThat(decoded.upgrades()).isEqualTo(state.upgrades());
        assertThat(decoded.groups()).isEqualTo(state.groups());
        assertThat(decoded.groups().values()).anyMatch(g -> g.replicas().stream().anyMatch(r -> r.version() == 2));
    }

    @Test
    void provenMembersRoundTripThroughASnapshotAndAnUpgradeWrittenBeforeProofsHasNone() {
        ControllerState state = new ControllerState();
        state.apply(new Bootstrap("s"));
        for (int i = 1; i <= 3; i++) {
            state.apply(new RegisterNode("n" + i, "a", "b", 1, 0));
        }
        state.apply(new Deploy(new ServiceSpec("votes", 1, Mode.TMR, 1, "example:kv", "", "")));
        state.apply(new ControlCommand.Upgrade(new ServiceSpec("votes", 2, Mode.TMR, 1, "example:bank", "", ""), 0));
        GroupConfig group = state.groups().get(new GroupId("votes", 0));
        var fresh = group.replicas().stream().filter(r -> r.version() == 2).findFirst().orElseThrow();
        state.apply(new ReplicaCaughtUp(group.group(), group.epoch(), fresh.node(), fresh.incarnation()));
        group = state.groups().get(new GroupId("votes", 0));
        assertThat(state.apply(new ControlCommand.MemberProven(group.group(), group.epoch(), group.primary().node(), fresh.node(),
                fresh.incarnation(), fresh.sinceEpoch(), 70)).changed()).isTrue();
        String json = new String(ControlJson.encodeState(state), StandardCharsets.UTF_8);
        assertThat(json).contains("\"proven\":[{\"group\":{\"service\":\"votes\",\"partition\":0},\"node\":\"" + fresh.node() + "\"");
        ControllerState decoded = ControlJson.decodeState(bytes(json));
        assertThat(decoded.upgrades()).isEqualTo(state.upgrades());
        assertThat(decoded.upgrades().get("votes").proven()).singleElement().matches(p -> p.commands() == 70);

        // A snapshot written before members had to prove themselves has no "proven": none is proven.
        String old = json.replaceAll(",\"proven\":\\[[^\\]]*\\]", "");
        assertThat(old).doesNotContain("proven");
        ControllerState before = ControlJson.decodeState(bytes(old));
        assertThat(before.upgrades().get("votes").proven()).isEmpty();
        assertThat(before.upgrades().get("votes").state()).isEqualTo(state.upgrades().get("votes").state());
    }

    @Test
    void incidentsRoundTripThroughASnapshotAndASnapshotFromBeforeIncidentsHasNone() {
        ControllerState state = new ControllerState();
        state.apply(new Bootstrap("s"));
        state.apply(new RegisterNode("n1", "a", "b", 1, 0));
        state.apply(new RegisterNode("n2", "a", "b", 1, 0));
        state.apply(new NodeDown("n2", 1, "test"));
        state.apply(new ControlCommand.OpenIncident(new IncidentReport(IncidentKind.NODE_DOWN, IncidentComponent.node("n2"), "down",
                List.of("evidence"), null, "restart it"), 10));
        state.apply(new ControlCommand.AcknowledgeIncident(1, "me", 11));
        state.apply(new RegisterNode("n2", "a", "b", 2, 0));
        state.apply(new ControlCommand.ResolveIncident(1, "up again", 12));
        state.apply(new ControlCommand.OpenIncident(new IncidentReport(IncidentKind.GROUP_HALTED,
                IncidentComponent.group(new GroupId("kv", 0)), "halted", List.of(), null, "look"), 13));

        byte[] bytes = ControlJson.encodeState(state);
        String json = new String(bytes, StandardCharsets.UTF_8);
        assertThat(json).doesNotContain("\"resolved\":", "\"group\":null");
        ControllerState decoded = ControlJson.decodeState(bytes);
        assertThat(decoded.incidents().all()).isEqualTo(state.incidents().all());
        assertThat(decoded.incidents().nextId()).isEqualTo(3);
        assertThat(decoded.incidents().all().get(1L).history()).hasSize(3);

        ControllerState old = ControlJson.decodeState(bytes("{\"systemId\":\"s\",\"version\":3,\"members\":[],\"services\":[],\"groups\":[]}"));
        assertThat(old.incidents().all()).isEmpty();
        assertThat(old.incidents().nextId()).isEqualTo(1);
    }

    @Test
    void alertRecordsRoundTripThroughASnapshotAndASnapshotFromBeforeThemHasNone() {
        ControllerState state = new ControllerState();
        state.apply(new Bootstrap("s"));
        state.apply(new RegisterNode("n1", "a", "b", 1, 0));
        for (int i = 1; i <= 3; i++) {
            state.apply(new ControlCommand.RecordAlert(new io.pairstep.core.control.AlertRecord(0, "n1-9-" + i, "n1", "n1",
                    i == 2 ? "cleared" : "fired", "node.cpu", "n1", 0.95, 0.9, "above", 1_000, i, "[n1] node.cpu")));
        }

        ControllerState decoded = ControlJson.decodeState(ControlJson.encodeState(state));

        assertThat(decoded.alerts()).isEqualTo(state.alerts()).hasSize(3);
        assertThat(decoded.alertsRecorded()).isEqualTo(3);
        ControllerState old = ControlJson.decodeState(bytes("{\"systemId\":\"s\",\"version\":3,\"members\":[],\"services\":[],\"groups\":[]}"));
        assertThat(old.alerts()).isEmpty();
        assertThat(old.alertsRecorded()).isZero();
    }

    @Test
    void faultRecordsRoundTripThroughASnapshotAndASnapshotFromBeforeThemHasNone() {
        ControllerState state = new ControllerState();
        state.apply(new Bootstrap("s"));
        state.apply(new RegisterNode("n1", "a", "b", 1, 0));
        state.apply(new RegisterNode("n2", "a", "b", 1, 0));
        state.apply(new Deploy(KV));
        state.apply(new ControlCommand.RecordFault(io.pairstep.core.control.FaultRecord.ofReplica("n2-f-1", "corrupt", "n2", "kv", 1,
                42L, null, "flipped a bit", "n1", 10)));
        state.apply(new ControlCommand.RecordFault(io.pairstep.core.control.FaultRecord.ofReplica("n2-f-2", "slow", "n2", "kv", 0,
                null, 20L, "20 ms per command", "n2", 11)));
        state.apply(new ControlCommand.RecordFault(io.pairstep.core.control.FaultRecord.ofNode("cli-9", "pause-node", "n1",
                "SIGSTOP", "n2", 12)));
        state.apply(new ControlCommand.RecordAlert(new io.pairstep.core.control.AlertRecord(0, "n1-9-1", "n1", "n1", "fired",
                "node.cpu", "n1", 0.95, 0.9, "above", 1_000, 13, "[n1] node.cpu")));

        ControllerState decoded = ControlJson.decodeState(ControlJson.encodeState(state));

        assertThat(decoded.faults()).isEqualTo(state.faults()).hasSize(3);
        assertThat(decoded.faultsRecorded()).isEqualTo(3);
        assertThat(decoded.alerts()).isEqualTo(state.alerts()).hasSize(1);
        assertThat(decoded.faults().get(2).service()).isNull();
        assertThat(decoded.faults().get(2).partition()).isNull();
        assertThat(decoded.faults().get(1).delayMillis()).isEqualTo(20L);
        // A snapshot written before fault records (it has alerts, not faults) still loads, with none.
        ControllerState old = ControlJson.decodeState(bytes("{\"systemId\":\"s\",\"version\":3,\"members\":[],\"services\":[],"
                + "\"groups\":[],\"draining\":[],\"incidents\":[],\"nextIncidentId\":1,\"upgrades\":[],\"alerts\":[],\"alertsRecorded\":0}"));
        assertThat(old.faults()).isEmpty();
        assertThat(old.faultsRecorded()).isZero();
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
