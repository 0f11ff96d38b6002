package io.pairstep.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.control.ControlCommand.NodeDown;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import java.util.List;
import org.junit.jupiter.api.Test;

class SupervisorTest {

    private static final long MS = 1_000_000L;
    private final Supervisor supervisor = new Supervisor(new Supervisor.Settings(500 * MS, 20 * MS, 120 * MS));
    private final ControllerState state = new ControllerState();

    SupervisorTest() {
        state.apply(new ControlCommand.Bootstrap("s"));
        state.apply(new RegisterNode("n1", "h1", "r1", 1, 11));
        state.apply(new RegisterNode("n2", "h2", "r2", 1, 12));
    }

    private List<String> downAt(long nowNanos) {
        return supervisor.tick(nowNanos, state).stream().map(c -> ((NodeDown) c).node()).toList();
    }

    @Test
    void aNodeThatKeepsHeartbeatingIsNeverDeclaredDown() {
        for (long t = 0; t <= 2000 * MS; t += 50 * MS) {
            supervisor.heartbeat("n1", 1, t);
            supervisor.heartbeat("n2", 1, t);
            assertThat(downAt(t)).isEmpty();
        }
    }

    @Test
    void aSilentNodeIsDeclaredDownWhenItsLeaseRunsOut() {
        assertThat(downAt(0)).isEmpty();
        supervisor.heartbeat("n1", 1, 400 * MS);
        assertThat(downAt(499 * MS)).isEmpty();
        assertThat(downAt(501 * MS)).containsExactly("n2");
    }

    @Test
    void aClosedConnectionIsDeathAfterTheReconnectGraceUnlessTheNodeComesBack() {
        downAt(0);
        supervisor.disconnected("n1", 10 * MS);
        assertThat(downAt(20 * MS)).isEmpty();
        assertThat(downAt(30 * MS)).containsExactly("n1");

        supervisor.disconnected("n2", 40 * MS);
        supervisor.heartbeat("n2", 1, 45 * MS);
        assertThat(downAt(100 * MS)).doesNotContain("n2");
    }

    @Test
    void aNewLeaderKeepsWhatItsOwnTransportSawButNotStaleOrReopenedConnections() {
        supervisor.disconnected("n1", 0);
        supervisor.disconnected("n2", 0);
        supervisor.connected("n2", 5 * MS);
        supervisor.becameLeader(100 * MS);
        assertThat(downAt(100 * MS)).containsExactly("n1");

        Supervisor other = new Supervisor(new Supervisor.Settings(500 * MS, 20 * MS, 120 * MS));
        other.disconnected("n1", 0);
        other.becameLeader(600 * MS);
        assertThat(other.tick(600 * MS, state)).isEmpty();
    }

    @Test
    void aNewLeaderUsesWhatItHeardAsAFollowerButGivesEveryoneHalfALease() {
        supervisor.heartbeat("n1", 1, 0);
        supervisor.heartbeat("n2", 1, 900 * MS);
        supervisor.becameLeader(1000 * MS);
        // n1 has been silent for a second, but the new leader counts at most from half a lease ago.
        assertThat(downAt(1000 * MS)).isEmpty();
        assertThat(downAt(1249 * MS)).isEmpty();
        assertThat(downAt(1251 * MS)).containsExactly("n1");
    }

    @Test
    void aPeersClosedConnectionIsConfirmedByTheLackOfAHeartbeat() {
        downAt(0);
        supervisor.suspected("n1", true, 10 * MS);
        assertThat(downAt(100 * MS)).isEmpty();
        assertThat(downAt(131 * MS)).containsExactly("n1");

        supervisor.suspected("n2", true, 200 * MS);
        supervisor.heartbeat("n2", 1, 250 * MS);
        assertThat(downAt(400 * MS)).doesNotContain("n2");
    }

    @Test
    void aNewIncarnationGetsAFullLeaseOfItsOwn() {
        assertThat(downAt(0)).isEmpty();
        supervisor.heartbeat("n2", 1, 400 * MS);
        state.apply(new RegisterNode("n1", "h1", "r1", 2, 21));
        assertThat(downAt(450 * MS)).isEmpty();
        supervisor.heartbeat("n1", 2, 900 * MS);
        supervisor.heartbeat("n2", 1, 900 * MS);
        assertThat(downAt(940 * MS)).isEmpty();
    }

