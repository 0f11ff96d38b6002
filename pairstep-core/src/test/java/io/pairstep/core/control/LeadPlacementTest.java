package io.pairstep.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.NodeDown;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class LeadPlacementTest {

    private static final long MS = 1_000_000L;
    private static final List<String> VOTERS = List.of("n1", "n2", "n3");

    private final ControllerState state = new ControllerState();
    private final LeadPlacement placement = new LeadPlacement(1000 * MS);

    LeadPlacementTest() {
        state.apply(new ControlCommand.Bootstrap("s"));
        for (String node : List.of("n1", "n2", "n3", "n4")) {
            state.apply(new RegisterNode(node, node + ":h", node + ":r", 1, 1));
        }
    }

    private String primaryOf(int partition) {
        return state.groups().get(new GroupId("kv", partition)).primary().node();
    }

    @Test
    void aLeaderWithoutPrimariesKeepsTheLead() {
        state.apply(new ControlCommand.ControllerLeader("n1"));
        state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 3, "example:kv", "", "")));
        assertThat(List.of(primaryOf(0), primaryOf(1), primaryOf(2))).doesNotContain("n1");
        assertThat(placement.target(state, "n1", VOTERS, 0)).isNull();
        assertThat(placement.target(state, "n1", VOTERS, 5000 * MS)).isNull();
    }

    @Test
    void theLeadMovesToASettledVoterWithoutPrimariesNeverToAListener() {
        // Placed before any leader was recorded: every node hosts a primary.
        state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 4, "example:kv", "", "")));
        String leader = primaryOf(0);
        assertThat(placement.target(state, leader, VOTERS, 0)).as("no voter is free of primaries").isNull();

        // A voter other than the leader dies and comes back: its primaries moved away, so it hosts none.
        String returning = VOTERS.stream().filter(v -> !v.equals(leader)).findFirst().orElseThrow();
        state.apply(new NodeDown(returning, 1, "test"));
        state.apply(new RegisterNode(returning, returning + ":h", returning + ":r", 2, 2));
        assertThat(placement.target(state, leader, VOTERS, 100 * MS)).as("just registered: still starting").isNull();
        assertThat(leaderHostsPrimary(leader)).isTrue();
        assertThat(placement.target(state, leader, VOTERS, 1100 * MS)).isEqualTo(returning);
    }

    @Test
    void aListenerWithoutPrimariesIsNotATarget() {
        state.apply(new ControlCommand.ControllerLeader("n4")); // n4 is no voter; placement avoids it
        state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 3, "example:kv", "", "")));
        placement.target(state, "n1", VOTERS, 0);
        assertThat(placement.target(state, "n1", VOTERS, 5000 * MS)).isNotEqualTo("n4");
    }

    @Test
    void aDrainingVoterIsNotATarget() {
        state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 4, "example:kv", "", "")));
        String leader = primaryOf(0);
        String draining = VOTERS.stream().filter(v -> !v.equals(leader)).findFirst().orElseThrow();
        // No leader recorded: the drain alone moves primaries, and none leaves the leader's node.
        state.apply(new ControlCommand.DrainNode(draining, true));
        for (int i = 0; i < 20 && state.groups().values().stream().anyMatch(g -> g.primary().node().equals(draining)); i++) {
            ControllerStateTest.catchUpAll(state);
        }
        assertThat(state.groups().values().stream().noneMatch(g -> g.primary().node().equals(draining)))
                .as("the drain moved its primaries away").isTrue();
        assertThat(leaderHostsPrimary(leader)).isTrue();

        placement.target(state, leader, VOTERS, 0);
        assertThat(placement.target(state, leader, VOTERS, 5000 * MS)).as("it is about to stop").isNotEqualTo(draining);
    }

    private boolean leaderHostsPrimary(String leader) {
        return state.groups().values().stream().anyMatch(g -> g.primary().node().equals(leader));
    }
}
