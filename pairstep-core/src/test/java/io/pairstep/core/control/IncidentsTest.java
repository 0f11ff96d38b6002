package io.pairstep.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand.AcknowledgeIncident;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.NodeDown;
import io.pairstep.core.control.ControlCommand.OpenIncident;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import io.pairstep.core.control.ControlCommand.ReplicaCaughtUp;
import io.pairstep.core.control.ControlCommand.ReplicaFailed;
import io.pairstep.core.control.ControlCommand.ResolveIncident;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Incidents in the controller state: found by {@link IncidentRules} the way the controller leader
 * looks for them, opened once, acknowledged, resolved only once the component is healed, and kept
 * within bounds.
 */
class IncidentsTest {

    private final ControllerState state = new ControllerState();
    private final GroupId kv0 = new GroupId("kv", 0);
    private long now = 1_000;

    IncidentsTest() {
        state.apply(new ControlCommand.Bootstrap("s"));
        for (int i = 1; i <= 3; i++) {
            state.apply(new RegisterNode("n" + i, "h" + i, "r" + i, 1, 100 + i));
        }
        state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
    }

    /** What the leader does on every state: open what it finds, resolve what healed. Returns the state before. */
    private ControllerState applyAsLeader(ControlCommand command) {
        ControllerState before = state.copy();
        assertThat(state.apply(command).accepted()).as("%s", command).isTrue();
        now += 10;
        for (IncidentReport report : IncidentRules.detect(before, state)) {
            assertThat(state.apply(new OpenIncident(report, now)).changed()).as("opened %s", report).isTrue();
        }
        for (ResolveIncident resolve : IncidentRules.resolutions(state, now)) {
            assertThat(state.apply(resolve).changed()).as("resolved %s", resolve).isTrue();
        }
        return before;
    }

    private List<Incident> incidents() {
        return List.copyOf(state.incidents().all().values());
    }

    @Test
    void aNodeDownOpensOneIncidentNamingTheNodeThatResolvesWhenItIsBack() {
        String victim = state.groups().get(kv0).backup().node();
        applyAsLeader(new NodeDown(victim, 1, "lease expired"));

        assertThat(incidents()).hasSize(1);
        Incident incident = incidents().get(0);
        assertThat(incident.kind()).isEqualTo(IncidentKind.NODE_DOWN);
        assertThat(incident.component()).isEqualTo(IncidentComponent.node(victim));
        assertThat(incident.state()).isEqualTo(IncidentState.OPEN);
        assertThat(incident.what()).contains(victim, "pid 10" + victim.charAt(1));
        assertThat(incident.suggestedAction()).contains("start-node --id " + victim);
        assertThat(incident.openedMillis()).isEqualTo(1_010);

        // Every later state still shows the node down: nothing more opens.
        assertThat(IncidentRules.detect(state.copy(), state)).isEmpty();
        assertThat(state.apply(new OpenIncident(IncidentRules.detect(new ControllerState(), stateWithoutIncidents()).get(0), now)).changed())
                .as("a second report of the same fault").isFalse();
        assertThat(IncidentRules.resolutions(state, now)).as("not healed while down").isEmpty();

        applyAsLeader(new RegisterNode(victim, "h", "r", 2, 999));
        incident = state.incidents().all().get(incident.id());
        assertThat(incident.state()).isEqualTo(IncidentState.RESOLVED);
        assertThat(incident.history()).extracting(IncidentUpdate::state).containsExactly(IncidentState.OPEN, IncidentState.RESOLVED);
        assertThat(incident.history().get(1).message()).contains(victim + " is up again (incarnation 2, pid 999)");
        assertThat(incidents()).hasSize(1);
    }

    /** The state with its incidents forgotten, as a leader that sees the fault for the first time would find it. */
    private ControllerState stateWithoutIncidents() {
        return new ControllerState(state.systemId(), state.version(), state.controllerLeader(), state.members().values(),
                state.services().values(), state.groups().values());
    }

    @Test
    void aLeaderElectedAfterTheFaultStillFindsADownNode() {
        state.apply(new NodeDown("n3", 1, "lease expired"));
        List<IncidentReport> found = IncidentRules.detect(state.copy(), state);
        assertThat(found).extracting(IncidentReport::kind).containsExactly(IncidentKind.NODE_DOWN);
    }

