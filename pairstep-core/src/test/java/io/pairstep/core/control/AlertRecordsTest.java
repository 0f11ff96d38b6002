package io.pairstep.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.RecordAlert;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import org.junit.jupiter.api.Test;

/** The threshold alerts the controller keeps so that every node's event log shows them. */
class AlertRecordsTest {

    private final ControllerState state = new ControllerState();

    AlertRecordsTest() {
        state.apply(new ControlCommand.Bootstrap("s"));
        for (int i = 1; i <= 3; i++) {
            state.apply(new RegisterNode("n" + i, "h" + i, "r" + i, 1, i));
        }
        state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
    }

    private static AlertRecord alert(String id, String node, String transition) {
        return new AlertRecord(0, id, node, "kv/0", transition, "partition.throughput", "kv/0", 812, 500, "above", 0,
                1_763_700_000_000L, "[" + node + "] partition.throughput " + transition + " on kv/0");
    }

    @Test
    void anAlertIsKeptNumberedAndRaisesTheVersionWithoutMovingAnyReplica() {
        long version = state.version();
        var groups = state.groups();

        assertThat(state.apply(new RecordAlert(alert("n2-1-1", "n2", AlertRecord.FIRED))).changed()).isTrue();
        assertThat(state.apply(new RecordAlert(alert("n2-1-2", "n2", AlertRecord.CLEARED))).changed()).isTrue();

        assertThat(state.version()).isEqualTo(version + 2);
        assertThat(state.groups()).isEqualTo(groups);
        assertThat(state.alertsRecorded()).isEqualTo(2);
        assertThat(state.alerts()).extracting(AlertRecord::seq, AlertRecord::alertId, AlertRecord::transition)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1L, "n2-1-1", "fired"),
                        org.assertj.core.groups.Tuple.tuple(2L, "n2-1-2", "cleared"));
    }

    @Test
    void aRetriedAlertChangesNothing() {
        state.apply(new RecordAlert(alert("n2-1-1", "n2", AlertRecord.FIRED)));
        long version = state.version();

        ControlResult again = state.apply(new RecordAlert(alert("n2-1-1", "n2", AlertRecord.FIRED)));

        assertThat(again.accepted()).isTrue();
        assertThat(again.changed()).isFalse();
        assertThat(state.version()).isEqualTo(version);
        assertThat(state.alerts()).hasSize(1);
    }

    @Test
    void anAlertFromAnUnknownNodeOrWithAnotherTransitionIsRefusedByName() {
        assertThat(state.apply(new RecordAlert(alert("n9-1-1", "n9", AlertRecord.FIRED))).reason())
                .isEqualTo("alert n9-1-1 from unknown node n9");
        assertThat(state.apply(new RecordAlert(alert("n2-1-1", "n2", "exploded"))).reason())
                .isEqualTo("alert n2-1-1: transition must be fired or cleared, was \"exploded\"");
        assertThat(state.alerts()).isEmpty();
    }

    @Test
    void onlyTheLatestAlertsAreKeptAndTheirNumbersGoOn() {
        int recorded = ControllerState.ALERTS_KEPT_MAX + 25;
        for (int i = 1; i <= recorded; i++) {
            state.apply(new RecordAlert(alert("n1-1-" + i, "n1", i % 2 == 1 ? AlertRecord.FIRED : AlertRecord.CLEARED)));
        }

        assertThat(state.alerts()).hasSize(ControllerState.ALERTS_KEPT_MAX);
        assertThat(state.alerts().getFirst().seq()).isEqualTo(26);
        assertThat(state.alerts().getLast().alertId()).isEqualTo("n1-1-" + recorded);
        assertThat(state.alertsRecorded()).isEqualTo(recorded);
        ControllerState copy = state.copy();
        assertThat(copy.alerts()).isEqualTo(state.alerts());
        assertThat(copy.alertsRecorded()).isEqualTo(recorded);
    }

    @Test
    void aLongSummaryIsCut() {
        AlertRecord record = new AlertRecord(0, "n1-1-1", "n1", "n1", AlertRecord.FIRED, "node.cpu", "n1", 1, 0.9, "above", 0, 0,
                "x".repeat(5_000));
        assertThat(record.summary()).hasSize(AlertRecord.SUMMARY_CHARS_MAX).endsWith("...");
    }
}
