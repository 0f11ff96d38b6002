package io.pairstep.runtime;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.pairstep.avail.AvailabilityManager;
import io.pairstep.avail.Metric;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-partition monitors of a node (issue 5): once a second, reads the {@link PartitionMetrics}
 * of every replica the node hosts and turns them into figures (throughput, latency p99, queue
 * depth, replication lag, progress age, replica state). Each figure goes three ways from the same
 * sample, so they never disagree: Prometheus series {@code pairstep_partition_*} labelled with
 * service, partition and role; a {@link PartitionMXBean} per replica; and the {@code partition.*}
 * threshold metrics of the availability manager, with subject {@code service/partition}.
 *
 * <p>Monitor thread only, apart from the gauges and MBeans, which read volatile figures.
 */
final class PartitionMonitors implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PartitionMonitors.class);
    static final String JMX_DOMAIN = "io.pairstep";

    private final String nodeId;
    private final MeterRegistry registry;
    private final MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
    private final Map<PartitionMetrics, View> views = new HashMap<>();
    /** The views after the last sample, for readers on other threads (their figures are volatile). */
    private volatile List<View> published = List.of();

    PartitionMonitors(String nodeId, MeterRegistry registry) {
        this.nodeId = nodeId;
        this.registry = registry;
    }

    /**
     * Samples every hosted replica; views of replicas no longer hosted are taken down.
     *
     * @param availability receives the samples as threshold metrics, or null without an availability file
     */
    void sample(Collection<PartitionMetrics> hosted, long nowMillis, long nowNanos, AvailabilityManager availability) {
        // Gone views first: a replica replaced on this node has a new view under the same meter ids and MBean name.
        Set<PartitionMetrics> current = new HashSet<>(hosted);
        views.values().removeIf(view -> {
            if (current.contains(view.metrics)) {
                return false;
            }
            view.unregister();
            return true;
        });
        for (PartitionMetrics metrics : hosted) {
            View view = views.computeIfAbsent(metrics, m -> new View(m, nowNanos));
            view.sample(nowNanos);
            if (!view.role.equals(view.registeredRole)) {
                view.unregister();
                view.register();
            }
            if (availability != null) {
                view.report(availability, nowMillis);
            }
        }
        published = List.copyOf(views.values());
    }

    /** Every hosted replica's figures as of the last sample; any thread. */
    List<io.pairstep.runtime.admin.PartitionFigure> figures() {
        List<io.pairstep.runtime.admin.PartitionFigure> figures = new ArrayList<>();
        for (View view : published) {
            figures.add(new io.pairstep.runtime.admin.PartitionFigure(nodeId, view.getService(), view.getPartition(), view.getRole(),
                    view.getThroughput(), view.getLatencyP99Millis(), view.getCommandsTotal()));
        }
        return figures;
    }

    @Override
    public void close() {
        views.values().forEach(View::unregister);
        views.clear();
        published = List.of();
    }

    /** The figures of one replica as of its last sample, and the meters and MBean that show them. */
    private final class View implements PartitionMXBean {

        private final PartitionMetrics metrics;
        private final String subject;
        private final List<Meter> meters = new ArrayList<>();
        private ObjectName objectName;
        private String registeredRole = "";
        private Histogram interval;
        private long lastApplied;
        private long lastSampleNanos;

        private volatile String role;
        private volatile boolean syncing;
        private volatile long commandsTotal;
        private volatile double throughput;
        private volatile double latencyP99Millis = Double.NaN;
        private volatile long queueDepth;
        private volatile long replicationLag;
        private volatile long progressAgeMillis;

        View(PartitionMetrics metrics, long nowNanos) {
            this.metrics = metrics;
            this.subject = metrics.group().service() + "/" + metrics.group().partition();
            this.lastApplied = metrics.appliedEntries();
            this.lastSampleNanos = nowNanos;
            this.role = metrics.role();
        }

        void sample(long nowNanos) {
            long applied = metrics.appliedEntries();
            long elapsedNanos = nowNanos - lastSampleNanos;
            if (elapsedNanos > 0) {
                throughput = (applied - lastApplied) * 1e9 / elapsedNanos;
            }
            lastApplied = applied;
            lastSampleNanos = nowNanos;
            commandsTotal = applied;
            interval = metrics.latencyIntervalMicros(interval);
            latencyP99Millis = interval.getTotalCount() == 0 ? Double.NaN : interval.getValueAtPercentile(99) / 1_000.0;
            queueDepth = metrics.queueDepth();
            replicationLag = metrics.replicationLag();
            progressAgeMillis = metrics.progressAgeNanos(nowNanos) / 1_000_000;
            role = metrics.role();
            syncing = metrics.syncing();
        }

        void report(AvailabilityManager availability, long nowMillis) {
            availability.sample(Metric.PARTITION_THROUGHPUT, subject, nowMillis, throughput);
            if (!Double.isNaN(latencyP99Millis)) {
                // An interval without commands says nothing about latency: the threshold keeps its state.
                availability.sample(Metric.PARTITION_LATENCY_P99_MS, subject, nowMillis, latencyP99Millis);
            }
            availability.sample(Metric.PARTITION_QUEUE_DEPTH, subject, nowMillis, queueDepth);
            availability.sample(Metric.PARTITION_REPLICATION_LAG, subject, nowMillis, replicationLag);
            availability.sample(Metric.PARTITION_PROGRESS_AGE_MS, subject, nowMillis, progressAgeMillis);
            availability.sample(Metric.PARTITION_REPLICA_SYNCING, subject, nowMillis, syncing ? 1 : 0);
        }

        /** Meters carry the role as a label, so a promotion takes the old series down and puts new ones up. */
        void register() {
            registeredRole = role;
            Tags tags = Tags.of("service", metrics.group().service(), "partition", Integer.toString(metrics.group().partition()),
                    "role", registeredRole);
            meters.add(FunctionCounter.builder("pairstep.partition.commands", this, View::getCommandsTotal)
                    .description("Log entries (commands) applied by this replica").tags(tags).register(registry));
            gauge("pairstep.partition.throughput", null, "Log entries applied per second over the last second", tags,
                    View::getThroughput);
            gauge("pairstep.partition.latency.p99", "seconds",
                    "99th percentile of the latency of commands answered here over the last second (NaN when none)", tags,
                    view -> view.latencyP99Millis / 1_000.0);
            gauge("pairstep.partition.queue.depth", null, "Commands received by this replica and not answered yet", tags,
                    View::getQueueDepth);
            gauge("pairstep.partition.replication.lag", null, "Log entries held here that the group has not committed yet", tags,
                    View::getReplicationLag);
            gauge("pairstep.partition.progress.age", "seconds", "Time since the log last moved while work was waiting (0 when idle)",
                    tags, view -> view.progressAgeMillis / 1_000.0);
            gauge("pairstep.partition.replica.syncing", null, "1 while the replica is being rebuilt, 0 once in sync", tags,
                    view -> view.syncing ? 1 : 0);
            try {
                objectName = objectName(nodeId, metrics.group().service(), metrics.group().partition());
                mbeans.registerMBean(this, objectName);
            } catch (JMException e) {
                LOG.warn("cannot register the MBean of {}: {}", subject, e.toString());
                objectName = null;
            }
        }

        private void gauge(String name, String baseUnit, String description, Tags tags, ToDoubleFunction<View> value) {
            meters.add(Gauge.builder(name, this, value).baseUnit(baseUnit).description(description).tags(tags).register(registry));
        }

        void unregister() {
            meters.forEach(registry::remove);
            meters.clear();
            registeredRole = "";
            if (objectName != null) {
                try {
                    mbeans.unregisterMBean(objectName);
                } catch (JMException e) {
                    LOG.debug("MBean {} already gone: {}", objectName, e.toString());
                }
                objectName = null;
            }
        }

        @Override
        public String getService() {
            return metrics.group().service();
        }

        @Override
        public int getPartition() {
            return metrics.group().partition();
        }

        @Override
        public String getRole() {
            return role;
        }

        @Override
        public boolean isSyncing() {
            return syncing;
        }

        @Override
        public long getCommandsTotal() {
            return commandsTotal;
        }

        @Override
        public double getThroughput() {
            return throughput;
        }

        @Override
        public double getLatencyP99Millis() {
            return latencyP99Millis;
        }

        @Override
        public long getQueueDepth() {
            return queueDepth;
        }

        @Override
        public long getReplicationLag() {
            return replicationLag;
        }

        @Override
        public long getProgressAgeMillis() {
            return progressAgeMillis;
        }
    }

    /** The JMX name of a hosted replica's MBean; the node id keeps nodes of one JVM (tests) apart. */
    static ObjectName objectName(String nodeId, String service, int partition) throws JMException {
        return new ObjectName(JMX_DOMAIN + ":type=Partition,node=" + value(nodeId) + ",service=" + value(service)
                + ",partition=" + partition);
    }

    /** Plain names stay readable; anything JMX could misread is quoted. */
    static String value(String text) {
        return text.matches("[A-Za-z0-9._-]+") ? text : ObjectName.quote(text);
    }
}
