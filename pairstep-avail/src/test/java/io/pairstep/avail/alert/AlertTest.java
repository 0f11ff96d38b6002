package io.pairstep.avail.alert;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AlertTest {

    @Test
    void aComponentAlertSaysWhatChangedFromWhatAndWhy() {
        ComponentAlert alert = Alerts.nodeBroken("n1-7");

        assertThat(alert.kind()).isEqualTo("component.broken");
        assertThat(alert.summary()).isEqualTo("[n1] node n2 broken (was up): connection closed; lease expired");
        assertThat(alert.fields()).containsExactly(
                java.util.Map.entry("id", "n1-7"),
                java.util.Map.entry("kind", "component.broken"),
                java.util.Map.entry("timeMillis", 1_763_700_000_000L),
                java.util.Map.entry("node", "n1"),
                java.util.Map.entry("summary", alert.summary()),
                java.util.Map.entry("componentType", "node"),
                java.util.Map.entry("componentId", "n2"),
                java.util.Map.entry("previousState", "up"),
                java.util.Map.entry("state", "broken"),
                java.util.Map.entry("reason", "connection closed; lease expired"));
    }

    @Test
    void aThresholdAlertNamesTheMetricTheValueAndTheLevel() {
        ThresholdAlert alert = Alerts.diskLow("n1-8");

        assertThat(alert.kind()).isEqualTo("threshold.fired");
        assertThat(alert.summary())
                .isEqualTo("[n1] node.disk.free.bytes fired on /var/lib/pairstep: 500000000 <= 1000000000 for 30000 ms");
        assertThat(alert.fields()).containsEntry("metric", "node.disk.free.bytes").containsEntry("value", 5.0e8)
                .containsEntry("direction", "below").containsEntry("fireLevel", 1.0e9).containsEntry("clearLevel", 2.0e9);
    }

    @Test
    void theProgramEnvironmentCarriesEveryFieldInUpperSnakeCase() {
        assertThat(ProgramDelivery.environment(Alerts.nodeBroken("n1-7")))
                .containsEntry("PAIRSTEP_ALERT_ID", "n1-7")
                .containsEntry("PAIRSTEP_ALERT_TIME_MILLIS", "1763700000000")
                .containsEntry("PAIRSTEP_ALERT_COMPONENT_ID", "n2")
                .containsEntry("PAIRSTEP_ALERT_PREVIOUS_STATE", "up")
                .hasSize(10);
    }
}