    @Test
    void aLeaderThatFirstSeesANodeInANewIncarnationGivesItAFullLease() {
        // Heard as a follower, before this replica ever led: incarnation 1 of n1.
        supervisor.heartbeat("n1", 1, 0);
        supervisor.heartbeat("n2", 1, 0);
        supervisor.becameLeader(10_000 * MS);
        // n1 restarts while this replica leads: the heartbeat it remembers is of another incarnation.
        state.apply(new RegisterNode("n1", "h1", "r1", 2, 21));
        supervisor.heartbeat("n2", 1, 10_400 * MS);
        assertThat(downAt(10_400 * MS)).isEmpty();
        supervisor.heartbeat("n2", 1, 10_800 * MS);
        assertThat(downAt(10_800 * MS)).isEmpty();
        // Its own lease still runs out if it never heartbeats.
        supervisor.heartbeat("n2", 1, 10_901 * MS);
        assertThat(downAt(10_901 * MS)).containsExactly("n1");
    }

    @Test
    void aDecisionIsNotRepeatedWithinALease() {
        downAt(0);
        supervisor.disconnected("n1", 0);
        assertThat(downAt(30 * MS)).containsExactly("n1");
        assertThat(downAt(40 * MS)).isEmpty();
    }

    /** n2 suspected at {@code from} and silent since {@code from - 10 ms}; n1 keeps heartbeating. Returns when n2 was declared down. */
    private long suspectedAndSilent(long from) {
        supervisor.heartbeat("n2", state.members().get("n2").incarnation(), from - 10 * MS);
        supervisor.suspected("n2", false, from);
        for (long t = from; t < from + 1000 * MS; t += MS) {
            supervisor.heartbeat("n1", 1, t);
            if (downAt(t).contains("n2")) {
                return t;
            }
        }
        throw new AssertionError("n2 not declared down");
    }

    @Test
    void aNodeAliveRightAfterItWasDeclaredDownNeedsLongerSilencesBeforeItsSuspicionsCount() {
        downAt(0);
        // Declared down on a suspicion after 120 ms of silence...
        assertThat(suspectedAndSilent(1000 * MS)).isEqualTo(1110 * MS);
        // ...and it heartbeats 30 ms later: it was slow, not gone. It comes back as incarnation 2.
        supervisor.heartbeat("n2", 1, 1140 * MS);
        state.apply(new ControlCommand.NodeDown("n2", 1, "test"));
        downAt(1150 * MS);
        state.apply(new RegisterNode("n2", "h2", "r2", 2, 12));
        downAt(1160 * MS);
        // The next suspicion needs twice the silence, the one after that four times.
        assertThat(suspectedAndSilent(2000 * MS)).isEqualTo(2230 * MS);
        supervisor.heartbeat("n2", 2, 2240 * MS);
        state.apply(new ControlCommand.NodeDown("n2", 2, "test"));
        downAt(2250 * MS);
        state.apply(new RegisterNode("n2", "h2", "r2", 3, 12));
        downAt(2260 * MS);
        assertThat(suspectedAndSilent(3000 * MS)).isEqualTo(3470 * MS);
        // Never more than the lease; the lease itself is unchanged.
        supervisor.heartbeat("n2", 3, 3480 * MS);
        state.apply(new ControlCommand.NodeDown("n2", 3, "test"));
        downAt(3490 * MS);
        state.apply(new RegisterNode("n2", "h2", "r2", 4, 12));
        downAt(3500 * MS);
        assertThat(suspectedAndSilent(4000 * MS)).isEqualTo(4490 * MS);
        // A fourth false alarm; then, quiet for long enough, it is forgiven one doubling per period.
        supervisor.heartbeat("n2", 4, 4495 * MS);
        long quiet = 4495 * MS + 4 * Supervisor.FORGIVE_AFTER_LEASES * 500 * MS;
        state.apply(new ControlCommand.NodeDown("n2", 4, "test"));
        state.apply(new RegisterNode("n2", "h2", "r2", 5, 12));
        downAt(4500 * MS);
        for (long t = 4500 * MS; t < quiet; t += 50 * MS) {
            supervisor.heartbeat("n1", 1, t);
            supervisor.heartbeat("n2", 5, t);
            assertThat(downAt(t)).isEmpty();
        }
        long at = quiet + 1000 * MS;
        assertThat(suspectedAndSilent(at)).isEqualTo(at + 110 * MS);
    }

    @Test
    void aNodeThatStaysSilentLongAfterItWasDeclaredDownIsNoFalseAlarm() {
        downAt(0);
        assertThat(suspectedAndSilent(1000 * MS)).isEqualTo(1110 * MS);
        // Paused for two seconds: its next heartbeat comes long after the declaration.
        supervisor.heartbeat("n2", 1, 3110 * MS);
        state.apply(new ControlCommand.NodeDown("n2", 1, "test"));
        state.apply(new RegisterNode("n2", "h2", "r2", 2, 12));
        downAt(3120 * MS);
        assertThat(suspectedAndSilent(4000 * MS)).isEqualTo(4110 * MS);
    }
}
