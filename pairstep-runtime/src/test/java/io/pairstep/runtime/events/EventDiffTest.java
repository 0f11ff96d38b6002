package io.pairstep.runtime.events;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.AlertRecord;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.FaultRecord;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.IncidentComponent;
import io.pairstep.core.control.IncidentKind;
import io.pairstep.core.control.IncidentReport;
import io.pairstep.core.control.ServiceSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The events found between controller states, driven through the real controller state machine so
 * that every transition is one the controller really makes.
 */
class EventDiffTest {

    private final ControllerState state = new ControllerState();

    /** Applies a command and returns the events between the state before and after it. */
    private List<Change> apply(ControlCommand command) {
        ControllerState before = state.copy();
        ControlResult result = state.apply(command);
        assertThat(result.accepted()).as("%s: %s", command, result.reason()).isTrue();
        return EventDiff.between(before, state);
    }

    private static List<String> types(List<Change> changes) {
        return changes.stream().map(Change::type).toList();
    }

    private void threeNodes() {
        apply(new ControlCommand.Bootstrap("system"));
        for (int i = 1; i <= 3; i++) {
            apply(new ControlCommand.RegisterNode("n" + i, "127.0.0.1:710" + i, "127.0.0.1:720" + i, 1, 100 + i));
        }
    }

