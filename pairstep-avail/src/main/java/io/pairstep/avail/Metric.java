package io.pairstep.avail;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every metric a threshold can watch: the one place that names them. Node metrics describe the
 * node process (their subject is the node, or a data directory for disk space); partition metrics
 * describe the replica of one partition of a service that the node hosts (their subject is
 * {@code service/partition}).
 */
public enum Metric {
    /** CPU load of the node process, 0 to 1. */
    NODE_CPU("node.cpu"),
    /** Used heap over maximum heap, 0 to 1. */
    NODE_HEAP_USED_RATIO("node.heap.used.ratio"),
    /** Longest garbage collection pause since the last sample, in ms. */
    NODE_GC_PAUSE_MS("node.gc.pause.ms"),
    /** Free space on a data directory's file system, in bytes. */
    NODE_DISK_FREE_BYTES("node.disk.free.bytes"),
    /** Open file descriptors of the node process. */
    NODE_OPEN_FILES("node.open.files"),
    /** Log entries (commands) applied per second by the replica, over the last sample interval. */
    PARTITION_THROUGHPUT("partition.throughput"),
    /** 99th percentile of command latency on the node that answers, in ms, over the last sample interval. */
    PARTITION_LATENCY_P99_MS("partition.latency.p99.ms"),
    /** Commands received by the replica and not answered yet. */
    PARTITION_QUEUE_DEPTH("partition.queue.depth"),
    /** Log entries the replica holds that its group has not committed yet (on a primary: not yet held by the backup). */
    PARTITION_REPLICATION_LAG("partition.replication.lag"),
    /** Time since the replica last applied a command while work was waiting, in ms (0 when idle). */
    PARTITION_PROGRESS_AGE_MS("partition.progress.age.ms"),
    /** 1 while the replica is being rebuilt (syncing), 0 once it is in sync. */
    PARTITION_REPLICA_SYNCING("partition.replica.syncing");

    private static final Map<String, Metric> BY_NAME =
            Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(Metric::metricName, Function.identity()));

    private final String metricName;

    Metric(String metricName) {
        this.metricName = metricName;
    }

    /** The dotted name used in configuration files, alerts and traps, e.g. {@code node.cpu}. */
    public String metricName() {
        return metricName;
    }

    /** Whether this metric describes a partition's replica (subject {@code service/partition}) rather than the node. */
    public boolean perPartition() {
        return metricName.startsWith("partition.");
    }

    public static Optional<Metric> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** The known names, in declaration order, for error messages. */
    public static String knownNames() {
        return Arrays.stream(values()).map(Metric::metricName).collect(Collectors.joining(", "));
    }
}
