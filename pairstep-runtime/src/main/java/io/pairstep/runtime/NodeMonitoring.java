package io.pairstep.runtime;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pairstep.avail.AvailabilityManager;
import io.pairstep.avail.Metric;
import io.pairstep.avail.alert.Alert;
import io.pairstep.avail.alert.AlertAction;
import io.pairstep.avail.alert.ComponentChange;
import io.pairstep.avail.alert.ComponentState;
import io.pairstep.avail.alert.ComponentType;
import io.pairstep.avail.alert.QueuedAction;
import io.pairstep.avail.alert.RetryPolicy;
import io.pairstep.avail.snmp.SystemView;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.Member;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.Role;
import io.pairstep.runtime.events.Change;
import io.pairstep.runtime.events.Event;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.management.JMException;
import javax.management.ObjectName;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's watch on itself (issue 5): the Prometheus registry behind {@code GET /metrics}, the
 * monitors that sample the process every second, and, when the node was given an availability file,
 * the {@link AvailabilityManager} that turns samples and component changes into alerts.
 *
 * <p><b>Who reports component changes.</b> Every node derives the same events from the same
 * controller states, so if each reported them, every receiver would get one trap per node. Only
 * the node that leads the controller reports a change when it records its event. The leader is also
 * the node that declares others down, so it is alive whenever a node-down event is made. What this
 * costs: an event recorded while the lead is moving may be reported by no node, or by two (the old
 * leader before it learns it lost the lead, and the new one); a receiver drops duplicates by
 * component, change and time, not by alert id, which differs per node.
 *
 * <p>Thresholds are node-local: every node samples and alerts for itself. Each threshold alert also
 * goes to the controller ({@link AlertRecorder}), so that every node's event log shows it.
 */
