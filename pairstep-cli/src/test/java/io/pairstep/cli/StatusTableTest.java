package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

class StatusTableTest {

    static final String SAMPLE = """
            {"system":"7c45-sys",
             "nodes":[{"id":"n1","state":"up","pid":1234,"http":"127.0.0.1:7111","rpc":"127.0.0.1:7112"},
                      {"id":"n2","state":"up","pid":1235,"http":"127.0.0.1:7121","rpc":"127.0.0.1:7122"},
                      {"id":"n3","state":"down","pid":0,"http":"127.0.0.1:7131","rpc":"127.0.0.1:7132"}],
             "services":[{"name":"kv","version":1,"mode":"pair","partitions":2,"artifact":"example:kv"}],
             "groups":[{"service":"kv","partition":0,"mode":"pair","epoch":3,
                        "replicas":[{"node":"n1","role":"primary","state":"ok"},
                                    {"node":"n2","role":"backup","state":"syncing"}]},
                       {"service":"kv","partition":1,"mode":"pair","epoch":12,
                        "replicas":[{"node":"n2","role":"primary","state":"ok"}]}]}
            """;

    @Test
    void rendersNodesServicesAndGroups() {
        JsonNode doc = Json.MAPPER.readTree(SAMPLE);
        assertThat(StatusTable.render(doc)).isEqualTo("""
                system 7c45-sys

                NODE  STATE  PID   HTTP            RPC
                n1    up     1234  127.0.0.1:7111  127.0.0.1:7112
                n2    up     1235  127.0.0.1:7121  127.0.0.1:7122
                n3    down   -     127.0.0.1:7131  127.0.0.1:7132

                SERVICE  VERSION  MODE  PARTITIONS  ARTIFACT
                kv       1        pair  2           example:kv

                GROUP  MODE  EPOCH  REPLICAS
                kv/0   pair  3      n1 primary ok, n2 backup syncing
                kv/1   pair  12     n2 primary ok
                """);
    }

    @Test
    void saysWhichNodesVoteInTheControllerWhenTheStatusNamesThem() {
        JsonNode doc = Json.MAPPER.readTree("""
                {"system":"s","controllerLeader":"n4","controllerVoters":["n2","n3","n4"],
                 "nodes":[{"id":"n2","state":"up","pid":1,"http":"h","rpc":"r"},
                          {"id":"n4","state":"up","pid":2,"http":"h","rpc":"r"},
                          {"id":"n5","state":"up","pid":3,"http":"h","rpc":"r"}],
                 "services":[],"groups":[]}
                """);
        assertThat(StatusTable.render(doc)).startsWith("""
                system s

                NODE  STATE  PID  HTTP  RPC  CONTROLLER
                n2    up     1    h     r    voter
                n4    up     2    h     r    voter, leader
                n5    up     3    h     r    listener
                """);
    }

    @Test
    void saysWhichLockstepGroupsReleaseNothingAndWhy() throws Exception {
        JsonNode doc = Json.MAPPER.readTree("""
                {"system":"s","nodes":[{"id":"n1","state":"up","pid":1,"http":"h","rpc":"r"}],
                 "services":[{"name":"clock","version":1,"mode":"dmr","partitions":2,"artifact":"example:kv"}],
                 "groups":[{"service":"clock","partition":0,"mode":"dmr","epoch":4,"halted":"halted at entry 1 by n1: no majority",
                            "replicas":[{"node":"n1","role":"primary","state":"ok"}]},
                           {"service":"clock","partition":1,"mode":"dmr","epoch":2,
                            "dispute":{"index":9,"orderer":"n1","other":"n2","evidence":"x"},
                            "replicas":[{"node":"n1","role":"primary","state":"ok"}]}]}""");
        assertThat(StatusTable.render(doc)).endsWith("""

                clock/0 HALTED, releases no result: halted at entry 1 by n1: no majority
                  (read the dumps, then: pairstep resume clock --partition 0 --trust NODE)

                clock/1 disputed at entry 9: n1 and n2 disagree; a referee executes it again
                """);
    }

    @Test
    void rendersAnEmptySystem() {
        JsonNode doc = Json.MAPPER.readTree("""
                {"system":"s","nodes":[{"id":"n1","state":"up","pid":7,"http":"h:1","rpc":"h:2"}],
                 "services":[],"groups":[]}""");
        assertThat(StatusTable.render(doc)).isEqualTo("""
                system s

                NODE  STATE  PID  HTTP  RPC
                n1    up     7    h:1   h:2

                no services deployed
                """);
    }

    @Test
    void readinessNamesNodesThatAreNotUp() {
        JsonNode doc = Json.MAPPER.readTree(SAMPLE);
        Set<String> suspects = new LinkedHashSet<>();
        assertThat(Readiness.notUp("n1", doc, List.of("n1", "n2"), suspects)).isNull();
        assertThat(suspects).isEmpty();
        assertThat(Readiness.notUp("n1", doc, List.of("n1", "n2", "n3", "n4"), suspects))
                .isEqualTo("n1 reports n3 down, n4 missing");
        assertThat(suspects).containsExactly("n3", "n4");
    }

    @Test
    void faultFindsPidsInTheStatusDocument() {
        JsonNode doc = Json.MAPPER.readTree(SAMPLE);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FaultCommand.targetFromStatus(doc, "n9"))
                .isInstanceOf(CliException.class)
                .hasMessage("unknown node 'n9'; known nodes: n1, n2, n3");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FaultCommand.targetFromStatus(doc, "n3"))
                .hasMessage("n3 is down and its pid is unknown");
        JsonNode self = Json.MAPPER.readTree("{\"nodes\":[{\"id\":\"n1\",\"state\":\"up\",\"pid\":"
                + ProcessHandle.current().pid() + ",\"http\":\"127.0.0.1:7111\"}]}");
        assertThat(FaultCommand.targetFromStatus(self, "n1").pid()).isEqualTo(ProcessHandle.current().pid());
        JsonNode remote = Json.MAPPER.readTree("{\"nodes\":[{\"id\":\"n1\",\"state\":\"up\",\"pid\":"
                + ProcessHandle.current().pid() + ",\"http\":\"192.0.2.7:7111\"}]}");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> FaultCommand.targetFromStatus(remote, "n1"))
                .hasMessageContaining("not on this machine");
    }
}
