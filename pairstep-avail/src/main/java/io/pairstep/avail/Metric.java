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
    NODE_CPU("node.cpu", "CPU load of the node process, 0 to 1"),
    NODE_HEAP_USED_RATIO("node.heap.used.ratio", "used heap over maximum heap, 0 to 1"),
    NODE_GC_PAUSE_MS("node.gc.pause.ms", "longest garbage collection pause since the last sample, in ms"),
    NODE_DISK_FREE_BYTES("node.disk.free.bytes", "free space on a data directory's file system, in bytes"),
    NODE_OPEN_FILES("node.open.files", "open file descriptors of the node process"),
    SERVICE_THROUGHPUT("service.throughput", "commands applied per second"),
    SERVICE_LATENCY_P99_MS("service.latency.p99.ms", "99th percentile of command latency, in ms"),
    SERVICE_QUEUE_DEPTH("service.queue.depth", "commands waiting for the replica"),
    SERVICE_REPLICATION_LAG("service.replication.lag", "log entries the backup is behind the primary"),
    SERVICE_PROGRESS_AGE_MS("service.progress.age.ms", "time since the replica last applied a command while work was waiting, in ms");

    private static final Map<String, Metric> BY_NAME =
            Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(Metric::metricName, Function.identity()));

    private final String metricName;
    private final String description;

    Metric(String metricName, String description) {
        this.metricName = metricName;
        this.description = description;
    }

    /** The dotted name used in configuration files, alerts and traps, e.g. {@code node.cpu}. */
    public String metricName() {
        return metricName;
    }

    public String description() {
        return description;
    }

    public static Optional<Metric> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    /** The known names, in declaration order, for error messages. */
    public static String knownNames() {
        return Arrays.stream(values()).map(Metric::metricName).collect(Collectors.joining(", "));
    }
}
