package io.pairstep.runtime.admin;

/**
 * One replica's partition monitors as of their last sample (once a second), as the admin API
 * shows them in {@code GET /v1/metrics/partitions}: the same figures as the node's
 * {@code pairstep_partition_*} Prometheus series.
 *
 * @param role primary, backup, or removed while the replica stops
 * @param throughput log entries applied per second over the last sample interval
 * @param latencyP99Millis 99th percentile of the latency of the commands this replica answered in
 *     the last interval, in ms; NaN when it answered none
 * @param commandsTotal log entries applied since the replica started on this node
 */
public record PartitionFigure(String node, String service, int partition, String role, double throughput, double latencyP99Millis,
        long commandsTotal) {
}
