package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

class ClusterFileTest {

    @TempDir
    Path dir;

    static ClusterFile sample(Path dir) {
        return new ClusterFile("0b6f-sys", List.of(
                new ClusterFile.Node("n1", 1234, "127.0.0.1:7111", "127.0.0.1:7112", dir.resolve("n1/data").toString(),
                        List.of("/jdk/bin/java", "-Xmx512m", "-jar", "/x/pairstep.jar", "node", "--id", "n1")),
                new ClusterFile.Node("n2", 1235, "127.0.0.1:7121", "127.0.0.1:7122", dir.resolve("n2/data").toString(),
                        List.of("/jdk/bin/java", "node", "--id", "n2")),
                new ClusterFile.Node("n3", 0, "127.0.0.1:7131", "127.0.0.1:7132", dir.resolve("n3/data").toString(),
                        List.of())));
    }

    @Test
    void roundTrip() {
        ClusterFile cf = sample(dir);
        cf.write(dir);
        assertThat(ClusterFile.read(dir)).isEqualTo(cf);
        assertThat(dir.resolve("cluster.json.tmp")).doesNotExist();
    }

    @Test
    void usesTheDocumentedFieldNames() throws Exception {
        sample(dir).write(dir);
        JsonNode doc = Json.MAPPER.readTree(Files.readString(dir.resolve("cluster.json")));
        assertThat(doc.propertyNames()).containsExactly("system", "nodes");
        assertThat(doc.get("system").asString()).isEqualTo("0b6f-sys");
        JsonNode n1 = doc.get("nodes").get(0);
        assertThat(n1.propertyNames()).containsExactly("id", "pid", "http", "rpc", "data", "command");
        assertThat(n1.get("pid").isIntegralNumber()).isTrue();
        assertThat(n1.get("pid").asLong()).isEqualTo(1234);
        assertThat(n1.get("http").asString()).isEqualTo("127.0.0.1:7111");
        assertThat(n1.get("command").get(4).asString()).isEqualTo("node");
    }

    @Test
    void readsAHandWrittenFileWithoutCommands() throws Exception {
        Files.writeString(dir.resolve("cluster.json"), """
                {"system":"s","nodes":[{"id":"n1","pid":42,"http":"127.0.0.1:7111","rpc":"127.0.0.1:7112",
                 "data":"/d/n1/data","extra":true}]}""");
        ClusterFile cf = ClusterFile.read(dir);
        assertThat(cf.nodes()).singleElement().satisfies(n -> {
            assertThat(n.pid()).isEqualTo(42);
            assertThat(n.command()).isEmpty();
            assertThat(n.httpAddress()).isEqualTo(new HostPort("127.0.0.1", 7111));
        });
    }

    @Test
    void updatesOneNode() {
        ClusterFile cf = sample(dir);
        ClusterFile updated = cf.withNode(cf.node("n2").withPid(999));
        updated.write(dir);
        ClusterFile back = ClusterFile.read(dir);
        assertThat(back.nodes()).extracting(ClusterFile.Node::pid).containsExactly(1234L, 999L, 0L);
        assertThat(back.node("n2").command()).isEqualTo(cf.node("n2").command());
    }

    @Test
    void unknownNodeListsTheKnownOnes() {
        assertThatThrownBy(() -> sample(dir).node("n7")).isInstanceOf(CliException.class)
                .hasMessage("unknown node 'n7'; known nodes: n1, n2, n3");
    }

    @Test
    void missingOrBrokenFilesAreClearErrors() throws Exception {
        assertThatThrownBy(() -> ClusterFile.read(dir)).isInstanceOf(CliException.class)
                .hasMessageContaining("no cluster.json in " + dir);
        Files.writeString(dir.resolve("cluster.json"), "{\"system\":");
        assertThatThrownBy(() -> ClusterFile.read(dir)).isInstanceOf(CliException.class)
                .hasMessageContaining("is not a valid cluster file");
        Files.writeString(dir.resolve("cluster.json"), "{\"system\":\"s\",\"nodes\":[]}");
        assertThatThrownBy(() -> ClusterFile.read(dir)).hasMessageContaining("lists no nodes");
    }

    @Test
    void lockedRunsTheAction() {
        assertThat(ClusterFile.locked(dir, () -> 7)).isEqualTo(7);
        assertThat(ClusterFile.locked(dir, () -> 8)).isEqualTo(8);
    }

    @Test
    void dirOptionReadsTheNodeAddresses() {
        sample(dir).write(dir);
        assertThat(new SystemOptions(null, dir).httpAddresses()).containsExactly(
                new HostPort("127.0.0.1", 7111), new HostPort("127.0.0.1", 7121), new HostPort("127.0.0.1", 7131));
        assertThat(new SystemOptions("a:1, b:2", null).httpAddresses())
                .containsExactly(new HostPort("a", 1), new HostPort("b", 2));
    }
}
