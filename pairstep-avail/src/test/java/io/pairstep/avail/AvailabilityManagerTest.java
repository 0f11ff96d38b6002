package io.pairstep.avail;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.avail.alert.Alert;
import io.pairstep.avail.alert.Alerts;
import io.pairstep.avail.alert.ComponentAlert;
import io.pairstep.avail.alert.ComponentChange;
import io.pairstep.avail.alert.ComponentState;
import io.pairstep.avail.alert.ComponentType;
import io.pairstep.avail.alert.RetryPolicy;
import io.pairstep.avail.alert.ThresholdAlert;
import io.pairstep.avail.threshold.ThresholdTransition;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The manager as the runtime will drive it: a configuration file, samples, component changes, reloads. */
class AvailabilityManagerTest {

    @TempDir
    Path dir;

    private final List<Alert> events = new CopyOnWriteArrayList<>();
    private final Alerts.Problems problems = new Alerts.Problems();
    private long modifiedMillis = 1_000_000;

    @Test
    void raisesAlertsToEveryActionAndKeepsRunningThroughABadConfiguration() throws Exception {
        Path alerts = Files.createDirectory(dir.resolve("alerts"));
        Path script = dir.resolve("record.sh");
        Files.writeString(script, "#!/bin/sh\nenv | grep '^PAIRSTEP_ALERT_' > \"$1/$PAIRSTEP_ALERT_ID.tmp\"\n"
                + "mv \"$1/$PAIRSTEP_ALERT_ID.tmp\" \"$1/$PAIRSTEP_ALERT_ID.env\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwx------"));
        // A server that takes the TCP connection (so the file is accepted) but never speaks SMTP.
        java.net.ServerSocket silentSmtp = new java.net.ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        int smtpPort = silentSmtp.getLocalPort();
        String program = "{type: program, path: \"" + script + "\", args: [\"" + alerts + "\"], timeout: 10s}";
        String email = "{type: email, host: 127.0.0.1, port: " + smtpPort + ", from: a@example.com, to: b@example.com, timeout: 1s}";
        Path file = dir.resolve("availability.yaml");
        write(file, "thresholds: [{metric: node.cpu, fire: 0.9, clear: 0.7, duration: 1s}]\nactions: [" + program + ", " + email + "]\n");

