package io.pairstep.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.Mode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Runs the lockstep protocol through many seeded simulations, in DMR and in TMR, with the pair
 * simulation's crashes, pauses, partitions and message faults plus corrupted member state, changed
 * outputs and failed self-checks, poison commands among the clients' commands, and two online upgrades
 * of the service asked for at random times (members of two versions in a group meanwhile), one in
 * three to a skewed version that answers differently on some commands and must always roll back,
 * one in three to a fragile version whose member crashes once an orderer runs it, which must roll
 * back through the old version's last members, and half of them with a bake.
 *
 * <p>{@code -Dpairstep.sim.seed=N} replays one seed of the mode the test method names; {@code
 * -Dpairstep.sim.seeds=COUNT} and {@code -Dpairstep.sim.base=FIRST} choose the range (default 1,000
 * seeds per mode from 1).
 */
class LockstepSimulationTest {

    @Test
    void dmr() {
        checkCoverage(runSeeds(Mode.DMR));
    }

    @Test
    void tmr() {
        checkCoverage(runSeeds(Mode.TMR));
    }

    private static void checkCoverage(Totals totals) {
        if (totals.seeds >= 20) {
            assertThat(totals.divergences).as("members were found divergent and removed").isPositive();
            assertThat(totals.repairs).as("groups that lost a divergent member came back to full strength").isPositive();
            assertThat(totals.dumps).as("divergent members handed their state over for a dump").isPositive();
            assertThat(totals.quarantined).as("poison commands were sent and refused as POISON").isPositive();
            assertThat(totals.upgrades).as("online upgrades ran among the faults and ended").isPositive();
            assertThat(totals.provenMoves).as("orderers moved to members of the new version once proven").isPositive();
            assertThat(totals.skewedRolledBack).as("upgrades to a version that answers differently rolled back").isPositive();
            assertThat(totals.rolledBackAfterOrdererMoved).as("upgrades that failed after an orderer moved rolled back all the way")
                    .isPositive();
            assertThat(totals.shadowReports).as("followers ran new versions in shadow mode and reported").isPositive();
            assertThat(totals.shadowStops).as("shadow runs of skewed versions stopped their upgrades").isPositive();
        }
    }

    /**
     * Seeds beyond the default range that once found a bug, replayed on every build. (A change to the
     * simulator's use of randomness makes them other runs; they stay as extra seeds.)
     */
    @Test
    void seedsThatFoundBugs() {
        // A corrupted member became orderer (its node drained) and, alone in sync, had every newcomer that disagreed rebuilt from its state.
        Simulation.run(1682, Mode.TMR);
        // A state check answered just before a late corruption vouched for the damaged member.
        Simulation.run(1916, Mode.DMR);
        // The disputed partner took over ordering before the referee judged, and released its own results.
        Simulation.run(245, Mode.DMR);
        // A catching-up member asked for entries again and was found divergent in the same step; the orderer dropped
        // the entries it had kept for it and then tried to send them ("entry 191 not buffered").
        Simulation.run(2338, Mode.DMR);
        // A DMR group halted with no node for a referee while an upgrade ran its shadow: the heal phase kept the clients
        // issuing for that upgrade, which the halted group holds for good, so the run never settled.
        Simulation.run(3871, Mode.DMR);
    }

    @Test
    void sameSeedReplaysExactly() {
        assertThat(Simulation.run(42, Mode.TMR)).isEqualTo(Simulation.run(42, Mode.TMR));
    }

    private static final class Totals {
        long seeds;
        long acknowledged;
        long faults;
        long takeovers;
        long divergences;
        long repairs;
        long dumps;
        long halts;
        long quarantined;
        long poisonPastOrderer;
        long upgrades;
        long skewedRolledBack;
        long provenMoves;
        long rollbacksAfterOrdererMoved;
        long rolledBackAfterOrdererMoved;
        long shadowReports;
        long shadowStops;
        long falseAlarms;
        long outlasted;
    }

    private static Totals runSeeds(Mode mode) {
        String single = System.getProperty("pairstep.sim.seed");
        long count = single != null ? 1 : Long.getLong("pairstep.sim.seeds", 1000);
        long first = single != null ? Long.parseLong(single) : Long.getLong("pairstep.sim.base", 1);
        System.out.printf("simulating %d %s seed(s) from %d%n", count, mode.label(), first);
        Totals totals = new Totals();
        totals.seeds = count;
        List<String> failures = new ArrayList<>();
        for (long seed = first; seed < first + count; seed++) {
            try {
                Simulation.Result result = Simulation.run(seed, mode);
                totals.acknowledged += result.acknowledged();
                totals.faults += result.faults();
                totals.takeovers += result.takeovers();
                totals.divergences += result.divergences();
                totals.repairs += result.repairs();
                totals.dumps += result.dumps();
                totals.halts += result.halts();
                totals.quarantined += result.quarantined();
                totals.poisonPastOrderer += result.poisonPastOrderer();
                totals.upgrades += result.upgrades();
                totals.skewedRolledBack += result.skewedRolledBack();
                totals.provenMoves += result.provenMoves();
                totals.rollbacksAfterOrdererMoved += result.rollbacksAfterHandover();
                totals.rolledBackAfterOrdererMoved += result.rolledBackAfterOrdererMoved();
                totals.shadowReports += result.shadowReports();
                totals.shadowStops += result.shadowStops();
                totals.falseAlarms += result.falseAlarms();
                totals.outlasted += result.suspicionsOutlasted();
            } catch (Simulation.Failure failure) {
                failures.add(failure.getMessage());
                System.out.println(failure.getMessage());
                if (failures.size() >= 3) {
                    break;
                }
            }
        }
        System.out.printf("simulated %s seeds %d..%d: %d commands acknowledged, %d faults, %d takeovers, %d divergent members"
                        + " removed, %d repairs to full strength, %d dumps, %d groups halted, %d poison commands refused as POISON,"
                        + " %d members crashed on poison that got past an orderer whose self-check failed, %d online upgrades done,"
                        + " %d upgrades to a skewed version rolled back, %d orderers moved to proven members, %d rollbacks started"
                        + " after an orderer moved, %d of them rolled back all the way, %d shadow reports, %d upgrades stopped by"
                        + " their shadow run, %d false alarms, %d suspicions outlasted by late heartbeats%n",
                mode.label(), first, first + count - 1, totals.acknowledged, totals.faults, totals.takeovers, totals.divergences,
                totals.repairs, totals.dumps, totals.halts, totals.quarantined, totals.poisonPastOrderer, totals.upgrades,
                totals.skewedRolledBack, totals.provenMoves, totals.rollbacksAfterOrdererMoved, totals.rolledBackAfterOrdererMoved,
                totals.shadowReports, totals.shadowStops, totals.falseAlarms, totals.outlasted);
        assertThat(failures).as("failing seeds (each message names its seed and how to replay it)").isEmpty();
        assertThat(totals.acknowledged).as("the clients got commands through").isPositive();
        return totals;
    }
}