    @Test
    void aNodeThatRestartedBeforeItWasDeclaredDownOpensAnIncidentThatResolvesAtOnce() {
        ControllerState before = applyAsLeader(new RegisterNode("n2", "h2", "r2", 2, 202));
        assertThat(before.members().get("n2").alive()).isTrue();
        assertThat(incidents()).singleElement().satisfies(incident -> {
            assertThat(incident.kind()).isEqualTo(IncidentKind.NODE_DOWN);
            assertThat(incident.what()).contains("incarnation 1", "pid 102", "before it was declared down");
            assertThat(incident.state()).isEqualTo(IncidentState.RESOLVED);
        });
    }

    @Test
    void aReplicaTheControllerMovesByPlanOpensNoIncident() {
        // Draining the backup's node moves the backup away; draining the primary's node hands the
        // primary's role over and then moves the old primary away. No fault: no incident.
        GroupConfig group = state.groups().get(kv0);
        for (String node : List.of(group.backup().node(), group.primary().node())) {
            applyAsLeader(new ControlCommand.DrainNode(node, true));
            for (int step = 0; step < 10 && state.groups().get(kv0).replicaOn(node) != null; step++) {
                GroupConfig now = state.groups().get(kv0);
                ReplicaAssignment syncing = now.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElse(null);
                applyAsLeader(now.handover()
                        ? new ControlCommand.HandedOver(kv0, now.epoch(), now.primary().node(), now.primary().incarnation(), 0)
                        : new ReplicaCaughtUp(kv0, now.epoch(), syncing.node(), syncing.incarnation()));
            }
            assertThat(state.groups().get(kv0).replicaOn(node)).as("moved off " + node).isNull();
            applyAsLeader(new ControlCommand.DrainNode(node, false));
        }
        assertThat(incidents()).as("incidents of planned moves").isEmpty();
    }

    @Test
    void aBackupThatStoppedAcknowledgingIsAnIsolatedReplicaResolvedWhenTheGroupIsFullyProtectedAgain() {
        GroupConfig group = state.groups().get(kv0);
        String primary = group.primary().node();
        String backup = group.backup().node();
        applyAsLeader(new ReplicaFailed(kv0, group.epoch(), primary, backup, "timeout"));

        Incident incident = incidents().get(0);
        assertThat(incidents()).hasSize(1);
        assertThat(incident.kind()).isEqualTo(IncidentKind.REPLICA_ISOLATED);
        assertThat(incident.component()).isEqualTo(IncidentComponent.replica(kv0, backup));
        assertThat(incident.component().toString()).isEqualTo("kv/0@" + backup);
        assertThat(incident.what()).contains("backup of kv/0 on " + backup, "stopped acknowledging");

        GroupConfig rebuilding = state.groups().get(kv0);
        assertThat(rebuilding.backup().state()).as("a new backup syncs").isEqualTo(ReplicaState.SYNCING);
        assertThat(state.apply(new ResolveIncident(incident.id(), "too early", now)).accepted())
                .as("the controller refuses to resolve while the group syncs").isFalse();

        applyAsLeader(new ReplicaCaughtUp(kv0, rebuilding.epoch(), rebuilding.backup().node(), 1));
        incident = state.incidents().all().get(incident.id());
        assertThat(incident.state()).isEqualTo(IncidentState.RESOLVED);
        assertThat(incident.history().getLast().message()).contains("kv/0 is back to full protection");
    }

    @Test
    void aBackupReportedFailedJustBeforeItsNodeIsDeclaredDownBecomesPartOfTheNodeIncident() {
        GroupConfig group = state.groups().get(kv0);
        String backup = group.backup().node();
        applyAsLeader(new ReplicaFailed(kv0, group.epoch(), group.primary().node(), backup, "connection closed"));
        assertThat(incidents()).extracting(Incident::kind).containsExactly(IncidentKind.REPLICA_ISOLATED);

        applyAsLeader(new NodeDown(backup, 1, "lease expired"));
        assertThat(incidents()).extracting(Incident::kind, Incident::state).containsExactly(
                org.assertj.core.groups.Tuple.tuple(IncidentKind.REPLICA_ISOLATED, IncidentState.RESOLVED),
                org.assertj.core.groups.Tuple.tuple(IncidentKind.NODE_DOWN, IncidentState.OPEN));
        assertThat(incidents().get(0).history().getLast().message()).isEqualTo("resolved: part of incident 2 (node " + backup + " is down)");
    }

