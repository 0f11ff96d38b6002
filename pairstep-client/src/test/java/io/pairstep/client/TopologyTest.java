package io.pairstep.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.core.GroupId;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class TopologyTest {

    /** The example of docs/http-api.md, plus a down node, an IPv6 node and a field from the future. */
    private static final String STATUS = """
            {"system":"sys-1",
             "nodes":[{"id":"n1","state":"up","pid":1234,"http":"127.0.0.1:7101","rpc":"127.0.0.1:7102"},
                      {"id":"n2","state":"down","pid":0,"http":"127.0.0.1:7201","rpc":"127.0.0.1:7202"},
                      {"id":"n3","state":"up","pid":9,"http":"[::1]:7301","rpc":"[::1]:7302","zone":"b"}],
             "services":[{"name":"kv","version":1,"mode":"pair","partitions":4,"artifact":"example:kv"}],
             "groups":[{"service":"kv","partition":0,"mode":"pair","epoch":3,
                        "replicas":[{"node":"n1","role":"primary","state":"ok"},{"node":"n2","role":"backup","state":"syncing"}]},
                       {"service":"kv","partition":1,"mode":"pair","epoch":5,
                        "replicas":[{"node":"n2","role":"primary","state":"ok"},{"node":"n3","role":"backup","state":"ok"}]}]}
            """;

    @Test
    void parsesTheStatusDocument() {
        Topology topology = Topology.parse(STATUS);

        assertThat(topology.loaded()).isTrue();
        assertThat(topology.systemId()).isEqualTo("sys-1");
        assertThat(topology.partitions("kv")).isEqualTo(4);
        assertThat(topology.partitions("other")).isZero();
        assertThat(topology.rpcAddress("n1")).contains(new InetSocketAddress("127.0.0.1", 7102));
        assertThat(topology.rpcAddress("n3")).contains(new InetSocketAddress("::1", 7302));
        assertThat(topology.nodes().get("n2").up()).isFalse();
        assertThat(topology.primary("kv", 0)).contains("n1");
        assertThat(topology.group("kv", 1).orElseThrow().epoch()).isEqualTo(5);
        assertThat(topology.primary("kv", 2)).isEmpty();
    }

    @Test
    void aPrimaryOnADownNodeIsNotRoutedTo() {
        Topology topology = Topology.parse(STATUS);

        assertThat(topology.livePrimary(new GroupId("kv", 0))).isEqualTo("n1");
        assertThat(topology.livePrimary(new GroupId("kv", 1))).isNull();
    }

    @Test
    void aServiceKnownOnlyFromItsGroupsGetsItsPartitionCountFromThem() {
        Topology topology = Topology.parse("""
                {"nodes":[],"services":[],"groups":[{"service":"s","partition":2,"epoch":1,"replicas":[]},
                                                    {"service":"s","partition":0,"epoch":1,"replicas":[]}]}""");

        assertThat(topology.partitions("s")).isEqualTo(3);
    }

    @Test
    void somethingElseThanAnObjectIsRefused() {
        assertThatThrownBy(() -> Topology.parse("[1,2]")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Topology.parse("{oops")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void addresses() {
        assertThat(Topology.address("10.0.0.1:80")).isEqualTo(new InetSocketAddress("10.0.0.1", 80));
        assertThat(Topology.address("node-a.example:7102")).isEqualTo(InetSocketAddress.createUnresolved("node-a.example", 7102));
        assertThat(Topology.address("nohost")).isNull();
        assertThat(Topology.address("h:0")).isNull();
        assertThat(Topology.address("h:x")).isNull();
    }
}
