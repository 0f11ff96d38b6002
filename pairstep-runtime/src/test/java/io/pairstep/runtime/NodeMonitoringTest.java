package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.avail.alert.ComponentChange;
import io.pairstep.avail.alert.ComponentState;
import io.pairstep.avail.alert.ComponentType;
import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.runtime.NodeMonitoring.ComponentReport;
import io.pairstep.runtime.events.Change;
import io.pairstep.runtime.events.Event;
import io.pairstep.runtime.events.EventDiff;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import org.junit.jupiter.api.Test;

/**
 * Which component changes the node reports for the events of the real controller transitions: a
 * node that fails, returns and joins; a replica that is removed, inserted and catches up.
 */
class NodeMonitoringTest {

    private final ControllerState state = new ControllerState();

    /** Applies a command; returns the component changes of its events, in order. */
    private List<ComponentReport> apply(ControlCommand command) {
        ControllerState before = state.copy();
        ControlResult result = state.apply(command);
        assertThat(result.accepted()).as("%s: %s", command, result.reason()).isTrue();
        List<Change> changes = EventDiff.between(before, state);
        return changes.stream()
                .map(c -> new Event(1, state.version(), 0, Instant.EPOCH, c.type(), c.node(), c.component(), c.message(), c.fields()))
                .map(NodeMonitoring::report)
                .filter(Objects::nonNull)
                .toList();
    }

    private void threeNodes() {
        apply(new ControlCommand.Bootstrap("system"));
        for (int i = 1; i <= 3; i++) {
            apply(new ControlCommand.RegisterNode("n" + i, "127.0.0.1:710" + i, "127.0.0.1:720" + i, 1, 100 + i));
        }
    }

    @Test
    void theSnmpAgentsViewShowsEveryNodeAndGroupWithItsHealth() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 2, "example:kv", "", "")));
        GroupConfig kv0 = state.groups().get(new GroupId("kv", 0));
        String down = kv0.backup().node();
        apply(new ControlCommand.NodeDown(down, 1, "test"));

        io.pairstep.avail.snmp.SystemView view = NodeMonitoring.systemView(state);

        assertThat(view.nodes()).extracting(n -> n.id()).containsExactly("n1", "n2", "n3");
        assertThat(view.nodes()).filteredOn(n -> n.id().equals(down)).singleElement()
                .satisfies(n -> assertThat(n.up()).isFalse());
        assertThat(view.nodes().stream().mapToInt(n -> n.replicas()).sum())
                .isEqualTo(state.groups().values().stream().mapToInt(g -> g.replicas().size()).sum());
        assertThat(view.nodes().stream().mapToInt(n -> n.primaries()).sum()).isEqualTo(2);
        assertThat(view.groups()).extracting(g -> g.name()).containsExactly("kv/0", "kv/1");
        assertThat(view.groups().get(0).mode()).isEqualTo("pair");
        assertThat(view.groups().get(0).primary()).isEqualTo(state.groups().get(new GroupId("kv", 0)).primary().node());
        assertThat(view.groups()).extracting(g -> g.health()).contains(io.pairstep.avail.snmp.SystemView.Health.DEGRADED);
    }

    @Test
    void aNodesFirstRegistrationIsInsertedFromAbsent() {
        apply(new ControlCommand.Bootstrap("system"));
        assertThat(apply(new ControlCommand.RegisterNode("n1", "127.0.0.1:7101", "127.0.0.1:7201", 1, 101)))
                .singleElement().satisfies(r -> {
                    assertThat(r.type()).isEqualTo(ComponentType.NODE);
                    assertThat(r.id()).isEqualTo("n1");
                    assertThat(r.change()).isEqualTo(ComponentChange.INSERTED);
                    assertThat(r.previous()).isEqualTo(ComponentState.ABSENT);
                });
    }

    @Test
    void aPrimarysNodeGoingDownIsNodeBrokenItsReplicaRemovedAndANewBackupInsertedThenFixed() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
        GroupId kv0 = new GroupId("kv", 0);
        String oldPrimary = state.groups().get(kv0).primary().node();

        List<ComponentReport> reports = apply(new ControlCommand.NodeDown(oldPrimary, 1, "connection closed"));

        GroupConfig after = state.groups().get(kv0);
        String third = after.backup().node();
        assertThat(reports).containsExactly(
                new ComponentReport(ComponentType.NODE, oldPrimary, ComponentChange.BROKEN, ComponentState.UP, reports.get(0).reason()),
                new ComponentReport(ComponentType.REPLICA, "kv/0@" + oldPrimary, ComponentChange.REMOVED, ComponentState.UP,
                        reports.get(1).reason()),
                new ComponentReport(ComponentType.REPLICA, "kv/0@" + third, ComponentChange.INSERTED, ComponentState.ABSENT,
                        reports.get(2).reason()));
        assertThat(reports.get(0).reason()).contains(oldPrimary + " is down");
        assertThat(reports.get(1).reason()).contains("took over from " + oldPrimary);

        assertThat(apply(new ControlCommand.ReplicaCaughtUp(kv0, after.epoch(), third, 1))).singleElement().satisfies(r -> {
            assertThat(r.id()).isEqualTo("kv/0@" + third);
            assertThat(r.change()).isEqualTo(ComponentChange.FIXED);
            assertThat(r.previous()).isEqualTo(ComponentState.BROKEN);
        });

        assertThat(apply(new ControlCommand.RegisterNode(oldPrimary, "h", "r", 2, 999))).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(ComponentType.NODE);
            assertThat(r.id()).isEqualTo(oldPrimary);
            assertThat(r.change()).isEqualTo(ComponentChange.FIXED);
            assertThat(r.previous()).isEqualTo(ComponentState.BROKEN);
        });
    }

    @Test
    void aNodeRestartedBeforeItWasDeclaredDownIsBrokenThenFixed() {
        threeNodes();
        assertThat(apply(new ControlCommand.RegisterNode("n2", "127.0.0.1:7102", "127.0.0.1:7202", 2, 999)))
                .extracting(ComponentReport::change).containsExactly(ComponentChange.BROKEN, ComponentChange.FIXED);
    }

    @Test
    void aBackupThatStopsAcknowledgingIsRemovedAndAnotherInserted() {
        threeNodes();
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
        GroupId kv0 = new GroupId("kv", 0);
        GroupConfig group = state.groups().get(kv0);
        String backup = group.backup().node();

        List<ComponentReport> reports = apply(new ControlCommand.ReplicaFailed(kv0, group.epoch(), group.primary().node(), backup,
                "silent"));

        assertThat(reports).extracting(ComponentReport::type, ComponentReport::change).containsExactly(
                org.assertj.core.groups.Tuple.tuple(ComponentType.REPLICA, ComponentChange.REMOVED),
                org.assertj.core.groups.Tuple.tuple(ComponentType.REPLICA, ComponentChange.INSERTED));
        assertThat(reports.get(0).id()).isEqualTo("kv/0@" + backup);
    }

    @Test
    void deploysAndLeadershipAreNoComponentChanges() {
        threeNodes();
        // Leadership first: a leader that hosts primaries gives them away, which are component changes.
        assertThat(apply(new ControlCommand.ControllerLeader("n1"))).isEmpty();
        assertThat(apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 2, "example:kv", "", "")))).isEmpty();
    }
}