        try (silentSmtp; AvailabilityManager manager = AvailabilityManager.start(new AvailabilityManager.Settings("n1", file, events::add,
                problems, RetryPolicy.backoff(20, 200), 100))) {
            assertThat(manager.describeActions()).containsExactly("program " + script, "email via smtp 127.0.0.1:" + smtpPort);
            await().until(() -> problems.messages().stream().anyMatch(m ->
                    m.startsWith("email via smtp 127.0.0.1:" + smtpPort + ": not reachable at start: ")));

            manager.sample(Metric.NODE_CPU, "n1", 0, 0.95);
            manager.sample(Metric.NODE_HEAP_USED_RATIO, "n1", 0, 0.99);
            manager.sample(Metric.NODE_CPU, "n1", 1_000, 0.96);
            assertThat(events).singleElement().isInstanceOfSatisfying(ThresholdAlert.class, alert -> {
                assertThat(alert.transition()).isEqualTo(ThresholdTransition.FIRED);
                assertThat(alert.metric()).isEqualTo(Metric.NODE_CPU);
                assertThat(alert.value()).isEqualTo(0.96);
                assertThat(alert.id()).startsWith("n1-");
            });
            Path fired = alerts.resolve(events.get(0).id() + ".env");
            await().until(() -> Files.exists(fired));
            assertThat(Files.readAllLines(fired)).contains("PAIRSTEP_ALERT_KIND=threshold.fired", "PAIRSTEP_ALERT_METRIC=node.cpu");

            // A wrong entry: reported, and the last good configuration stays in force with its state.
            write(file, "thresholds: [{metric: node.cpux, fire: 0.9, clear: 0.7, duration: 1s}]\nactions: [" + program + "]\n");
            manager.tick();
            assertThat(problems.messages()).anyMatch(m -> m.startsWith(file + ": thresholds[0].metric: unknown metric \"node.cpux\"")
                    && m.endsWith("(keeping the last good configuration)"));
            assertThat(manager.describeActions()).hasSize(2);
            manager.sample(Metric.NODE_CPU, "n1", 2_000, 0.5);
            manager.sample(Metric.NODE_CPU, "n1", 3_000, 0.5);
            assertThat(events).hasSize(2);
            assertThat(((ThresholdAlert) events.get(1)).transition()).isEqualTo(ThresholdTransition.CLEARED);

            manager.componentChanged(ComponentType.REPLICA, "kv/3@n2", ComponentChange.REMOVED, ComponentState.BROKEN,
                    "diverged from its partner", 4_000);
            assertThat(events.get(2)).isInstanceOfSatisfying(ComponentAlert.class, alert -> {
                assertThat(alert.componentId()).isEqualTo("kv/3@n2");
                assertThat(alert.previousState()).isEqualTo(ComponentState.BROKEN);
            });
            Path removed = alerts.resolve(events.get(2).id() + ".env");
            await().until(() -> Files.exists(removed));
            assertThat(Files.readAllLines(removed)).contains("PAIRSTEP_ALERT_KIND=component.removed",
                    "PAIRSTEP_ALERT_REASON=diverged from its partner");

            // A good file again: the e-mail action goes, the changed threshold starts afresh.
            write(file, "thresholds: [{metric: node.cpu, fire: 0.8, duration: 0s}]\nactions: [" + program + "]\n");
            manager.tick();
            assertThat(manager.describeActions()).containsExactly("program " + script);
            manager.sample(Metric.NODE_CPU, "n1", 5_000, 0.85);
            assertThat(events).hasSize(4);
            assertThat(events).extracting(Alert::id).doesNotHaveDuplicates();
        }
    }

    @Test
    void callHomePostsEachIncidentUpdateThereOnlyAndFollowsTheFile() throws Exception {
        List<String> received = new CopyOnWriteArrayList<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        receiver.createContext("/", exchange -> {
            received.add(exchange.getRequestURI().getPath() + " " + new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        String home = "http://127.0.0.1:" + receiver.getAddress().getPort();
        Path file = dir.resolve("availability.yaml");
        write(file, "actions: [{type: webhook, url: \"" + home + "/alerts\"}]\ncallHome: \"" + home + "/home\"\n");
        Map<String, Object> incident = new LinkedHashMap<>();
        incident.put("id", 7);
        incident.put("kind", "node-down");
        incident.put("dumpFile", null);
        try (AvailabilityManager manager = AvailabilityManager.start(new AvailabilityManager.Settings("n1", file, events::add,
                problems, RetryPolicy.backoff(20, 200), 100))) {
            manager.callHome("opened", 7, "incident 7 opened", incident, 1_000);
            await().until(() -> received.size() == 1);
            assertThat(received.get(0)).startsWith("/home {\"id\":\"n1-").contains("\"kind\":\"incident.opened\"",
                    "\"incidentId\":7", "\"incident\":{\"id\":7,\"kind\":\"node-down\",\"dumpFile\":null}");
            assertThat(events).as("an incident is not an alert of the event log or the actions").isEmpty();

            // Reloaded without callHome: nothing more is called home; the webhook stays.
            write(file, "actions: [{type: webhook, url: \"" + home + "/alerts\"}]\n");
            manager.tick();
            manager.callHome("resolved", 7, "incident 7 resolved", incident, 2_000);
            manager.componentChanged(ComponentType.NODE, "n3", ComponentChange.FIXED, ComponentState.BROKEN, "up", 2_000);
            await().until(() -> received.size() == 2);
            assertThat(received.get(1)).startsWith("/alerts ");
            assertThat(manager.describeActions()).containsExactly("webhook " + home + "/alerts");
        } finally {
            receiver.stop(0);
        }
    }

    @Test
    void aFileNamingAnSmtpServerThatCannotBeReachedIsRefusedAndTheLastGoodActionsStay() throws Exception {
        String webhookUrl = "http://127.0.0.1:" + Alerts.closedPort() + "/alerts";
        String webhook = "{type: webhook, url: \"" + webhookUrl + "\"}";
        Path file = dir.resolve("availability.yaml");
        write(file, "thresholds: [{metric: node.cpu, fire: 0.9, duration: 0s}]\nactions: [" + webhook + "]\n");
        try (AvailabilityManager manager = AvailabilityManager.start(new AvailabilityManager.Settings("n1", file, events::add,
                problems, RetryPolicy.backoff(20, 200), 100))) {
            int smtpPort = Alerts.closedPort();
            write(file, "thresholds: [{metric: node.cpu, fire: 0.5, duration: 0s}]\nactions: [" + webhook
                    + ", {type: email, host: 127.0.0.1, port: " + smtpPort + ", from: a@example.com, to: b@example.com}]\n");
            manager.tick();

            assertThat(problems.messages()).anyMatch(m -> m.startsWith(file + ": actions[1]: email via smtp 127.0.0.1:" + smtpPort
                    + ": not reachable: ") && m.endsWith("(keeping the last good configuration)"));
            assertThat(manager.describeActions()).containsExactly("webhook " + webhookUrl);
            manager.sample(Metric.NODE_CPU, "n1", 0, 0.6);
            assertThat(events).as("the old fire level 0.9 is still in force").isEmpty();
            manager.sample(Metric.NODE_CPU, "n1", 1_000, 0.95);
            assertThat(events).hasSize(1);
        }
    }

    @Test
    void startsWithoutAFileAndReportsNothing() {
        try (AvailabilityManager manager = AvailabilityManager.start(AvailabilityManager.Settings.of("n1",
                dir.resolve("absent.yaml"), events::add, problems))) {
            manager.sample(Metric.NODE_CPU, "n1", 0, 1.0);
            manager.componentChanged(ComponentType.NODE, "n3", ComponentChange.INSERTED, ComponentState.ABSENT, "joined", 0);

            assertThat(manager.config().thresholds()).isEmpty();
            assertThat(events).singleElement().extracting(Alert::kind).isEqualTo("component.inserted");
            assertThat(problems.messages()).isEmpty();
        }
    }

    private void write(Path file, String text) throws Exception {
        Files.writeString(file, text);
        modifiedMillis += 1_000;
        Files.setLastModifiedTime(file, FileTime.fromMillis(modifiedMillis));
    }
}
