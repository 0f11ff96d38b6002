package io.pairstep.runtime;

/**
 * The partition monitors of one replica hosted by a node, over JMX: the same figures as the
 * {@code pairstep_partition_*} series of {@code GET /metrics} and the {@code partition.*}
 * threshold metrics, as of the last sample (once a second). Registered as
 * {@code io.pairstep:type=Partition,node=ID,service=NAME,partition=N}.
 */
public interface PartitionMXBean {

    String getService();

    int getPartition();

    /** primary, backup, or removed while the replica is being stopped. */
    String getRole();

    /** True while the replica is being rebuilt by snapshot and log catch-up. */
    boolean isSyncing();

    /** Log entries applied since the replica started here. */
    long getCommandsTotal();

    /** Log entries applied per second over the last sample interval. */
    double getThroughput();

    /** 99th percentile of the latency of commands answered here in the last interval, in ms; NaN when none were. */
    double getLatencyP99Millis();

    /** Commands received here and not answered yet. */
    long getQueueDepth();

    /** Log entries held here that the group has not committed yet. */
    long getReplicationLag();

    /** Time since the log last moved while work was waiting, in ms; 0 when idle. */
    long getProgressAgeMillis();
}
