package io.pairstep.avail;

import io.pairstep.avail.alert.Alert;
import io.pairstep.avail.alert.AlertAction;
import io.pairstep.avail.alert.ComponentAlert;
import io.pairstep.avail.alert.ComponentChange;
import io.pairstep.avail.alert.ComponentState;
import io.pairstep.avail.alert.ComponentType;
import io.pairstep.avail.alert.EmailDelivery;
import io.pairstep.avail.alert.EventLogAction;
import io.pairstep.avail.alert.IncidentAlert;
import io.pairstep.avail.alert.ProgramDelivery;
import io.pairstep.avail.alert.QueuedAction;
import io.pairstep.avail.alert.RetryPolicy;
import io.pairstep.avail.alert.ThresholdAlert;
import io.pairstep.avail.alert.WebhookDelivery;
import io.pairstep.avail.config.ActionConfig;
import io.pairstep.avail.config.AvailabilityConfig;
import io.pairstep.avail.config.ConfigReloader;
import io.pairstep.avail.config.ThresholdConfig;
import io.pairstep.avail.config.SnmpAgentConfig;
import io.pairstep.avail.snmp.SnmpAgent;
import io.pairstep.avail.snmp.SnmpTrapDelivery;
import io.pairstep.avail.snmp.SystemView;
import io.pairstep.avail.threshold.ThresholdMonitor;
import io.pairstep.avail.threshold.ThresholdTransition;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The availability manager of one node: what the node runtime embeds. See the package
 * documentation for how the runtime drives it.
 *
 * <p>All methods are quick and never wait for I/O: alerts go to the event log callback at once and
 * to every configured action through its own queue and thread. Methods are synchronized, so the
 * monitor loop and the controller's event thread may both call in.
 */
public final class AvailabilityManager implements AutoCloseable {

    /**
     * What the runtime provides.
     *
     * @param nodeId this node's id; it goes into every alert
     * @param configFile the availability configuration (YAML); it may not exist yet
     * @param eventLog receives every alert on the caller's thread; must be quick
     * @param problems receives every problem of the availability manager itself (a refused
     *     configuration, an unreachable receiver, a dropped alert), on any thread; must be quick
     * @param retry the back-off of webhooks and e-mail
     * @param queueCapacity how many alerts each action may hold while its receiver is away
     * @param systemView the current state of the system, for the SNMP agent; called on the agent's
     *     thread for each request, so it must be quick and thread-safe
     */
    public record Settings(String nodeId, Path configFile, Consumer<Alert> eventLog, Consumer<String> problems,
            RetryPolicy retry, int queueCapacity, Supplier<SystemView> systemView) {

        /** Settings whose SNMP agent, if one is configured, knows no state. */
        public Settings(String nodeId, Path configFile, Consumer<Alert> eventLog, Consumer<String> problems, RetryPolicy retry,
                int queueCapacity) {
            this(nodeId, configFile, eventLog, problems, retry, queueCapacity, () -> SystemView.EMPTY);
        }

        /** Settings with the default back-off and 1,000 queued alerts per action. */
        public static Settings of(String nodeId, Path configFile, Consumer<Alert> eventLog, Consumer<String> problems) {
            return new Settings(nodeId, configFile, eventLog, problems, RetryPolicy.DEFAULT_BACKOFF, 1_000);
        }

        /** The same settings with the system state the SNMP agent answers from. */
        public Settings withSystemView(Supplier<SystemView> view) {
            return new Settings(nodeId, configFile, eventLog, problems, retry, queueCapacity, view);
        }
    }

    private record MonitorKey(ThresholdConfig threshold, String subject) {}

    private final Settings settings;
    private final ConfigReloader reloader;
    private final EventLogAction eventLog;
    private final String idPrefix;
    private final Map<MonitorKey, ThresholdMonitor> monitors = new HashMap<>();
    private final Map<ActionConfig, AlertAction> actions = new LinkedHashMap<>();
    /** Where incidents are called home, or null; kept across reloads that leave its entry as it was. */
    private ActionConfig.Webhook callHomeConfig;
    private AlertAction callHome;
    /** The SNMP agent of the configuration in force, or null; restarted only when its entry changes. */
    private SnmpAgentConfig agentConfig;
    private SnmpAgent agent;
    private long alertCount;
    private boolean closed;

    private AvailabilityManager(Settings settings) {
        this.settings = settings;
        this.reloader = new ConfigReloader(settings.configFile(), settings.problems());
        this.eventLog = new EventLogAction(settings.eventLog());
        // Alert ids must stay unique across restarts of the node, so they carry the start time.
        this.idPrefix = settings.nodeId() + "-" + System.currentTimeMillis() + "-";
    }

    /**
     * Reads the configuration file and starts its actions. A missing or refused file is reported to
     * {@code problems} and the manager runs with no thresholds and only the event log until a good
     * file appears.
     */
    public static AvailabilityManager start(Settings settings) {
        AvailabilityManager manager = new AvailabilityManager(settings);
        manager.tick();
        return manager;
    }

