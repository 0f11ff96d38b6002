package io.pairstep.runtime.incidents;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.Incident;
import io.pairstep.core.control.IncidentKind;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.runtime.events.Event;
import io.pairstep.runtime.events.EventLog;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The leader's side of incidents, with the controller played by a {@link ControllerState} in this
 * thread: what is proposed, with which evidence, by whom, and what is called home.
 */
class IncidentReporterTest {

    private final ControllerState controller = new ControllerState();
    private final EventLog events = new EventLog(100, Clock.systemUTC());
    private final AtomicBoolean leader = new AtomicBoolean(true);
    private final List<ControlCommand> proposed = new ArrayList<>();
    private final List<String> calledHome = new ArrayList<>();
    private final IncidentReporter reporter = new IncidentReporter(leader::get, this::propose, events, controller::copy, () -> 42_000,
            (event, incident) -> calledHome.add(event.type() + " " + incident.id() + " " + incident.state().label()));

    /** Proposals are held, as in flight, until {@link #commitProposals}. */
    private CompletableFuture<ControlResult> propose(ControlCommand command) {
        proposed.add(command);
        return new CompletableFuture<>();
    }

    /** Applies a command as the controller would, and tells the listeners in the node's order. */
    private void apply(ControlCommand command) {
        if (controller.apply(command).changed()) {
            ControllerState copy = controller.copy();
            events.onState(copy);
            reporter.onState(copy);
        }
    }

    private void commitProposals() {
        List<ControlCommand> pending = List.copyOf(proposed);
        proposed.clear();
        pending.forEach(this::apply);
    }

    private void threeNodesWithKv() {
        apply(new ControlCommand.Bootstrap("s"));
        for (int i = 1; i <= 3; i++) {
            apply(new ControlCommand.RegisterNode("n" + i, "h" + i, "r" + i, 1, 100 + i));
        }
        apply(new ControlCommand.Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
    }

    @Test
    void theLeaderOpensAnIncidentWithTheRecentEventsOfTheNodeAsEvidenceAndResolvesItWhenTheNodeIsBack() {
        threeNodesWithKv();
        String victim = controller.groups().get(new GroupId("kv", 0)).primary().node();
        apply(new ControlCommand.NodeDown(victim, 1, "lease expired"));
        assertThat(proposed).singleElement().isInstanceOfSatisfying(ControlCommand.OpenIncident.class, open -> {
            assertThat(open.timeMillis()).isEqualTo(42_000);
            assertThat(open.report().kind()).isEqualTo(IncidentKind.NODE_DOWN);
            assertThat(open.report().evidence()).anySatisfy(line -> assertThat(line).contains("node-down: " + victim + " is down"))
                    .anySatisfy(line -> assertThat(line).contains("takeover: kv/0:", "from " + victim));
        });
        // More states while the proposal is in flight propose nothing more.
        apply(new ControlCommand.ControllerLeader("n9"));
        assertThat(proposed).hasSize(1);

        commitProposals();
        Incident incident = controller.incidents().all().firstEntry().getValue();
        apply(new ControlCommand.AcknowledgeIncident(incident.id(), "ops", 43_000));
        apply(new ControlCommand.RegisterNode(victim, "h", "r", 2, 9));
        assertThat(proposed).singleElement().isInstanceOf(ControlCommand.ResolveIncident.class);
        commitProposals();
        assertThat(controller.incidents().all().get(incident.id()).resolved()).isTrue();
        assertThat(calledHome).containsExactly("incident-opened 1 open", "incident-acknowledged 1 acknowledged", "incident-resolved 1 resolved");
    }

    @Test
    void aNodeThatDoesNotLeadProposesNothingAndCallsNobody() {
        leader.set(false);
        threeNodesWithKv();
        apply(new ControlCommand.NodeDown("n2", 1, "lease expired"));
        assertThat(proposed).isEmpty();
        leader.set(true);
        apply(new ControlCommand.ControllerLeader("n1"));
        assertThat(proposed).as("a new leader finds the node that is still down").hasSize(1);
        leader.set(false);
        commitProposals();
        assertThat(controller.incidents().all()).hasSize(1);
        assertThat(calledHome).isEmpty();
    }

    @Test
    void evidenceOfAReplicaIsTheEventsOfItsGroupOnItsNode() {
        Event onN2 = event("replica-removed", "n2", "kv/0", "n2");
        Event onN3 = event("replica-inserted", "n3", "kv/0", "n3");
        Event otherGroup = event("replica-removed", "n2", "kv/1", "n2");
        Event incident = event("incident-opened", "n2", "kv/0@n2", null);
        var replica = io.pairstep.core.control.IncidentComponent.replica(new GroupId("kv", 0), "n2");
        assertThat(IncidentReporter.about(onN2, replica)).isTrue();
        assertThat(IncidentReporter.about(onN3, replica)).isFalse();
        assertThat(IncidentReporter.about(otherGroup, replica)).isFalse();
        assertThat(IncidentReporter.about(incident, replica)).isFalse();
        var node = io.pairstep.core.control.IncidentComponent.node("n2");
        assertThat(IncidentReporter.about(onN2, node)).as("an event on the node").isTrue();
        assertThat(IncidentReporter.about(onN3, node)).isFalse();
    }

    private static Event event(String type, String node, String component, String replicaNode) {
        java.util.Map<String, Object> fields = new java.util.LinkedHashMap<>();
        fields.put("replicaNode", replicaNode);
        return new Event(1, 1, 0, java.time.Instant.EPOCH, type, node, component, type, fields);
    }
}
