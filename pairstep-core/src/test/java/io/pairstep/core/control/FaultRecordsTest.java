package io.pairstep.core.control;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.RecordFault;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The injected faults the controller keeps so that every node's event log shows them. */
class FaultRecordsTest {

    private final ControllerState state = new ControllerState();

    FaultRecordsTest() {
        state.apply(new ControlCommand.Bootstrap("s"));
        for (int i = 1; i <= 3; i++) {
            state.apply(new RegisterNode("n" + i, "h" + i, "r" + i, 1, i));
        }
        state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.TMR, 1, "example:kv", "", "")));
    }

    private static FaultRecord corrupt(String id, String node) {
        return FaultRecord.ofReplica(id, FaultRecord.CORRUPT, node, "kv", 0, 42L, null, "flipped bit 17 of 96", "n1",
                1_763_700_000_000L);
    }

    private static FaultRecord kill(String id, String node) {
        return FaultRecord.ofNode(id, FaultRecord.KILL_NODE, node, "SIGKILL to pid 4242", "n1", 1_763_700_000_000L);
    }

    @Test
    void aFaultIsKeptNumberedAndRaisesTheVersionWithoutMovingAnyReplica() {
        long version = state.version();
        // Copies: the accessors are views of the live state.
        var groups = new java.util.TreeMap<>(state.groups());
        var members = new java.util.TreeMap<>(state.members());

        assertThat(state.apply(new RecordFault(corrupt("n2-f-1", "n2"))).changed()).isTrue();
        assertThat(state.apply(new RecordFault(kill("n1-f-1", "n3"))).changed()).isTrue();

        assertThat(state.version()).isEqualTo(version + 2);
        assertThat(state.groups()).isEqualTo(groups);
        // A recorded kill is only a record: the node stays up until the supervisor says otherwise.
        assertThat(state.members()).isEqualTo(members);
        assertThat(state.faultsRecorded()).isEqualTo(2);
        assertThat(state.faults()).extracting(FaultRecord::seq, FaultRecord::faultId, FaultRecord::kind, FaultRecord::node)
                .containsExactly(tuple(1L, "n2-f-1", "corrupt", "n2"), tuple(2L, "n1-f-1", "kill-node", "n3"));
        assertThat(state.faults().getFirst().replicaFault()).isTrue();
        assertThat(state.faults().getLast().replicaFault()).isFalse();
        assertThat(state.alerts()).isEmpty();
    }

    @Test
    void aRetriedFaultChangesNothing() {
        state.apply(new RecordFault(corrupt("n2-f-1", "n2")));
        long version = state.version();

        ControlResult again = state.apply(new RecordFault(corrupt("n2-f-1", "n2")));

        assertThat(again.accepted()).isTrue();
        assertThat(again.changed()).isFalse();
        assertThat(state.version()).isEqualTo(version);
        assertThat(state.faults()).hasSize(1);
    }

    @Test
    void anInvalidFaultIsRefusedByNameAndChangesNothing() {
        long version = state.version();
        assertThat(state.apply(new RecordFault(null)).reason()).isEqualTo("a fault record needs its fault");
        assertThat(state.apply(new RecordFault(corrupt("n9-f-1", "n9"))).reason()).isEqualTo("fault n9-f-1 on unknown node n9");
        assertThat(state.apply(new RecordFault(corrupt("", "n2"))).reason()).isEqualTo("a fault record needs a fault id of 1 to 200 characters");
        assertThat(state.apply(new RecordFault(corrupt("x".repeat(201), "n2"))).accepted()).isFalse();
        assertThat(state.apply(new RecordFault(new FaultRecord(0, "f", "explode", "n2", null, null, null, null, "", "n1", 0))).reason())
                .isEqualTo("fault f: kind must be one of corrupt, diverge, self-check, crash-replica, slow, kill-node, pause-node,"
                        + " resume-node, was \"explode\"");
        assertThat(state.apply(new RecordFault(FaultRecord.ofNode("f", FaultRecord.PAUSE_NODE, "", "", "n1", 0))).reason())
                .isEqualTo("fault f: node and requestedBy must have 1 to 200 characters");
        assertThat(state.apply(new RecordFault(FaultRecord.ofNode("f", FaultRecord.PAUSE_NODE, "n2", "", "", 0))).reason())
                .isEqualTo("fault f: node and requestedBy must have 1 to 200 characters");
        assertThat(state.apply(new RecordFault(new FaultRecord(0, "f", FaultRecord.DIVERGE, "n2", "", null, null, null, "", "n1", 0))).reason())
                .isEqualTo("fault f: a diverge fault names the replica's service (1 to 200 characters) and partition (0 or more)");
        assertThat(state.apply(new RecordFault(FaultRecord.ofReplica("f", FaultRecord.DIVERGE, "n2", "kv", -1, null, null, "", "n1", 0)))
                .accepted()).isFalse();
        assertThat(state.apply(new RecordFault(new FaultRecord(0, "f", FaultRecord.KILL_NODE, "n2", "kv", 0, null, null, "", "n1", 0))).reason())
                .isEqualTo("fault f: a kill-node fault hits a whole node and names no service, partition or seed");
        assertThat(state.apply(new RecordFault(FaultRecord.ofReplica("f", FaultRecord.SLOW, "n2", "kv", 0, null, null, "", "n1", 0))).reason())
                .isEqualTo("fault f: a slow fault needs its delay in ms (0 or more)");
        assertThat(state.apply(new RecordFault(FaultRecord.ofReplica("f", FaultRecord.SLOW, "n2", "kv", 0, null, -5L, "", "n1", 0))).accepted())
                .isFalse();
        assertThat(state.apply(new RecordFault(FaultRecord.ofReplica("f", FaultRecord.CRASH_REPLICA, "n2", "kv", 0, null, 20L, "", "n1", 0))).reason())
                .isEqualTo("fault f: only a slow fault has a delay in ms");

        assertThat(state.faults()).isEmpty();
        assertThat(state.faultsRecorded()).isZero();
        assertThat(state.version()).isEqualTo(version);
    }

    @Test
    void everyKindIsKeptWithItsOwnShape() {
        List<FaultRecord> all = List.of(
                corrupt("a", "n2"),
                FaultRecord.ofReplica("b", FaultRecord.DIVERGE, "n2", "kv", 0, null, null, "next output differs", "n3", 1),
                FaultRecord.ofReplica("c", FaultRecord.SELF_CHECK, "n2", "kv", 0, null, null, "next command fails", "n2", 2),
                FaultRecord.ofReplica("d", FaultRecord.CRASH_REPLICA, "n3", "kv", 0, null, null, "crashed", "n1", 3),
                FaultRecord.ofReplica("e", FaultRecord.SLOW, "n3", "kv", 0, null, 0L, "back to full speed", "n1", 4),
                kill("f", "n1"),
                FaultRecord.ofNode("g", FaultRecord.PAUSE_NODE, "n2", "SIGSTOP", "n1", 5),
                FaultRecord.ofNode("h", FaultRecord.RESUME_NODE, "n2", "SIGCONT", "n3", 6));
        for (FaultRecord fault : all) {
            assertThat(state.apply(new RecordFault(fault)).changed()).as(fault.toString()).isTrue();
        }
        assertThat(state.faults()).extracting(FaultRecord::kind).containsExactlyElementsOf(FaultRecord.KINDS);
        assertThat(state.copy().faults()).isEqualTo(state.faults());
    }

    @Test
    void onlyTheLatestFaultsAreKeptAndTheirNumbersGoOn() {
        int recorded = ControllerState.FAULTS_KEPT_MAX + 25;
        for (int i = 1; i <= recorded; i++) {
            state.apply(new RecordFault(i % 2 == 1 ? corrupt("n2-f-" + i, "n2") : kill("n2-f-" + i, "n3")));
        }

        assertThat(state.faults()).hasSize(ControllerState.FAULTS_KEPT_MAX);
        assertThat(state.faults().getFirst().seq()).isEqualTo(26);
        assertThat(state.faults().getLast().faultId()).isEqualTo("n2-f-" + recorded);
        assertThat(state.faultsRecorded()).isEqualTo(recorded);
        ControllerState copy = state.copy();
        assertThat(copy.faults()).isEqualTo(state.faults());
        assertThat(copy.faultsRecorded()).isEqualTo(recorded);
        copy.checkInvariants();
    }

    @Test
    void aLongOutcomeIsCutAndAnEmptyServiceIsNone() {
        FaultRecord record = FaultRecord.ofReplica("f", FaultRecord.CORRUPT, "n2", "kv", 0, 1L, null, "x".repeat(5_000), "n1", 0);
        assertThat(record.outcome()).hasSize(FaultRecord.OUTCOME_CHARS_MAX).endsWith("...");
        assertThat(new FaultRecord(0, "f", FaultRecord.KILL_NODE, "n2", "", null, null, null, null, "n1", 0))
                .isEqualTo(FaultRecord.ofNode("f", FaultRecord.KILL_NODE, "n2", "", "n1", 0));
    }

    @Test
    void aStateWhoseFaultsAreOutOfOrderBreaksTheInvariants() {
        state.apply(new RecordFault(corrupt("a", "n2")));
        state.apply(new RecordFault(corrupt("b", "n2")));
        List<FaultRecord> reversed = state.faults().reversed();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ControllerState(state.systemId(), state.version(),
                state.controllerLeader(), state.members().values(), state.services().values(), state.groups().values(), List.of(),
                List.of(), 1, List.of(), List.of(), 0, reversed, state.faultsRecorded()))
                .hasMessageContaining("fault record a has seq 1 out of order");
    }
}
