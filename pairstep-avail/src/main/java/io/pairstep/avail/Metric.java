package io.pairstep.avail;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Every metric a threshold can watch: the one place that names them. Node metrics describe the
 * node process (their subject is the node, or a data directory for disk space); service metrics
 * describe one partition of a service (their subject is {@code service/partition}).
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
    /** Commands applied per second. */
    SERVICE_THROUGHPUT("service.throughput"),
    /** 99th percentile of command latency, in ms. */
    SERVICE_LATENCY_P99_MS("service.latency.p99.ms"),
    /** Commands waiting for the replica. */
    SERVICE_QUEUE_DEPTH("service.queue.depth"),
    /** Log entries the backup is behind the primary. */
    SERVICE_REPLICATION_LAG("service.replication.lag"),
    /** Time since the replica last applied a command while work was waiting, in ms. */
    SERVICE_PROGRESS_AGE_MS("service.progress.age.ms");

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

    public static Optional<Metric> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** The known names, in declaration order, for error messages. */
    public static String knownNames() {
        return Arrays.stream(values()).map(Metric::metricName).collect(Collectors.joining(", "));
    }
}