    /**
     * Looks for a changed configuration file and applies it; call it every few seconds. Thresholds
     * and actions whose entry did not change keep their state (a firing alert stays fired, queued
     * alerts stay queued); changed ones start afresh.
     */
    public synchronized void tick() {
        if (closed || !reloader.tick()) {
            return;
        }
        AvailabilityConfig config = reloader.current();
        monitors.keySet().removeIf(key -> !config.thresholds().contains(key.threshold()));
        Map<ActionConfig, AlertAction> kept = new LinkedHashMap<>();
        for (ActionConfig actionConfig : config.actions()) {
            AlertAction action = actions.remove(actionConfig);
            if (action == null) {
                action = createAction(actionConfig);
            }
            if (action != null) {
                kept.put(actionConfig, action);
            }
        }
        actions.values().forEach(AlertAction::close);
        actions.clear();
        actions.putAll(kept);
        if (!java.util.Objects.equals(callHomeConfig, config.callHome())) {
            if (callHome != null) {
                callHome.close();
            }
            callHomeConfig = config.callHome();
            callHome = callHomeConfig == null ? null : createAction(callHomeConfig);
        }
        if (!java.util.Objects.equals(agentConfig, config.snmpAgent())) {
            if (agent != null) {
                agent.close();
                agent = null;
            }
            agentConfig = config.snmpAgent();
            if (agentConfig != null) {
                try {
                    agent = SnmpAgent.start(agentConfig, settings.systemView(), settings.problems());
                } catch (IOException | RuntimeException e) {
                    settings.problems().accept(agentConfig.describe() + ": cannot start: " + e.getMessage());
                }
            }
        }
    }

    /** The configuration in force. */
    public synchronized AvailabilityConfig config() {
        return reloader.current();
    }

    /**
     * One measurement, from the node's monitor loop. Every threshold on this metric (and subject)
     * sees it; one that fires or clears raises an alert.
     *
     * @param subject what was measured: the node id, a data directory, or {@code service/partition}
     * @param timeMillis when, never earlier than the previous sample of the same metric and subject
     */
    public synchronized void sample(Metric metric, String subject, long timeMillis, double value) {
        if (closed) {
            return;
        }
        for (ThresholdConfig threshold : reloader.current().thresholds()) {
            if (!threshold.watches(metric, subject)) {
                continue;
            }
            ThresholdMonitor monitor = monitors.computeIfAbsent(new MonitorKey(threshold, subject),
                    key -> new ThresholdMonitor(threshold.rule()));
            ThresholdTransition transition = monitor.sample(timeMillis, value);
            if (transition != ThresholdTransition.NONE) {
                raise(new ThresholdAlert(nextId(), timeMillis, settings.nodeId(), metric, subject, transition, value,
                        threshold.rule()));
            }
        }
    }

    /**
     * A node or replica changed state, as the controller decided it. Raises the alert (and trap) at
     * once; the runtime calls this once per change, on the node that reports for the system.
     */
    public synchronized void componentChanged(ComponentType type, String componentId, ComponentChange change,
            ComponentState previousState, String reason, long timeMillis) {
        if (!closed) {
            raise(new ComponentAlert(nextId(), timeMillis, settings.nodeId(), type, componentId, change, previousState,
                    reason));
        }
    }

    /**
     * An incident opened or changed: POSTs it to the call-home URL of the configuration, if there is
     * one, without waiting (retried with back-off until the receiver takes it). The runtime calls
     * this once per change, on the node that reports for the system.
     *
     * @param change {@code opened}, {@code acknowledged}, {@code updated} or {@code resolved}
     * @param incident the incident as the admin API shows it
     */
    public synchronized void callHome(String change, long incidentId, String summary, Map<String, Object> incident, long timeMillis) {
        if (!closed && callHome != null) {
            callHome.offer(new IncidentAlert(nextId(), timeMillis, settings.nodeId(), change, incidentId, summary, incident));
        }
    }

    /** Stops every action; alerts still queued are reported as undelivered. */
    @Override
    public synchronized void close() {
        closed = true;
        actions.values().forEach(AlertAction::close);
        actions.clear();
        if (callHome != null) {
            callHome.close();
        }
        if (agent != null) {
            agent.close();
        }
    }

    private void raise(Alert alert) {
        eventLog.offer(alert);
        for (AlertAction action : actions.values()) {
            action.offer(alert);
        }
    }

    private String nextId() {
        return idPrefix + ++alertCount;
    }

    private AlertAction createAction(ActionConfig config) {
        Consumer<String> problems = settings.problems();
        int capacity = settings.queueCapacity();
        try {
            return switch (config) {
                case ActionConfig.Email email -> new QueuedAction(new EmailDelivery(email), capacity, settings.retry(), problems);
                case ActionConfig.Webhook webhook -> new QueuedAction(new WebhookDelivery(webhook), capacity, settings.retry(), problems);
                // Neither is retried: a program may act twice, and a trap is one UDP datagram.
                case ActionConfig.Program program -> new QueuedAction(new ProgramDelivery(program), capacity, RetryPolicy.NONE, problems);
                case ActionConfig.Snmp snmp ->
                        new QueuedAction(new SnmpTrapDelivery(snmp, settings.nodeId()), capacity, RetryPolicy.NONE, problems);
            };
        } catch (IOException | RuntimeException e) {
            problems.accept(config.describe() + ": cannot start: " + e.getMessage());
            return null;
        }
    }

    /** The actions in force, for tests. */
    synchronized List<String> describeActions() {
        List<String> described = new ArrayList<>();
        actions.values().forEach(action -> described.add(action.describe()));
        return described;
    }
}