    @Test
    void aReplicaLostWithItsNodeIsPartOfTheNodeIncidentNotOneOfItsOwn() {
        applyAsLeader(new NodeDown(state.groups().get(kv0).primary().node(), 1, "lease expired"));
        assertThat(incidents()).extracting(Incident::kind).containsExactly(IncidentKind.NODE_DOWN);
    }

    @Test
    void anAcknowledgedIncidentStaysUntilHealedAndAcknowledgingTwiceChangesNothing() {
        applyAsLeader(new NodeDown("n3", 1, "lease expired"));
        long id = incidents().get(0).id();
        assertThat(state.apply(new AcknowledgeIncident(id, "ops@example.com", now)).changed()).isTrue();
        assertThat(state.apply(new AcknowledgeIncident(id, "someone else", now)).changed()).isFalse();
        Incident incident = state.incidents().all().get(id);
        assertThat(incident.state()).isEqualTo(IncidentState.ACKNOWLEDGED);
        assertThat(incident.history().getLast().message()).isEqualTo("acknowledged by ops@example.com");
        assertThat(IncidentRules.detect(state.copy(), state)).as("an acknowledged incident still counts").isEmpty();

        applyAsLeader(new RegisterNode("n3", "h", "r", 2, 7));
        assertThat(state.incidents().all().get(id).state()).isEqualTo(IncidentState.RESOLVED);
        ControlResult late = state.apply(new AcknowledgeIncident(id, "", now));
        assertThat(late.accepted()).isFalse();
        assertThat(late.reason()).isEqualTo("incident " + id + " is resolved already");
    }

    @Test
    void unknownIdsAndBadReportsAreRefusedAndChangeNothing() {
        long version = state.version();
        assertThat(state.apply(new AcknowledgeIncident(42, "x", now)).reason()).isEqualTo("unknown incident 42");
        assertThat(state.apply(new ResolveIncident(42, "x", now)).reason()).isEqualTo("unknown incident 42");
        IncidentReport noComponent = new IncidentReport(IncidentKind.NODE_DOWN, new IncidentComponent(null, null, null), "w", List.of(), null, "a");
        assertThat(state.apply(new OpenIncident(noComponent, now)).reason()).contains("needs a node");
        IncidentReport halfGroup = new IncidentReport(IncidentKind.GROUP_HALTED, new IncidentComponent(null, "kv", null), "w", List.of(), null, "a");
        assertThat(state.apply(new OpenIncident(halfGroup, now)).reason()).contains("both a service and a partition");
        IncidentReport noAction = new IncidentReport(IncidentKind.NODE_DOWN, IncidentComponent.node("n1"), "w", List.of(), null, " ");
        assertThat(state.apply(new OpenIncident(noAction, now)).accepted()).isFalse();
        IncidentReport tooMuch = new IncidentReport(IncidentKind.NODE_DOWN, IncidentComponent.node("n1"), "w",
                java.util.Collections.nCopies(Incidents.EVIDENCE_LINES_MAX + 1, "e"), null, "a");
        assertThat(state.apply(new OpenIncident(tooMuch, now)).reason()).contains("at most " + Incidents.EVIDENCE_LINES_MAX);
        assertThat(state.version()).isEqualTo(version);
        assertThat(incidents()).isEmpty();
    }

    @Test
    void aSecondReportMayAddTheDumpFileTheIncidentLacked() {
        IncidentComponent member = IncidentComponent.replica(kv0, "n2");
        IncidentReport report = new IncidentReport(IncidentKind.REPLICA_ISOLATED, member, "outvoted", List.of("e1"), null, "read the dump");
        state.apply(new OpenIncident(report, 5));
        assertThat(state.apply(new OpenIncident(report, 6)).changed()).isFalse();
        assertThat(state.apply(new OpenIncident(new IncidentReport(IncidentKind.REPLICA_ISOLATED, member, "x", List.of(), "n2:/d/kv-0.dump", "y"), 7))
                .changed()).isTrue();
        Incident incident = incidents().get(0);
        assertThat(incidents()).hasSize(1);
        assertThat(incident.dumpFile()).isEqualTo("n2:/d/kv-0.dump");
        assertThat(incident.what()).isEqualTo("outvoted");
        assertThat(incident.history().getLast().message()).isEqualTo("dump file n2:/d/kv-0.dump");
    }

