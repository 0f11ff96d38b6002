package io.pairstep.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Runs the process-pair protocol through many seeded simulations with crashes, restarts, pauses,
 * partitions, message loss, duplication and reordering.
 *
 * <p>{@code -Dpairstep.sim.seed=N} replays one seed; {@code -Dpairstep.sim.seeds=COUNT} and {@code
 * -Dpairstep.sim.base=FIRST} choose the range (default 1,000 seeds from 1).
 */
class PairSimulationTest {

    @Test
    void manySeedsKeepEveryAcknowledgedCommandExactlyOnce() {
        String single = System.getProperty("pairstep.sim.seed");
        long base = Long.getLong("pairstep.sim.base", 1);
        long count = single != null ? 1 : Long.getLong("pairstep.sim.seeds", 1000);
        long first = single != null ? Long.parseLong(single) : base;
        System.out.printf("simulating %d seed(s) from %d%n", count, first);
        long acknowledged = 0;
        long takeovers = 0;
        long faults = 0;
        long quarantined = 0;
        long upgrades = 0;
        long handovers = 0;
        long lateRollbacks = 0;
        long earlyRedirects = 0;
        long shadowReports = 0;
        long shadowStops = 0;
        long falseAlarms = 0;
        long outlasted = 0;
        List<String> failures = new ArrayList<>();
        for (long seed = first; seed < first + count; seed++) {
            try {
                Simulation.Result result = Simulation.run(seed);
                acknowledged += result.acknowledged();
                takeovers += result.takeovers();
                faults += result.faults();
                quarantined += result.quarantined();
                upgrades += result.upgrades();
                handovers += result.handovers();
                lateRollbacks += result.rollbacksAfterHandover();
                earlyRedirects += result.earlyRedirects();
                shadowReports += result.shadowReports();
                shadowStops += result.shadowStops();
                falseAlarms += result.falseAlarms();
                outlasted += result.suspicionsOutlasted();
            } catch (Simulation.Failure failure) {
                failures.add(failure.getMessage());
                System.out.println(failure.getMessage());
                if (failures.size() >= 3) {
                    break;
                }
            }
        }
        System.out.printf("simulated seeds %d..%d: %d commands acknowledged, %d faults, %d takeovers, %d poison commands quarantined,"
                + " %d online upgrades done, %d hand-overs (%d primaries redirected their held commands before the swap reached them),"
                + " %d rollbacks after a hand-over, %d shadow reports, %d upgrades stopped by their shadow run,"
                + " %d false alarms, %d suspicions outlasted by late heartbeats%n", first, first + count - 1,
                acknowledged, faults, takeovers, quarantined, upgrades, handovers, earlyRedirects, lateRollbacks, shadowReports, shadowStops,
                falseAlarms, outlasted);
        assertThat(failures).as("failing seeds (each message names its seed and how to replay it)").isEmpty();
        assertThat(acknowledged).as("the clients got commands through").isPositive();
        if (count >= 20) {
            assertThat(takeovers).as("the faults forced takeovers, so the test exercised them").isPositive();
            assertThat(quarantined).as("poison commands were sent and quarantined").isPositive();
            assertThat(upgrades).as("upgrades ran among the faults and ended").isPositive();
            assertThat(handovers).as("primaries handed over to new-version backups").isPositive();
            assertThat(earlyRedirects).as("primaries heard the controller take their hand-over before the swap").isPositive();
            assertThat(lateRollbacks).as("upgrades rolled back after a primary had moved").isPositive();
            assertThat(shadowReports).as("backups ran new versions in shadow mode and reported").isPositive();
            assertThat(shadowStops).as("shadow runs of skewed versions stopped their upgrades").isPositive();
        }
    }

    @Test
    void sameSeedReplaysExactly() {
        Simulation.Result first = Simulation.run(42);
        Simulation.Result second = Simulation.run(42);
        assertThat(second).isEqualTo(first);
    }
}
