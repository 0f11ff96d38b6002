package io.pairstep.avail.snmp;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.avail.AvailabilityManager;
import io.pairstep.avail.alert.Alerts;
import io.pairstep.avail.config.SnmpAgentConfig;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SNMP agent answers net-snmp's own {@code snmpget}, {@code snmpwalk} and {@code snmpbulkwalk}
 * on loopback with the state of the system, decoded by them with PAIRSTEP-MIB.
 */
class SnmpAgentTest {

    private static final String COMMUNITY = "pairstep-test";

    @TempDir
    Path dir;

    private final Alerts.Problems problems = new Alerts.Problems();
    private final AtomicReference<SystemView> view = new AtomicReference<>(new SystemView(
            List.of(new SystemView.Node("n1", true, 2, 1), new SystemView.Node("n2", false, 0, 0), new SystemView.Node("n3", true, 2, 1)),
            List.of(new SystemView.Group("kv/0", "pair", SystemView.Health.OK, "n1"),
                    new SystemView.Group("kv/1", "pair", SystemView.Health.DEGRADED, "n3"))));

    private static int freeUdpPort() throws Exception {
        try (DatagramSocket socket = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static NetSnmp.Result tool(String name, int port, String community, String... arguments) throws Exception {
        List<String> command = new ArrayList<>(List.of(NetSnmp.tool(name), "-v2c", "-c", community, "-t", "2", "-r", "1",
                "-M", "+" + NetSnmp.mibDirectory(), "-m", "PAIRSTEP-MIB", "127.0.0.1:" + port));
        command.addAll(List.of(arguments));
        return NetSnmp.run(command);
    }

    @Test
    void snmpgetReadsNodesAndGroupsAndSeesTheStateChange() throws Exception {
        NetSnmp.requireBaseMibs();
        int port = freeUdpPort();
        try (SnmpAgent agent = SnmpAgent.start(new SnmpAgentConfig("127.0.0.1", port, COMMUNITY), view::get, problems)) {
            NetSnmp.Result get = tool("snmpget", port, COMMUNITY, "PAIRSTEP-MIB::pairstepNodesUp.0",
                    "PAIRSTEP-MIB::pairstepGroupsFullyProtected.0", "PAIRSTEP-MIB::pairstepNodeName.2",
                    "PAIRSTEP-MIB::pairstepNodeState.2", "PAIRSTEP-MIB::pairstepGroupName.2", "PAIRSTEP-MIB::pairstepGroupHealth.2",
                    "PAIRSTEP-MIB::pairstepGroupPrimary.2", "PAIRSTEP-MIB::pairstepNodeName.9");
            System.out.print(get.stdout());

            assertThat(get.exitCode()).as(get.stderr()).isZero();
            assertThat(get.stdout().lines()).containsExactly(
                    "PAIRSTEP-MIB::pairstepNodesUp.0 = Gauge32: 2",
                    "PAIRSTEP-MIB::pairstepGroupsFullyProtected.0 = Gauge32: 1",
                    "PAIRSTEP-MIB::pairstepNodeName.2 = STRING: n2",
                    "PAIRSTEP-MIB::pairstepNodeState.2 = INTEGER: broken(2)",
                    "PAIRSTEP-MIB::pairstepGroupName.2 = STRING: kv/1",
                    "PAIRSTEP-MIB::pairstepGroupHealth.2 = INTEGER: degraded(2)",
                    "PAIRSTEP-MIB::pairstepGroupPrimary.2 = STRING: n3",
                    "PAIRSTEP-MIB::pairstepNodeName.9 = No Such Instance currently exists at this OID");

            // n2 returns: the next request sees it.
            SystemView before = view.get();
            view.set(new SystemView(List.of(before.nodes().get(0), new SystemView.Node("n2", true, 1, 0), before.nodes().get(2)),
                    before.groups()));
            assertThat(tool("snmpget", port, COMMUNITY, "PAIRSTEP-MIB::pairstepNodeState.2").stdout().strip())
                    .isEqualTo("PAIRSTEP-MIB::pairstepNodeState.2 = INTEGER: up(1)");
        }
    }

    @Test
    void snmpwalkAndSnmpbulkwalkReadTheWholeStateInOrder() throws Exception {
        NetSnmp.requireBaseMibs();
        int port = freeUdpPort();
        try (SnmpAgent agent = SnmpAgent.start(new SnmpAgentConfig("127.0.0.1", port, COMMUNITY), view::get, problems)) {
            NetSnmp.Result walk = tool("snmpwalk", port, COMMUNITY, "PAIRSTEP-MIB::pairstepState");
            NetSnmp.Result bulk = tool("snmpbulkwalk", port, COMMUNITY, "PAIRSTEP-MIB::pairstepState");
            System.out.print(walk.stdout());

            assertThat(walk.exitCode()).as(walk.stderr()).isZero();
            // The agent's tree ends with the state: a walk past its end says so, as net-snmp does.
            assertThat(walk.stdout().lines().toList().getLast()).contains("No more variables left in this MIB View");
            assertThat(walk.stdout().lines().filter(line -> !line.contains("No more variables")))
                    .hasSize(3 + 3 * 4 + 2 * 4)
                    .startsWith("PAIRSTEP-MIB::pairstepNodesUp.0 = Gauge32: 2")
                    .contains("PAIRSTEP-MIB::pairstepNodeName.1 = STRING: n1", "PAIRSTEP-MIB::pairstepNodePrimaries.3 = Gauge32: 1",
                            "PAIRSTEP-MIB::pairstepGroupMode.1 = STRING: pair")
                    .endsWith("PAIRSTEP-MIB::pairstepGroupPrimary.2 = STRING: n3");
            assertThat(bulk.exitCode()).as(bulk.stderr()).isZero();
            assertThat(bulk.stdout()).isEqualTo(walk.stdout());
        }
    }

    @Test
    void aRequestWithAnotherCommunityIsNotAnswered() throws Exception {
        int port = freeUdpPort();
        try (SnmpAgent agent = SnmpAgent.start(new SnmpAgentConfig("127.0.0.1", port, COMMUNITY), view::get, problems)) {
            List<String> command = List.of(NetSnmp.tool("snmpget"), "-v2c", "-c", "guess", "-t", "1", "-r", "0",
                    "127.0.0.1:" + port, "." + PairstepMib.instance(PairstepMib.NODES_UP));
            NetSnmp.Result get = NetSnmp.run(command);
            assertThat(get.exitCode()).isNotZero();
            assertThat(get.stdout() + get.stderr()).contains("Timeout");
        }
    }

    @Test
    void theManagerStartsTheAgentOfItsFileAndMovesItWhenTheFileChanges() throws Exception {
        int first = freeUdpPort();
        int second = freeUdpPort();
        Path file = dir.resolve("availability.yaml");
        Files.writeString(file, "snmpAgent: {listen: \"127.0.0.1:" + first + "\", community: " + COMMUNITY + "}\n");
        String nodesUp = "." + PairstepMib.instance(PairstepMib.NODES_UP);
        try (AvailabilityManager manager = AvailabilityManager.start(
                AvailabilityManager.Settings.of("n1", file, alert -> {}, problems).withSystemView(view::get))) {
            assertThat(NetSnmp.run(List.of(NetSnmp.tool("snmpget"), "-v2c", "-c", COMMUNITY, "-On", "127.0.0.1:" + first, nodesUp))
                    .stdout().strip()).isEqualTo(nodesUp + " = Gauge32: 2");

            Files.writeString(file, "snmpAgent: {listen: \"127.0.0.1:" + second + "\", community: " + COMMUNITY + "}\n");
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
            manager.tick();

            assertThat(NetSnmp.run(List.of(NetSnmp.tool("snmpget"), "-v2c", "-c", COMMUNITY, "-On", "127.0.0.1:" + second, nodesUp))
                    .stdout().strip()).isEqualTo(nodesUp + " = Gauge32: 2");
            assertThat(NetSnmp.run(List.of(NetSnmp.tool("snmpget"), "-v2c", "-c", COMMUNITY, "-t", "1", "-r", "0",
                    "127.0.0.1:" + first, nodesUp)).exitCode()).as("the old port is closed").isNotZero();
        }
    }
}