    @Test
    void resolvedIncidentsArePrunedBeyondTheLimitOldestFirstAndHistoriesAreBounded() {
        int rounds = Incidents.RESOLVED_KEPT_MAX + 25;
        for (int round = 1; round <= rounds; round++) {
            applyAsLeader(new NodeDown("n3", round, "lease expired"));
            long id = state.incidents().nextId() - 1;
            for (int ack = 0; ack < 3; ack++) {
                state.apply(new AcknowledgeIncident(id, "a" + ack, now));
            }
            applyAsLeader(new RegisterNode("n3", "h", "r", round + 1, round));
        }
        assertThat(state.incidents().all()).hasSize(Incidents.RESOLVED_KEPT_MAX);
        assertThat(state.incidents().all().firstKey()).isEqualTo(rounds - Incidents.RESOLVED_KEPT_MAX + 1);
        assertThat(state.incidents().nextId()).isEqualTo(rounds + 1);
        assertThat(state.copy().incidents().all()).isEqualTo(state.incidents().all());

        Incident one = state.incidents().all().lastEntry().getValue();
        Incident busy = one;
        for (int i = 0; i < 3 * Incidents.HISTORY_MAX; i++) {
            busy = busy.updated(busy.state(), i, "update " + i, null);
        }
        assertThat(busy.history()).hasSize(Incidents.HISTORY_MAX);
        assertThat(busy.history().getFirst()).as("the opening is kept").isEqualTo(one.history().getFirst());
        assertThat(busy.history().getLast().message()).isEqualTo("update " + (3 * Incidents.HISTORY_MAX - 1));
    }

    @Test
    void aMemberDumpFillsInTheIncidentOfItsIsolationWhicheverComesFirst() {
        state.apply(new Deploy(new ServiceSpec("votes", 1, Mode.TMR, 1, "example:kv", "", "")));
        GroupId votes = new GroupId("votes", 0);
        GroupConfig group = state.groups().get(votes);
        String member = group.backup().node();
        applyAsLeader(new ControlCommand.ReplicaDiverged(votes, group.epoch(), group.primary().node(), member, 12, "state digest differs"));
        assertThat(incidents()).singleElement().extracting(Incident::kind).isEqualTo(IncidentKind.REPLICA_ISOLATED);

        IncidentReport dump = IncidentRules.memberDumped(votes, member, member + ":/data/dumps/votes-0.dump", "outvoted at entry 12");
        assertThat(state.apply(new OpenIncident(dump, now)).changed()).isTrue();
        assertThat(incidents()).singleElement().satisfies(incident -> {
            assertThat(incident.dumpFile()).isEqualTo(member + ":/data/dumps/votes-0.dump");
            assertThat(incident.what()).as("the leader's account stays").contains("taken out of the group");
            assertThat(incident.suggestedAction()).contains("DATA/dumps/");
        });

        // The dump first: it opens the incident, and the leader's later finding adds nothing.
        GroupId other = new GroupId("votes2", 0);
        state.apply(new Deploy(new ServiceSpec("votes2", 1, Mode.TMR, 1, "example:kv", "", "")));
        GroupConfig second = state.groups().get(other);
        String outvoted = second.backup().node();
        state.apply(new OpenIncident(IncidentRules.memberDumped(other, outvoted, outvoted + ":/d/x.dump", "outvoted"), now));
        applyAsLeader(new ControlCommand.ReplicaDiverged(other, second.epoch(), second.primary().node(), outvoted, 3, "differs"));
        assertThat(incidents()).filteredOn(i -> i.component().group().equals(other)).singleElement()
                .satisfies(incident -> assertThat(incident.dumpFile()).isEqualTo(outvoted + ":/d/x.dump"));
    }

    @Test
    void aHaltedGroupOpensAGroupIncident() {
        state.apply(new Deploy(new ServiceSpec("votes", 1, Mode.TMR, 1, "example:kv", "", "")));
        GroupId votes = new GroupId("votes", 0);
        GroupConfig group = state.groups().get(votes);
        applyAsLeader(new ControlCommand.GroupHalted(votes, group.epoch(), group.primary().node(), 7, "outputs differ"));
        assertThat(incidents()).singleElement().satisfies(incident -> {
            assertThat(incident.kind()).isEqualTo(IncidentKind.GROUP_HALTED);
            assertThat(incident.component()).isEqualTo(IncidentComponent.group(votes));
            assertThat(incident.what()).contains("votes/0 (tmr) halted", "outputs differ");
            assertThat(incident.state()).isEqualTo(IncidentState.OPEN);
        });
    }
}
