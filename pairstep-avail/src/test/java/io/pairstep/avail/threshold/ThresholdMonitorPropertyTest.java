package io.pairstep.avail.threshold;

import static io.pairstep.avail.threshold.ThresholdTransition.CLEARED;
import static io.pairstep.avail.threshold.ThresholdTransition.FIRED;
import static io.pairstep.avail.threshold.ThresholdTransition.NONE;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.statistics.Statistics;

/**
 * Properties of the threshold engine over random rules and signals. jqwik prints the seed of every
 * property after it runs; replay one with {@code @Property(seed = "<seed>")}.
 */
class ThresholdMonitorPropertyTest {

    /** One sample: how long after the previous one it came, and its value. */
    record Sample(long delayMillis, double value) {}

    @Property(tries = 500)
    void alertsAlternateFiredThenCleared(@ForAll("rules") ThresholdRule rule, @ForAll("signals") List<Sample> signal) {
        List<ThresholdTransition> events = run(rule, signal).stream().filter(t -> t != NONE).toList();

        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i)).as("event %d of %s", i, events).isEqualTo(i % 2 == 0 ? FIRED : CLEARED);
        }
    }

    /**
     * The monitor agrees, sample by sample, with a direct reading of the rule: it fires at the
     * first sample that ends an unbroken run of samples at or beyond the fire level lasting the hold
     * time, counted from after the previous alert, and clears likewise.
     */
    @Property(tries = 500)
    void actsExactlyWhenTheConditionHasHeldForTheHoldTime(@ForAll("rules") ThresholdRule rule,
            @ForAll("signals") List<Sample> signal) {
        List<ThresholdTransition> actual = run(rule, signal);
        long[] times = times(signal);

        boolean firing = false;
        int lastEvent = -1;
        for (int k = 0; k < signal.size(); k++) {
            int runStart = k + 1;
            while (runStart - 1 > lastEvent && condition(rule, firing, signal.get(runStart - 1).value())) {
                runStart--;
            }
            boolean due = runStart <= k && times[k] - times[runStart] >= rule.holdMillis();
            ThresholdTransition expected = due ? (firing ? CLEARED : FIRED) : NONE;
            assertThat(actual.get(k)).as("sample %d of %s", k, signal).isEqualTo(expected);
            if (due) {
                firing = !firing;
                lastEvent = k;
            }
        }
        long alerts = actual.stream().filter(t -> t != NONE).count();
        Statistics.collect(alerts == 0 ? "no alert" : alerts == 1 ? "fired" : "fired and cleared");
        // The comparison means little unless the signals make the monitor act, often both ways.
        Statistics.coverage(coverage -> {
            coverage.check("fired").percentage(share -> share >= 5);
            coverage.check("fired and cleared").percentage(share -> share >= 5);
        });
    }

    /**
     * Noise around the fire level that never reaches back past the clear level: at most one
     * FIRED, never a CLEARED, however long it goes on.
     */
    @Property(tries = 300)
    void noiseAroundTheFireLevelNeverFlaps(@ForAll("rules") ThresholdRule rule,
            @ForAll @DoubleRange(min = 0.0, max = 0.99) double amplitudeShare,
            @ForAll("noise") List<Double> noise, @ForAll @LongRange(min = 1, max = 500) long stepMillis) {
        double band = Math.abs(rule.fireLevel() - rule.clearLevel());
        List<Sample> signal = new ArrayList<>();
        for (double n : noise) {
            signal.add(new Sample(stepMillis, rule.fireLevel() + n * amplitudeShare * band));
        }

        List<ThresholdTransition> events = run(rule, signal).stream().filter(t -> t != NONE).toList();

        assertThat(events).doesNotContain(CLEARED);
        assertThat(events).hasSizeLessThanOrEqualTo(1);
    }

    /** A value held beyond the fire level for the hold time fires once, and held back clears once. */
    @Property(tries = 300)
    void aHeldCrossingFiresOnceAndClearsOnce(@ForAll("rules") ThresholdRule rule,
            @ForAll @IntRange(min = 1, max = 50) int samplesPerPhase) {
        double bad = rule.direction() == Direction.ABOVE ? rule.fireLevel() + 1 : rule.fireLevel() - 1;
        double good = rule.direction() == Direction.ABOVE ? rule.clearLevel() - 1 : rule.clearLevel() + 1;
        long step = rule.holdMillis() / samplesPerPhase + 1;
        List<Sample> signal = new ArrayList<>();
        for (int i = 0; i <= samplesPerPhase; i++) {
            signal.add(new Sample(step, bad));
        }
        for (int i = 0; i <= samplesPerPhase; i++) {
            signal.add(new Sample(step, good));
        }

        List<ThresholdTransition> events = run(rule, signal).stream().filter(t -> t != NONE).toList();

        assertThat(events).containsExactly(FIRED, CLEARED);
    }

    @Provide
    Arbitrary<ThresholdRule> rules() {
        return Combinators.combine(
                        Arbitraries.of(Direction.class),
                        Arbitraries.doubles().between(-1_000, 1_000),
                        Arbitraries.doubles().between(0.01, 100),
                        Arbitraries.longs().between(0, 2_000))
                .as((direction, fire, band, hold) ->
                        new ThresholdRule(direction, fire, direction == Direction.ABOVE ? fire - band : fire + band, hold));
    }

    /** Signals that wander across both levels of any rule from {@link #rules()}, at irregular times. */
    @Provide
    Arbitrary<List<Sample>> signals() {
        Arbitrary<Double> values = Arbitraries.oneOf(
                Arbitraries.doubles().between(-1_200, 1_200),
                Arbitraries.of(-1_000.0, 0.0, 1_000.0));
        return Combinators.combine(Arbitraries.longs().between(0, 1_000), values)
                .as(Sample::new)
                .list().ofMinSize(0).ofMaxSize(200);
    }

    /** Noise in [-1, 1], scaled by the property. */
    @Provide
    Arbitrary<List<Double>> noise() {
        return Arbitraries.doubles().between(-1, 1).list().ofMinSize(1).ofMaxSize(300);
    }

    private static List<ThresholdTransition> run(ThresholdRule rule, List<Sample> signal) {
        ThresholdMonitor monitor = new ThresholdMonitor(rule);
        List<ThresholdTransition> transitions = new ArrayList<>();
        long[] times = times(signal);
        for (int i = 0; i < signal.size(); i++) {
            transitions.add(monitor.sample(times[i], signal.get(i).value()));
        }
        return transitions;
    }

    private static long[] times(List<Sample> signal) {
        long[] times = new long[signal.size()];
        long time = 0;
        for (int i = 0; i < signal.size(); i++) {
            time += signal.get(i).delayMillis();
            times[i] = time;
        }
        return times;
    }

    /** The rule read directly: the value is on the far side of the level that matters now. */
    private static boolean condition(ThresholdRule rule, boolean firing, double value) {
        if (rule.direction() == Direction.ABOVE) {
            return firing ? value < rule.clearLevel() : value >= rule.fireLevel();
        }
        return firing ? value > rule.clearLevel() : value <= rule.fireLevel();
    }
}
