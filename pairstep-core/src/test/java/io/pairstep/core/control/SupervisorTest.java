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

    /** Heartbeats of n1 and n2 every {@code n2Gap} from {@code from} to {@code until}, ticking as the leader goes. */
    private void heartbeats(long from, long until, long n2Gap) {
        for (long t = from; t <= until; t += 10 * MS) {
            supervisor.heartbeat("n1", 1, t);
            if ((t - from) % n2Gap == 0) {
                supervisor.heartbeat("n2", 1, t);
            }
            assertThat(downAt(t)).isEmpty();
        }
    }

    /** n2, last heard at {@code from}, is suspected right away; n1 keeps heartbeating. Returns when n2 is declared down, or -1. */
    private long suspectedAt(long from, long until) {
        supervisor.suspected("n2", false, from);
        for (long t = from; t <= until; t += MS) {
            supervisor.heartbeat("n1", 1, t);
            if (downAt(t).contains("n2")) {
                return t;
            }
        }
        return -1;
    }

    @Test
    void aNodeWhoseHeartbeatsComeOnTimeIsConfirmedAfterTheConfiguredSilence() {
        downAt(0);
        heartbeats(0, 1000 * MS, 50 * MS);
        assertThat(suspectedAt(1000 * MS, 1400 * MS)).isEqualTo(1120 * MS);
    }

    @Test
    void aNodeWhoseHeartbeatsCameLateLatelyNeedsTwiceItsLongestGapOfSilence() {
        downAt(0);
        // A busy node: its heartbeats 150 ms apart instead of 50.
        heartbeats(0, 900 * MS, 150 * MS);
        // Silent 200 ms: long enough for the configured 120 ms, not for twice its 150 ms gaps...
        supervisor.suspected("n2", false, 900 * MS);
        for (long t = 900 * MS; t <= 1100 * MS; t += MS) {
            supervisor.heartbeat("n1", 1, t);
            assertThat(downAt(t)).isEmpty();
        }
        // ...and then it speaks: a declaration avoided.
        supervisor.heartbeat("n2", 1, 1100 * MS);
        assertThat(supervisor.suspicionsOutlasted()).isEqualTo(1);
        // Its longest gap is now those 200 ms: a suspicion counts after 400 ms of silence.
        heartbeats(1100 * MS, 1400 * MS, 150 * MS);
        assertThat(suspectedAt(1400 * MS, 2000 * MS)).isEqualTo(1800 * MS);
    }

    @Test
    void lateHeartbeatsAreForgottenAfterTheWindowAndNeverDelayPastTheLease() {
        downAt(0);
        // One very late heartbeat: a 450 ms gap asks for 900 ms, but the lease (500 ms) decides first.
        heartbeats(0, 200 * MS, 50 * MS);
        supervisor.heartbeat("n2", 1, 650 * MS);
        supervisor.heartbeat("n1", 1, 650 * MS);
        assertThat(suspectedAt(650 * MS, 1300 * MS)).isEqualTo(1150 * MS);
    }

    @Test
    void aGapOlderThanTheWindowNoLongerCounts() {
        downAt(0);
        heartbeats(0, 200 * MS, 50 * MS);
        supervisor.heartbeat("n2", 1, 600 * MS); // a 400 ms gap
        long window = Supervisor.JITTER_WINDOW_LEASES * 500 * MS;
        heartbeats(600 * MS, 600 * MS + window + 100 * MS, 50 * MS);
        long from = 600 * MS + window + 100 * MS;
        assertThat(suspectedAt(from, from + 600 * MS)).isEqualTo(from + 120 * MS);
    }
}
