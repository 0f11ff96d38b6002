package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.avail.AvailabilityManager;
import io.pairstep.avail.Metric;
import io.pairstep.avail.alert.QueuedAction;
import io.pairstep.avail.alert.RetryPolicy;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.runtime.controller.ControllerUnavailableException;
import io.pairstep.runtime.events.Change;
import io.pairstep.runtime.events.Event;
import io.pairstep.runtime.events.EventLog;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Threshold alerts reach the event log of every node through the controller: the availability
 * manager's event log callback as the node wires it ({@link NodeMonitoring#eventLogSink}), the
 * queued {@link AlertRecorder}, a real controller state machine, and the event log a node derives
 * from its states.
 */
class AlertRecorderTest {

    @TempDir
    Path dir;

    /** A controller in memory: applies each command, then hands the new state to every node's event log. */
    private final class Controller {
        final ControllerState state = new ControllerState();
        final List<EventLog> logs = List.of(new EventLog(100, Clock.systemUTC()), new EventLog(100, Clock.systemUTC()));
        final List<ControlCommand> submitted = new CopyOnWriteArrayList<>();
        /** Submissions to fail as if no leader answered, and answers to lose after applying. */
        final AtomicInteger unavailable = new AtomicInteger();
        final AtomicInteger answersLost = new AtomicInteger();

        Controller() {
            apply(new ControlCommand.Bootstrap("s"));
            apply(new ControlCommand.RegisterNode("n1", "h1", "r1", 1, 11));
            apply(new ControlCommand.RegisterNode("n2", "h2", "r2", 1, 12));
        }

        synchronized CompletableFuture<ControlResult> propose(ControlCommand command) {
            submitted.add(command);
            if (unavailable.getAndDecrement() > 0) {
                return CompletableFuture.failedFuture(new ControllerUnavailableException("no controller leader yet", null));
            }
            ControlResult result = apply(command);
            if (answersLost.getAndDecrement() > 0) {
                return CompletableFuture.failedFuture(new ControllerUnavailableException("answer lost", null));
            }
            return CompletableFuture.completedFuture(result);
        }

        private ControlResult apply(ControlCommand command) {
            ControlResult result = state.apply(command);
            logs.forEach(log -> log.onState(state.copy()));
            return result;
        }

        List<Event> alertEvents(EventLog log) {
            return log.all().stream().filter(e -> e.type().startsWith("threshold-")).toList();
        }
    }

    @Test
    void aFiredAndClearedThresholdIsAnEventOnEveryNodeWithTimeNodeAndComponent() throws Exception {
        Controller controller = new Controller();
        Path file = dir.resolve("availability.yaml");
        Files.writeString(file, "thresholds:\n"
                + "  - {metric: node.cpu, fire: 0.9, clear: 0.7, duration: 1s}\n"
                + "  - {metric: partition.queue.depth, fire: 100, clear: 10, duration: 0s, service: kv}\n");

        try (QueuedAction recorder = new QueuedAction(new AlertRecorder(controller::propose), 100, RetryPolicy.backoff(10, 50), p -> {});
                AvailabilityManager manager = AvailabilityManager.start(
                        AvailabilityManager.Settings.of("n2", file, NodeMonitoring.eventLogSink(recorder), p -> {}))) {
            manager.sample(Metric.NODE_CPU, "n2", 0, 0.95);
            manager.sample(Metric.NODE_CPU, "n2", 1_000, 0.97);
            manager.sample(Metric.PARTITION_QUEUE_DEPTH, "kv/1", 1_000, 250);
            manager.sample(Metric.NODE_CPU, "n2", 2_000, 0.5);
            manager.sample(Metric.NODE_CPU, "n2", 3_000, 0.4);

            for (EventLog log : controller.logs) {
                await().until(() -> controller.alertEvents(log).size() == 3);
                List<Event> events = controller.alertEvents(log);
                assertThat(events).extracting(Event::type, Event::node, Event::component).containsExactly(
                        org.assertj.core.groups.Tuple.tuple(Change.THRESHOLD_FIRED, "n2", "n2"),
                        org.assertj.core.groups.Tuple.tuple(Change.THRESHOLD_FIRED, "n2", "kv/1"),
                        org.assertj.core.groups.Tuple.tuple(Change.THRESHOLD_CLEARED, "n2", "n2"));
                assertThat(events.get(0).fields()).containsEntry("metric", "node.cpu").containsEntry("subject", "n2")
                        .containsEntry("value", 0.97).containsEntry("level", 0.9).containsEntry("timeMillis", 1_000L);
                assertThat(events.get(0).message()).isEqualTo("[n2] node.cpu fired on n2: 0.97 >= 0.9 for 1000 ms");
                assertThat(events.get(0).time()).isNotNull();
            }
        }
    }

    @Test
    void anAlertRaisedWhileTheControllerCannotAnswerIsRecordedOnceItCanAndARetryAfterALostAnswerIsNotRecordedTwice()
            throws Exception {
        Controller controller = new Controller();
        controller.unavailable.set(3);
        controller.answersLost.set(1);
        Path file = dir.resolve("availability.yaml");
        Files.writeString(file, "thresholds: [{metric: node.open.files, fire: 1000, duration: 0s}]\n");

        try (QueuedAction recorder = new QueuedAction(new AlertRecorder(controller::propose), 100, RetryPolicy.backoff(10, 50), p -> {});
                AvailabilityManager manager = AvailabilityManager.start(
                        AvailabilityManager.Settings.of("n1", file, NodeMonitoring.eventLogSink(recorder), p -> {}))) {
            manager.sample(Metric.NODE_OPEN_FILES, "n1", 0, 4_000);

            await().until(() -> controller.submitted.size() >= 5 && recorder.queued() == 0);
            assertThat(controller.alertEvents(controller.logs.get(0))).singleElement()
                    .satisfies(e -> assertThat(e.type()).isEqualTo(Change.THRESHOLD_FIRED));
            assertThat(controller.state.alertsRecorded()).isEqualTo(1);
        }
    }

    @Test
    void componentAlertsAreNotSentToTheControllerWhoseEventsTheyComeFrom() throws Exception {
        Controller controller = new Controller();
        Path file = dir.resolve("availability.yaml");
        Files.writeString(file, "thresholds: []\n");
        try (QueuedAction recorder = new QueuedAction(new AlertRecorder(controller::propose), 100, RetryPolicy.NONE, p -> {});
                AvailabilityManager manager = AvailabilityManager.start(
                        AvailabilityManager.Settings.of("n1", file, NodeMonitoring.eventLogSink(recorder), p -> {}))) {
            int before = controller.submitted.size();
            manager.componentChanged(io.pairstep.avail.alert.ComponentType.NODE, "n2", io.pairstep.avail.alert.ComponentChange.BROKEN,
                    io.pairstep.avail.alert.ComponentState.UP, "lease expired", 5);
            Thread.sleep(100);
            assertThat(controller.submitted).hasSize(before);
        }
    }
}
