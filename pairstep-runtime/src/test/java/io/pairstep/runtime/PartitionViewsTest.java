package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.pairstep.core.GroupId;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import java.lang.management.ManagementFactory;
import java.util.List;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How the partition monitors follow the replicas a node hosts: new, promoted, replaced and gone. */
class PartitionViewsTest {

    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private final PartitionMonitors monitors = new PartitionMonitors("u1", registry);
    private final MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
    private final GroupId kv0 = new GroupId("kv", 0);

    @AfterEach
    void close() {
        monitors.close();
    }

    private static PartitionMetrics placed(GroupId group, Role role) {
        PartitionMetrics metrics = new PartitionMetrics(group);
        metrics.configured(new ReplicaAssignment("u1", 1, role, ReplicaState.OK, 1));
        return metrics;
    }

    private List<String> roles() {
        return registry.getMeters().stream().filter(meter -> meter.getId().getName().equals("pairstep.partition.commands"))
                .map(meter -> meter.getId().getTag("service") + "/" + meter.getId().getTag("partition") + " " + meter.getId().getTag("role"))
                .sorted().toList();
    }

    @Test
    void aPromotionRelabelsTheSeriesAndAReplacedReplicaKeepsItsMeterAndMBean() throws Exception {
        PartitionMetrics backup = placed(kv0, Role.BACKUP);
        monitors.sample(List.of(backup), 0, 0, null);
        assertThat(roles()).containsExactly("kv/0 backup");
        ObjectName name = PartitionMonitors.objectName("u1", "kv", 0);
        assertThat(mbeans.getAttribute(name, "Role")).isEqualTo("backup");

        backup.configured(new ReplicaAssignment("u1", 1, Role.PRIMARY, ReplicaState.OK, 1));
        monitors.sample(List.of(backup), 1_000, 1_000_000_000L, null);
        assertThat(roles()).containsExactly("kv/0 primary");
        assertThat(mbeans.getAttribute(name, "Role")).isEqualTo("primary");

        // The node stops the replica and hosts a new instance of the same group in the same second.
        PartitionMetrics replacement = placed(kv0, Role.PRIMARY);
        replacement.progress(0, 0, 0);
        replacement.progress(42, 42, 1);
        monitors.sample(List.of(replacement), 2_000, 2_000_000_000L, null);
        assertThat(roles()).containsExactly("kv/0 primary");
        Meter commands = registry.getMeters().stream()
                .filter(meter -> meter.getId().getName().equals("pairstep.partition.commands")).findFirst().orElseThrow();
        assertThat(commands.measure().iterator().next().getValue()).as("the meter reads the new replica").isEqualTo(42);
        assertThat(mbeans.getAttribute(name, "CommandsTotal")).isEqualTo(42L);

        monitors.sample(List.of(), 3_000, 3_000_000_000L, null);
        assertThat(roles()).isEmpty();
        assertThat(mbeans.isRegistered(name)).isFalse();
    }

    @Test
    void throughputIsAppliedEntriesOverTheTimeBetweenSamples() throws Exception {
        PartitionMetrics primary = placed(new GroupId("bank", 3), Role.PRIMARY);
        primary.progress(0, 0, 0);
        monitors.sample(List.of(primary), 0, 0, null);
        primary.progress(500, 500, 1);
        monitors.sample(List.of(primary), 500, 500_000_000L, null);

        ObjectName name = PartitionMonitors.objectName("u1", "bank", 3);
        assertThat((Double) mbeans.getAttribute(name, "Throughput")).isEqualTo(1_000.0);
        assertThat((Double) mbeans.getAttribute(name, "LatencyP99Millis")).as("no command answered").isNaN();
    }
}