    @Test
    void aRecordedThresholdAlertIsAnEventAboutItsComponentFromItsNode() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));

        List<Change> fired = apply(new ControlCommand.RecordAlert(new AlertRecord(0, "n2-5-1", "n2", "kv/0", AlertRecord.FIRED,
                "partition.throughput", "kv/0", 812, 500, "above", 2_000, 1_763_700_000_000L,
                "[n2] partition.throughput fired on kv/0: 812 >= 500 for 2000 ms")));
        List<Change> cleared = apply(new ControlCommand.RecordAlert(new AlertRecord(0, "n2-5-2", "n2", "kv/0", AlertRecord.CLEARED,
                "partition.throughput", "kv/0", 12, 400, "above", 2_000, 1_763_700_009_000L, "[n2] cleared")));

        assertThat(fired).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.THRESHOLD_FIRED);
            assertThat(c.node()).isEqualTo("n2");
            assertThat(c.component()).isEqualTo("kv/0");
            assertThat(c.message()).isEqualTo("[n2] partition.throughput fired on kv/0: 812 >= 500 for 2000 ms");
            assertThat(c.fields()).containsEntry("alert", "n2-5-1").containsEntry("metric", "partition.throughput")
                    .containsEntry("subject", "kv/0").containsEntry("value", 812.0).containsEntry("level", 500.0)
                    .containsEntry("direction", "above").containsEntry("holdMillis", 2_000L)
                    .containsEntry("timeMillis", 1_763_700_000_000L);
        });
        assertThat(cleared).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.THRESHOLD_CLEARED);
            assertThat(c.fields()).containsEntry("alert", "n2-5-2").containsEntry("level", 400.0);
        });
    }

    @Test
    void aNodeThatSkipsSeveralAlertRecordsAtOnceSeesEachOnceInOrder() {
        threeNodes();
        ControllerState before = state.copy();
        for (int i = 1; i <= 3; i++) {
            apply(new ControlCommand.RecordAlert(new AlertRecord(0, "n1-5-" + i, "n1", "n1", AlertRecord.FIRED, "node.cpu", "n1",
                    0.95, 0.9, "above", 0, i, "alert " + i)));
        }

        assertThat(EventDiff.between(before, state)).extracting(Change::message).containsExactly("alert 1", "alert 2", "alert 3");
        assertThat(EventDiff.between(state.copy(), state)).isEmpty();
    }

    @Test
    void anInjectedReplicaFaultIsAnEventAboutItsGroupOnTheNodeItHit() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.TMR, 1, "example:kv", "", "")));

        List<Change> corrupt = apply(new ControlCommand.RecordFault(FaultRecord.ofReplica("n2-f-1", FaultRecord.CORRUPT, "n2", "kv", 0,
                42L, null, "flipped bit 17 of 96", "n1", 1_763_700_000_000L)));
        List<Change> slow = apply(new ControlCommand.RecordFault(FaultRecord.ofReplica("n3-f-1", FaultRecord.SLOW, "n3", "kv", 0,
                null, 20L, "each command waits 20 ms", "n3", 1_763_700_001_000L)));

        assertThat(corrupt).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.FAULT_INJECTED);
            assertThat(c.node()).isEqualTo("n2");
            assertThat(c.component()).isEqualTo("kv/0");
            assertThat(c.message()).isEqualTo("fault injected: corrupt kv/0 on n2 (seed 42), asked through n1: flipped bit 17 of 96");
            assertThat(c.fields()).containsExactly(java.util.Map.entry("fault", "n2-f-1"), java.util.Map.entry("kind", "corrupt"),
                    java.util.Map.entry("target", "n2"), java.util.Map.entry("service", "kv"), java.util.Map.entry("partition", 0),
                    java.util.Map.entry("seed", 42L), java.util.Map.entry("outcome", "flipped bit 17 of 96"),
                    java.util.Map.entry("requestedBy", "n1"), java.util.Map.entry("timeMillis", 1_763_700_000_000L));
        });
        assertThat(slow).singleElement().satisfies(c -> {
            assertThat(c.message()).isEqualTo("fault injected: slow kv/0 on n3 (20 ms per command), asked through n3: each command waits 20 ms");
            assertThat(c.fields()).containsEntry("ms", 20L).doesNotContainKey("seed");
        });
    }

    @Test
    void anInjectedNodeFaultIsAnEventAboutTheNodeAndNamesNoGroup() {
        threeNodes();

        List<Change> kill = apply(new ControlCommand.RecordFault(FaultRecord.ofNode("cli-1", FaultRecord.KILL_NODE, "n3",
                "SIGKILL sent by pairstep fault kill-node to pid 103", "n1", 5)));

        assertThat(kill).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.FAULT_INJECTED);
            assertThat(c.node()).isEqualTo("n3");
            assertThat(c.component()).isEqualTo("n3");
            assertThat(c.message()).isEqualTo("fault injected: kill-node n3, asked through n1: SIGKILL sent by pairstep fault kill-node to pid 103");
            assertThat(c.fields()).containsEntry("kind", "kill-node").containsEntry("target", "n3").containsEntry("requestedBy", "n1")
                    .doesNotContainKeys("service", "partition", "seed", "ms");
        });
        // The record is not the fault: nothing else changed, the node is up until it is declared down.
        assertThat(types(kill)).containsExactly(Change.FAULT_INJECTED);
    }

    @Test
    void aNodeThatSkipsSeveralFaultAndAlertRecordsSeesEachOnceAlertsFirst() {
        threeNodes();
        ControllerState before = state.copy();
        apply(new ControlCommand.RecordFault(FaultRecord.ofNode("f1", FaultRecord.PAUSE_NODE, "n2", "SIGSTOP", "n1", 1)));
        apply(new ControlCommand.RecordAlert(new AlertRecord(0, "n1-5-1", "n1", "n1", AlertRecord.FIRED, "node.cpu", "n1",
                0.95, 0.9, "above", 0, 2, "alert 1")));
        apply(new ControlCommand.RecordFault(FaultRecord.ofNode("f2", FaultRecord.RESUME_NODE, "n2", "SIGCONT", "n1", 3)));
        // A retry of a record already kept is no new event.
        assertThat(apply(new ControlCommand.RecordFault(FaultRecord.ofNode("f2", FaultRecord.RESUME_NODE, "n2", "SIGCONT", "n1", 3))))
                .isEmpty();

        assertThat(EventDiff.between(before, state)).extracting(Change::type, c -> c.fields().getOrDefault("fault", c.fields().get("alert")))
                .containsExactly(org.assertj.core.groups.Tuple.tuple(Change.THRESHOLD_FIRED, "n1-5-1"),
                        org.assertj.core.groups.Tuple.tuple(Change.FAULT_INJECTED, "f1"),
                        org.assertj.core.groups.Tuple.tuple(Change.FAULT_INJECTED, "f2"));
        assertThat(EventDiff.between(state.copy(), state)).isEmpty();
    }

    @Test
    void aRegisteredNodeIsUpWithItsIncarnationAndPid() {
        apply(new ControlCommand.Bootstrap("system"));
        List<Change> changes = apply(new ControlCommand.RegisterNode("n1", "127.0.0.1:7101", "127.0.0.1:7102", 1, 4242));
        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.NODE_UP);
            assertThat(c.node()).isEqualTo("n1");
            assertThat(c.component()).isEqualTo("n1");
            assertThat(c.fields()).containsEntry("incarnation", 1L).containsEntry("pid", 4242L).containsEntry("http", "127.0.0.1:7101");
            assertThat(c.message()).contains("n1 joined", "pid 4242");
        });
    }

    @Test
    void deployingAServiceIsOneDeployEventAndOnePlacementPerGroup() {
        threeNodes();
        List<Change> changes = apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 2, "example:kv", "", "")));
        assertThat(types(changes)).containsExactly(Change.SERVICE_DEPLOYED, Change.GROUP_PLACED, Change.GROUP_PLACED);
        assertThat(changes.get(0).component()).isEqualTo("kv");
        assertThat(changes.get(0).fields()).containsEntry("partitions", 2).containsEntry("mode", "pair");
        GroupConfig group = state.groups().get(new GroupId("kv", 0));
        assertThat(changes.get(1).component()).isEqualTo("kv/0");
        assertThat(changes.get(1).fields()).containsEntry("primary", group.primary().node()).containsEntry("epoch", 1L);
    }

    @Test
    void losingAPrimarysNodeIsNodeDownTakeoverThenANewSyncingBackup() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
        GroupId kv0 = new GroupId("kv", 0);
        GroupConfig before = state.groups().get(kv0);
        String oldPrimary = before.primary().node();
        String oldBackup = before.backup().node();

        List<Change> changes = apply(new ControlCommand.NodeDown(oldPrimary, 1, "connection closed"));

        assertThat(types(changes)).containsExactly(Change.NODE_DOWN, Change.TAKEOVER, Change.REPLICA_INSERTED);
        Change down = changes.get(0);
        assertThat(down.node()).isEqualTo(oldPrimary);
        assertThat(down.fields()).containsEntry("reason", EventDiff.REASON_UNKNOWN);
        assertThat(down.message()).contains("is down", "not recorded");
        Change takeover = changes.get(1);
        GroupConfig after = state.groups().get(kv0);
        assertThat(takeover.component()).isEqualTo("kv/0");
        assertThat(takeover.node()).isEqualTo(oldBackup);
        assertThat(takeover.fields()).containsEntry("from", oldPrimary).containsEntry("to", oldBackup)
                .containsEntry("epoch", after.epoch()).containsEntry("previousEpoch", before.epoch());
        assertThat(takeover.message()).contains(oldBackup + " took over from " + oldPrimary);
        Change inserted = changes.get(2);
        String third = after.backup().node();
        assertThat(third).isNotIn(oldPrimary, oldBackup);
        assertThat(inserted.fields()).containsEntry("replicaNode", third).containsEntry("role", "backup")
                .containsEntry("state", "syncing");

        // The primary reports the new backup caught up: it is in sync.
        List<Change> synced = apply(new ControlCommand.ReplicaCaughtUp(kv0, after.epoch(), third, 1));
        assertThat(synced).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.REPLICA_SYNCED);
            assertThat(c.node()).isEqualTo(third);
            assertThat(c.fields()).containsEntry("state", "ok");
        });
    }

    @Test
    void aBackupThatStopsAcknowledgingIsRemovedAndReplaced() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
        GroupId kv0 = new GroupId("kv", 0);
        GroupConfig group = state.groups().get(kv0);
        String primary = group.primary().node();
        String backup = group.backup().node();

        List<Change> changes = apply(new ControlCommand.ReplicaFailed(kv0, group.epoch(), primary, backup, "silent"));

        assertThat(types(changes)).containsExactly(Change.REPLICA_REMOVED, Change.REPLICA_INSERTED);
        assertThat(changes.get(0).fields()).containsEntry("replicaNode", backup).containsEntry("role", "backup");
        assertThat(changes.get(0).message()).contains("stopped acknowledging");
    }

    @Test
    void aPrimaryThatCrashedOnAPoisonCommandIsATakeoverAQuarantineAndARebuildOnItsNode() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
        GroupId kv0 = new GroupId("kv", 0);
        GroupConfig group = state.groups().get(kv0);
        var primary = group.primary();
        var poison = new io.pairstep.core.control.QuarantinedCommand(0xabc, 5, "{\"op\":\"spin\"}", 13, primary.node(), group.epoch(),
                "watchdog");

        List<Change> changes = apply(new ControlCommand.ReplicaCrashed(kv0, group.epoch(), primary.node(), primary.incarnation(),
                primary.sinceEpoch(), "watchdog", poison));

        assertThat(types(changes)).containsExactly(Change.TAKEOVER, Change.REPLICA_INSERTED, Change.COMMAND_QUARANTINED);
        assertThat(changes.get(1).node()).as("rebuilt on its node").isEqualTo(primary.node());
        assertThat(changes.get(2).fields()).containsEntry("session", "abc").containsEntry("sequence", 5L)
                .containsEntry("payload", "{\"op\":\"spin\"}").containsEntry("replicaNode", primary.node()).containsEntry("reason", "watchdog");
        assertThat(changes.get(2).message()).contains("quarantined as poison");
    }

    @Test
    void aHaltedLockstepGroupIsOneEventWithTheReason() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("clock", 1, Mode.DMR, 1, "example:kv", "", "")));
        GroupId clock0 = new GroupId("clock", 0);
        GroupConfig group = state.groups().get(clock0);
        String evidence = "entry 3 (service clock, method now): the two members disagree and neither failed a self-check";

        List<Change> changes = apply(new ControlCommand.GroupHalted(clock0, group.epoch(), group.primary().node(), 3, evidence));

        assertThat(changes).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.GROUP_HALTED);
            assertThat(c.component()).isEqualTo("clock/0");
            assertThat(c.fields()).containsEntry("service", "clock").containsEntry("reason", state.groups().get(clock0).halted());
            assertThat(c.message()).contains("clock/0 releases no more results", evidence);
        });
    }

    @Test
    void aRestartedNodeIsDownThenUpAgain() {
        threeNodes();
        List<Change> changes = apply(new ControlCommand.RegisterNode("n2", "127.0.0.1:7102", "127.0.0.1:7202", 2, 999));
        assertThat(types(changes)).containsExactly(Change.NODE_DOWN, Change.NODE_UP);
        assertThat(changes.get(0).fields()).containsEntry("incarnation", 1L).containsEntry("reason", "replaced by a new incarnation");
        assertThat(changes.get(1).fields()).containsEntry("incarnation", 2L).containsEntry("pid", 999L);
        assertThat(changes.get(1).message()).contains("up again");
    }

    @Test
    void aPrimaryWithoutAnInSyncBackupRecoversInItsNewProcess() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("solo", 1, Mode.NONE, 1, "example:kv", "", "")));
        GroupId solo = new GroupId("solo", 0);
        String primary = state.groups().get(solo).primary().node();
        apply(new ControlCommand.NodeDown(primary, 1, "gone"));
        List<Change> changes = apply(new ControlCommand.RegisterNode(primary, "h", "r", 2, 77));
        assertThat(types(changes)).containsExactly(Change.NODE_UP, Change.PRIMARY_RECOVERED);
        assertThat(changes.get(1).node()).isEqualTo(primary);
    }

    @Test
    void aNewControllerLeaderNamesThePreviousOne() {
        threeNodes();
        assertThat(apply(new ControlCommand.ControllerLeader("n1"))).singleElement()
                .satisfies(c -> assertThat(c.fields()).containsOnlyKeys("leader"));
        assertThat(apply(new ControlCommand.ControllerLeader("n3"))).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.CONTROLLER_LEADER);
            assertThat(c.component()).isEqualTo("controller");
            assertThat(c.fields()).containsEntry("leader", "n3").containsEntry("previous", "n1");
        });
    }

    @Test
    void theSameStatesGiveTheSameEventsAndEqualStatesNone() {
        threeNodes();
        ControllerState before = state.copy();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 3, "example:kv", "", "")));
        apply(new ControlCommand.NodeDown("n1", 1, "gone"));
        assertThat(EventDiff.between(before.copy(), state.copy())).isEqualTo(EventDiff.between(before, state));
        assertThat(EventDiff.between(state, state.copy())).isEmpty();
    }

    @Test
    void anIncidentOpenedAcknowledgedAndResolvedIsOneEventEachWithItsId() {
        threeNodes();
        apply(new ControlCommand.NodeDown("n3", 1, "lease expired"));
        IncidentReport report = new IncidentReport(IncidentKind.NODE_DOWN, IncidentComponent.node("n3"), "node n3 is down",
                List.of(), null, "start it again");
        List<Change> opened = apply(new ControlCommand.OpenIncident(report, 1_000));
        assertThat(opened).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.INCIDENT_OPENED);
            assertThat(c.node()).isEqualTo("n3");
            assertThat(c.component()).isEqualTo("n3");
            assertThat(c.message()).isEqualTo("incident 1 (node-down n3): opened: node n3 is down");
            assertThat(c.fields()).containsEntry("incident", 1L).containsEntry("kind", "node-down").containsEntry("state", "open");
        });
        assertThat(types(apply(new ControlCommand.AcknowledgeIncident(1, "ops", 2_000)))).containsExactly(Change.INCIDENT_ACKNOWLEDGED);
        List<Change> back = apply(new ControlCommand.RegisterNode("n3", "h", "r", 2, 7));
        assertThat(types(back)).as("the node's own events, no incident event yet").doesNotContain(Change.INCIDENT_RESOLVED);
        List<Change> resolved = apply(new ControlCommand.ResolveIncident(1, "n3 is up again", 3_000));
        assertThat(resolved).singleElement().satisfies(c -> {
            assertThat(c.type()).isEqualTo(Change.INCIDENT_RESOLVED);
            assertThat(c.message()).isEqualTo("incident 1 (node-down n3): resolved: n3 is up again");
            assertThat(c.fields()).containsEntry("state", "resolved");
        });
    }
}
