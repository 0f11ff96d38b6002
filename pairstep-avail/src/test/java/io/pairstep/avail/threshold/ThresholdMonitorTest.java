package io.pairstep.avail.threshold;

import static io.pairstep.avail.threshold.ThresholdTransition.CLEARED;
import static io.pairstep.avail.threshold.ThresholdTransition.FIRED;
import static io.pairstep.avail.threshold.ThresholdTransition.NONE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ThresholdMonitorTest {

    private static final ThresholdRule CPU = new ThresholdRule(Direction.ABOVE, 0.9, 0.7, 3_000);

    @Test
    void firesOnceWhenHeldForTheDurationAndClearsOnceWhenHeldBack() {
        ThresholdMonitor monitor = new ThresholdMonitor(CPU);

        assertThat(monitor.sample(0, 0.5)).isEqualTo(NONE);
        assertThat(monitor.sample(1_000, 0.95)).isEqualTo(NONE);
        assertThat(monitor.sample(2_000, 0.97)).isEqualTo(NONE);
        assertThat(monitor.sample(3_000, 0.92)).isEqualTo(NONE);
        assertThat(monitor.sample(4_000, 0.90)).as("3 s at or above 0.9").isEqualTo(FIRED);
        assertThat(monitor.firing()).isTrue();
        for (long t = 5_000; t < 20_000; t += 1_000) {
            assertThat(monitor.sample(t, 0.99)).as("still high at %d: no repeat", t).isEqualTo(NONE);
        }
        assertThat(monitor.sample(20_000, 0.6)).isEqualTo(NONE);
        assertThat(monitor.sample(22_000, 0.5)).isEqualTo(NONE);
        assertThat(monitor.sample(23_000, 0.69)).isEqualTo(CLEARED);
        assertThat(monitor.firing()).isFalse();
        assertThat(monitor.sample(24_000, 0.1)).isEqualTo(NONE);
    }

    @Test
    void aSingleSampleBackOnTheOtherSideRestartsTheWait() {
        ThresholdMonitor monitor = new ThresholdMonitor(CPU);

        monitor.sample(0, 0.95);
        monitor.sample(2_000, 0.95);
        assertThat(monitor.sample(2_500, 0.85)).as("between the levels: not beyond fire").isEqualTo(NONE);
        assertThat(monitor.sample(3_000, 0.95)).isEqualTo(NONE);
        assertThat(monitor.sample(5_999, 0.95)).isEqualTo(NONE);
        assertThat(monitor.sample(6_000, 0.95)).isEqualTo(FIRED);
    }

    @Test
    void valuesBetweenTheLevelsNeitherFireNorClear() {
        ThresholdMonitor monitor = new ThresholdMonitor(CPU);
        monitor.sample(0, 1.0);
        assertThat(monitor.sample(3_000, 1.0)).isEqualTo(FIRED);

        for (long t = 4_000; t < 100_000; t += 500) {
            assertThat(monitor.sample(t, 0.8)).isEqualTo(NONE);
        }
        assertThat(monitor.firing()).isTrue();
    }

    @Test
    void belowWatchesAReserveSuchAsFreeDiskSpace() {
        ThresholdMonitor monitor = new ThresholdMonitor(new ThresholdRule(Direction.BELOW, 1e9, 2e9, 10_000));

        assertThat(monitor.sample(0, 5e9)).isEqualTo(NONE);
        assertThat(monitor.sample(1_000, 0.9e9)).isEqualTo(NONE);
        assertThat(monitor.sample(11_000, 0.8e9)).isEqualTo(FIRED);
        assertThat(monitor.sample(12_000, 1.5e9)).as("above fire, not above clear").isEqualTo(NONE);
        assertThat(monitor.sample(13_000, 2.5e9)).isEqualTo(NONE);
        assertThat(monitor.sample(23_000, 2.1e9)).isEqualTo(CLEARED);
    }

    @Test
    void holdZeroActsOnTheFirstSample() {
        ThresholdMonitor monitor = new ThresholdMonitor(new ThresholdRule(Direction.ABOVE, 10, 5, 0));

        assertThat(monitor.sample(0, 10)).isEqualTo(FIRED);
        assertThat(monitor.sample(0, 4)).isEqualTo(CLEARED);
    }

    @Test
    void aMissingMeasurementEndsTheRun() {
        ThresholdMonitor monitor = new ThresholdMonitor(CPU);
        monitor.sample(0, 0.95);
        monitor.sample(2_000, Double.NaN);
        assertThat(monitor.sample(3_000, 0.95)).isEqualTo(NONE);
        assertThat(monitor.sample(6_000, 0.95)).isEqualTo(FIRED);
    }

    @Test
    void refusesTimeGoingBackwards() {
        ThresholdMonitor monitor = new ThresholdMonitor(CPU);
        monitor.sample(1_000, 0.5);

        assertThatThrownBy(() -> monitor.sample(999, 0.5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("older than the previous one");
    }

    @Test
    void refusesAClearLevelOnTheBadSideOfTheFireLevel() {
        assertThatThrownBy(() -> new ThresholdRule(Direction.ABOVE, 0.7, 0.9, 0))
                .hasMessage("must not be above fire (0.7) for direction above");
        assertThatThrownBy(() -> new ThresholdRule(Direction.BELOW, 10, 5, 0))
                .hasMessage("must not be below fire (10.0) for direction below");
    }
}
