package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RollingRestartCommandTest {

    @Test
    void nodesWithoutAVoteGoFirstThenVotersAndTheControllerLeaderLast() {
        List<String> ids = List.of("n1", "n2", "n3", "n4", "n5");
        List<String> done = new ArrayList<>();
        List<String> leaders = List.of("n2", "n2", "n2", "n2", "n1");
        for (String leader : leaders) {
            done.add(RollingRestartCommand.next(ids, done, leader));
        }
        // The last answer (n1) does not matter: n2 is the only node left by then.
        assertThat(done).containsExactly("n4", "n5", "n1", "n3", "n2");
    }

    @Test
    void theVotersTheSystemNamesGoLastWhenAVoteMoved() {
        List<String> ids = List.of("n1", "n2", "n3", "n4", "n5");
        List<String> voters = List.of("n2", "n3", "n4");
        List<String> done = new ArrayList<>();
        for (int i = 0; i < ids.size(); i++) {
            done.add(RollingRestartCommand.next(ids, done, "n3", voters));
        }
        assertThat(done).containsExactly("n1", "n5", "n2", "n4", "n3");
    }

    @Test
    void aLeaderThatMovesIsStillLeftForLast() {
        List<String> ids = List.of("n1", "n2", "n3");
        List<String> done = new ArrayList<>();
        done.add(RollingRestartCommand.next(ids, done, "n1"));
        done.add(RollingRestartCommand.next(ids, done, "n3"));
        done.add(RollingRestartCommand.next(ids, done, "n3"));
        assertThat(done).containsExactly("n2", "n1", "n3");
    }

    @Test
    void replicasOfEveryReplicatedModeCountAsStillToDrain() {
        String status = """
                {"groups":[
                  {"mode":"pair","replicas":[{"node":"n1","role":"primary"},{"node":"n2","role":"backup"}]},
                  {"mode":"pair","replicas":[{"node":"n2","role":"primary"},{"node":"n3","role":"backup"}]},
                  {"mode":"tmr","replicas":[{"node":"n1"},{"node":"n2"},{"node":"n4"}]},
                  {"mode":"dmr","replicas":[{"node":"n2"},{"node":"n3"}]},
                  {"mode":"none","replicas":[{"node":"n2"}]}]}
                """;
        assertThat(RollingRestartCommand.movableReplicasOn(Json.MAPPER.readTree(status), "n2")).isEqualTo(4);
        assertThat(RollingRestartCommand.movableReplicasOn(Json.MAPPER.readTree(status), "n3")).isEqualTo(2);
        assertThat(RollingRestartCommand.movableReplicasOn(Json.MAPPER.readTree(status), "n4")).isEqualTo(1);
        assertThat(RollingRestartCommand.movableReplicasOn(Json.MAPPER.readTree(status), "n5")).isZero();
    }

    @Test
    void fullyProtectedNeedsEveryNodeUpAndEveryReplicaInSync() {
        String healthy = """
                {"nodes":[{"id":"n1","state":"up"},{"id":"n2","state":"up"},{"id":"n3","state":"up"}],
                 "groups":[{"mode":"pair","replicas":[{"node":"n1","state":"ok"},{"node":"n2","state":"ok"}]},
                           {"mode":"tmr","replicas":[{"node":"n1","state":"ok"},{"node":"n2","state":"ok"},{"node":"n3","state":"ok"}]}]}
                """;
        assertThat(Readiness.fullyProtected(Json.MAPPER.readTree(healthy))).isTrue();
        assertThat(Readiness.fullyProtected(Json.MAPPER.readTree(healthy.replace("\"n3\",\"state\":\"up\"", "\"n3\",\"state\":\"down\""))))
                .isFalse();
        assertThat(Readiness.fullyProtected(Json.MAPPER.readTree(healthy.replaceFirst("\"n2\",\"state\":\"ok\"", "\"n2\",\"state\":\"syncing\""))))
                .isFalse();
        assertThat(Readiness.fullyProtected(Json.MAPPER.readTree(healthy.replace(",{\"node\":\"n3\",\"state\":\"ok\"}", ""))))
                .isFalse();
        assertThat(Readiness.fullyProtected(null)).isFalse();
    }
}
