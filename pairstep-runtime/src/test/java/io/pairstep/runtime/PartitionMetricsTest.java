package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

class PartitionMetricsTest {

    private final PartitionMetrics metrics = new PartitionMetrics(new GroupId("kv", 2));

    @Test
    void countsAppliedEntriesButNotThoseASnapshotInstalled() {
        metrics.progress(0, 0, 0);
        metrics.progress(5, 5, 10);
        metrics.snapshotInstalled(1_000);
        metrics.progress(1_000, 1_000, 20);
        metrics.progress(1_003, 1_000, 30);

        assertThat(metrics.appliedEntries()).isEqualTo(8);
        assertThat(metrics.replicationLag()).isEqualTo(3);
    }

    @Test
    void queueDepthIsWhatWasReceivedAndNotAnsweredOrHandedBack() {
        for (int i = 0; i < 5; i++) {
            metrics.commandReceived();
        }
        metrics.commandAnswered(2_000_000);
        metrics.commandDropped();

        assertThat(metrics.queueDepth()).isEqualTo(3);
        Histogram latency = metrics.latencyIntervalMicros(null);
        assertThat(latency.getTotalCount()).isEqualTo(1);
        assertThat(latency.getValueAtPercentile(99)).isBetween(1_990L, 2_010L);
        assertThat(metrics.latencyIntervalMicros(latency).getTotalCount()).as("each interval starts empty").isZero();
    }

    @Test
    void progressAgesOnlyWhileWorkWaits() {
        metrics.progress(7, 7, 1_000);
        assertThat(metrics.progressAgeNanos(9_000)).as("idle").isZero();

        metrics.commandReceived();
        assertThat(metrics.progressAgeNanos(9_000)).isEqualTo(8_000);

        metrics.progress(8, 7, 10_000);
        metrics.commandAnswered(1);
        assertThat(metrics.progressAgeNanos(12_000)).as("an entry waits for the backup").isEqualTo(2_000);
    }

    @Test
    void roleAndSyncingFollowThePlacement() {
        assertThat(metrics.role()).isEqualTo("none");
        metrics.configured(new ReplicaAssignment("n1", 1, Role.BACKUP, ReplicaState.SYNCING, 3));
        assertThat(metrics.role()).isEqualTo("backup");
        assertThat(metrics.syncing()).isTrue();
        metrics.configured(new ReplicaAssignment("n1", 1, Role.PRIMARY, ReplicaState.OK, 3));
        assertThat(metrics.role()).isEqualTo("primary");
        assertThat(metrics.syncing()).isFalse();
        metrics.configured(null);
        assertThat(metrics.role()).isEqualTo("removed");
    }
}