final class NodeMonitoring implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NodeMonitoring.class);
    static final long SAMPLE_INTERVAL_MS = 1_000;
    static final long TICK_INTERVAL_MS = 2_000;
    /** Alerts waiting for the controller; more are dropped (and reported) rather than held in memory. */
    static final int RECORDER_QUEUE_CAPACITY = 1_000;
    /** A controller electing a leader takes a second or so: retry soon, and not much slower when it takes longer. */
    static final RetryPolicy RECORDER_RETRY = RetryPolicy.backoff(200, 5_000);

    private final Node node;
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
    private final ScheduledExecutorService monitor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "pairstep-monitor");
        thread.setDaemon(true);
        return thread;
    });
    private final PartitionMonitors partitions;
    private volatile AvailabilityManager availability;
    /** Records threshold alerts in the controller, hence in every node's event log; null without an availability file. */
    private QueuedAction recorder;
    private ObjectName nodeMBean;
    private AutoCloseable subscription;
    /** Collection time of every collector at the last sample; monitor thread only. */
    private long lastGcMillis = -1;

    NodeMonitoring(Node node) {
        this.node = node;
        this.partitions = new PartitionMonitors(node.id(), registry);
    }

    /** The partition monitors of every replica this node hosts, as of their last sample. */
    java.util.List<io.pairstep.runtime.admin.PartitionFigure> partitionFigures() {
        return partitions.figures();
    }

    /** Registers the metrics, loads the availability file if there is one, and starts sampling. */
    void start() {
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gcMetrics.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        NodeFigures figures = new NodeFigures(node);
        Gauge.builder("pairstep.nodes.up", figures, NodeFigures::getNodesUp)
                .description("Nodes the controller holds alive").register(registry);
        Gauge.builder("pairstep.groups", figures, NodeFigures::getGroups)
                .description("Replica groups (service partitions)").register(registry);
        Gauge.builder("pairstep.groups.fully.protected", figures, NodeFigures::getGroupsFullyProtected)
                .description("Replica groups with every replica in place and in sync").register(registry);
        Gauge.builder("pairstep.controller.state.version", figures, NodeFigures::getControllerStateVersion)
                .description("Version of the controller state this node applied last").register(registry);
        Gauge.builder("pairstep.controller.leader", figures, f -> f.isControllerLeader() ? 1 : 0)
                .description("1 while this node leads the controller").register(registry);
        try {
            nodeMBean = nodeObjectName(node.id());
            ManagementFactory.getPlatformMBeanServer().registerMBean(figures, nodeMBean);
        } catch (JMException e) {
            LOG.warn("cannot register the node MBean: {}", e.toString());
            nodeMBean = null;
        }

        // Partition figures feed /metrics and JMX even without an availability file.
        monitor.scheduleWithFixedDelay(this::samplePartitions, SAMPLE_INTERVAL_MS, SAMPLE_INTERVAL_MS, TimeUnit.MILLISECONDS);

        Path file = node.config().availabilityFile();
        if (file != null) {
            if (!Files.exists(file)) {
                // The manager waits for it quietly, so a mistyped path would otherwise go unnoticed.
                LOG.warn("availability file {} does not exist: no thresholds and no alert actions until it appears", file);
            }
            recorder = new QueuedAction(new AlertRecorder(node::propose), RECORDER_QUEUE_CAPACITY, RECORDER_RETRY,
                    problem -> LOG.warn("availability: {}", problem));
            availability = AvailabilityManager.start(AvailabilityManager.Settings.of(node.id(), file, eventLogSink(recorder),
                    problem -> LOG.warn("availability: {}", problem)).withSystemView(() -> systemView(node.state())));
            subscription = node.events().subscribe(this::onEvent);
            monitor.scheduleWithFixedDelay(this::tick, TICK_INTERVAL_MS, TICK_INTERVAL_MS, TimeUnit.MILLISECONDS);
            monitor.scheduleWithFixedDelay(this::sample, 0, SAMPLE_INTERVAL_MS, TimeUnit.MILLISECONDS);
            LOG.info("availability manager started with {}", file);
        }
    }

    /** The node's figures, read from its latest controller state: one source for the gauges and the MBean. */
    private record NodeFigures(Node node) implements NodeMXBean {
        @Override
        public long getNodesUp() {
            return node.state().members().values().stream().filter(Member::alive).count();
        }

        @Override
        public long getGroups() {
            return node.state().groups().size();
        }

        @Override
        public long getGroupsFullyProtected() {
            return node.state().groups().values().stream().filter(GroupConfig::fullyProtected).count();
        }

        @Override
        public long getControllerStateVersion() {
            return node.state().version();
        }

        @Override
        public boolean isControllerLeader() {
            return node.leader();
        }
    }

    /**
     * The availability manager's event log callback: every alert goes to the node's log (the bench
     * reads the ids there), and threshold alerts to the controller through {@code toController},
     * which queues them; it runs on the monitor thread and never waits.
     */
    static Consumer<Alert> eventLogSink(AlertAction toController) {
        return alert -> {
            LOG.info("alert {}: {}", alert.kind(), alert.fields());
            if (AlertRecorder.records(alert)) {
                toController.offer(alert);
            }
        };
    }

    /** The state of the system as the SNMP agent shows it, from a controller state. */
    static SystemView systemView(ControllerState state) {
        List<SystemView.Node> nodes = new ArrayList<>();
        for (Member member : state.members().values()) {
            List<ReplicaAssignment> hosted = state.replicasOn(member.id());
            int primaries = (int) hosted.stream().filter(r -> r.role() == Role.PRIMARY).count();
            nodes.add(new SystemView.Node(member.id(), member.alive(), hosted.size(), primaries));
        }
        List<SystemView.Group> groups = new ArrayList<>();
        for (GroupConfig group : state.groups().values()) {
            SystemView.Health health = group.halted() != null ? SystemView.Health.HALTED
                    : group.fullyProtected() ? SystemView.Health.OK : SystemView.Health.DEGRADED;
            ReplicaAssignment primary = group.primary();
            groups.add(new SystemView.Group(group.group().toString(), group.mode().label(), health, primary == null ? "" : primary.node()));
        }
        return new SystemView(nodes, groups);
    }

    /** The JMX name of a node's {@link NodeMXBean}. */
    static ObjectName nodeObjectName(String nodeId) throws JMException {
        return new ObjectName(PartitionMonitors.JMX_DOMAIN + ":type=Node,node=" + PartitionMonitors.value(nodeId));
    }

    /** The registry's Prometheus text. */
    String scrape() {
        return registry.scrape();
    }

    /** The manager, or null when the node runs without an availability file. */
    AvailabilityManager availability() {
        return availability;
    }

    private void tick() {
        try {
            availability.tick();
        } catch (RuntimeException e) {
            LOG.warn("availability tick failed: {}", e.toString(), e);
        }
    }

    /** One round of the partition monitors. */
    private void samplePartitions() {
        try {
            partitions.sample(node.hostedAgents().stream().map(GroupAgent::metrics).toList(), System.currentTimeMillis(),
                    System.nanoTime(), availability);
        } catch (RuntimeException e) {
            LOG.warn("partition monitors failed: {}", e.toString(), e);
        }
    }

    /** One round of the node monitors. */
    private void sample() {
        try {
            String id = node.id();
            long now = System.currentTimeMillis();
            MemoryUsage heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
            if (heap.getMax() > 0) {
                availability.sample(Metric.NODE_HEAP_USED_RATIO, id, now, (double) heap.getUsed() / heap.getMax());
            }
            // The MXBeans give only total collection time: its growth since the last sample bounds
            // the longest pause in that interval from above.
            long gcMillis = 0;
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                gcMillis += Math.max(0, gc.getCollectionTime());
            }
            if (lastGcMillis >= 0) {
                availability.sample(Metric.NODE_GC_PAUSE_MS, id, now, gcMillis - lastGcMillis);
            }
            lastGcMillis = gcMillis;
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
                double cpu = os.getProcessCpuLoad();
                if (cpu >= 0) {
                    availability.sample(Metric.NODE_CPU, id, now, cpu);
                }
            }
            if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
                availability.sample(Metric.NODE_OPEN_FILES, id, now, unix.getOpenFileDescriptorCount());
            }
            Path data = node.config().dataDirectory();
            try {
                availability.sample(Metric.NODE_DISK_FREE_BYTES, data.toString(), now, Files.getFileStore(data).getUsableSpace());
            } catch (IOException e) {
                LOG.warn("cannot read the free space of {}: {}", data, e.toString());
            }
        } catch (RuntimeException e) {
            LOG.warn("node monitors failed: {}", e.toString(), e);
        }
    }

    /** A component change for the availability manager, as read from one event. */
    record ComponentReport(ComponentType type, String id, ComponentChange change, ComponentState previous, String reason) {}

    /** Reports a component change of the event log, on the controller leader only (see the class comment). */
    private void onEvent(Event event) {
        if (!node.leader()) {
            return;
        }
        ComponentReport report = report(event);
        if (report != null) {
            availability.componentChanged(report.type(), report.id(), report.change(), report.previous(), report.reason(),
                    event.time().toEpochMilli());
        }
    }

    /** The component change an event stands for, or null for events that change no component's state. */
    static ComponentReport report(Event event) {
        String reason = event.message();
        return switch (event.type()) {
            case Change.NODE_DOWN -> new ComponentReport(ComponentType.NODE, event.component(),
                    "removed".equals(event.fields().get("reason")) ? ComponentChange.REMOVED : ComponentChange.BROKEN,
                    ComponentState.UP, reason);
            case Change.NODE_UP -> {
                // EventDiff says "joined the system" for a node's first registration, "is up again" otherwise.
                boolean first = reason.startsWith(event.component() + " joined the system");
                yield new ComponentReport(ComponentType.NODE, event.component(),
                        first ? ComponentChange.INSERTED : ComponentChange.FIXED,
                        first ? ComponentState.ABSENT : ComponentState.BROKEN, reason);
            }
            // The replaced primary leaves its group; EventDiff reports that as the takeover only.
            case Change.TAKEOVER -> new ComponentReport(ComponentType.REPLICA, event.component() + "@" + event.fields().get("from"),
                    ComponentChange.REMOVED, ComponentState.UP, reason);
            case Change.REPLICA_REMOVED -> new ComponentReport(ComponentType.REPLICA, replicaId(event),
                    ComponentChange.REMOVED, ComponentState.UP, reason);
            case Change.REPLICA_INSERTED -> new ComponentReport(ComponentType.REPLICA, replicaId(event),
                    ComponentChange.INSERTED, ComponentState.ABSENT, reason);
            // A replica that catches up was not in service before: reported as fixed from broken.
            case Change.REPLICA_SYNCED -> new ComponentReport(ComponentType.REPLICA, replicaId(event),
                    ComponentChange.FIXED, ComponentState.BROKEN, reason);
            default -> null;
        };
    }

    /** {@code service/partition@node}, the MIB's replica id. */
    private static String replicaId(Event event) {
        return event.component() + "@" + event.fields().get("replicaNode");
    }

    @Override
    public void close() {
        monitor.shutdownNow();
        try {
            // The partition monitors are the monitor thread's alone: let a sample in progress end first.
            monitor.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        partitions.close();
        if (nodeMBean != null) {
            try {
                ManagementFactory.getPlatformMBeanServer().unregisterMBean(nodeMBean);
            } catch (JMException e) {
                LOG.debug("node MBean already gone: {}", e.toString());
            }
        }
        if (subscription != null) {
            try {
                subscription.close();
            } catch (Exception e) {
                // Removing a subscriber cannot fail.
            }
        }
        if (availability != null) {
            availability.close();
        }
        if (recorder != null) {
            recorder.close();
        }
        gcMetrics.close();
        registry.close();
    }
}
