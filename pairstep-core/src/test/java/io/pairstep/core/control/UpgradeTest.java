package io.pairstep.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.HandedOver;
import io.pairstep.core.control.ControlCommand.MemberProven;
import io.pairstep.core.control.ControlCommand.NodeDown;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import io.pairstep.core.control.ControlCommand.ReplicaCaughtUp;
import io.pairstep.core.control.ControlCommand.ReplicaCrashed;
import io.pairstep.core.control.ControlCommand.ShadowReport;
import io.pairstep.core.control.ControlCommand.Upgrade;
import io.pairstep.core.control.ControlCommand.UpgradeBaked;
import io.pairstep.core.control.ServiceUpgrade.State;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UpgradeTest {

    private static final String V1 = "a".repeat(64);
    private static final String V2 = "b".repeat(64);

    private final ControllerState state = new ControllerState();

    UpgradeTest() {
        state.apply(new ControlCommand.Bootstrap("s"));
        for (int i = 1; i <= 3; i++) {
            state.apply(new RegisterNode("n" + i, "h" + i, "r" + i, 1, i));
        }
        state.apply(new Deploy(spec(1, V1, Mode.PAIR, 3)));
    }

    private static ServiceSpec spec(long version, String digest, Mode mode, int partitions) {
        return new ServiceSpec("kv", version, mode, partitions, ServiceSpec.SHA256_PREFIX + digest, digest, "it.Kv");
    }

    private List<GroupConfig> groups() {
        return List.copyOf(state.groups().values());
    }

    /**
     * Each syncing replica reported caught up, and each primary asked to hand over reported it, one
     * at a time, as the primaries would, and each lockstep member of the new version in sync beside
     * an old orderer reported proven, as that orderer would once the member agreed with it on enough
     * commands; returns every state passed through.
     */
    private List<ControllerState> catchUpAll() {
        List<ControllerState> seen = new ArrayList<>();
        for (boolean again = true; again; ) {
            again = false;
            for (GroupConfig group : groups()) {
                if (group.handover()) {
                    handOver(group);
                    seen.add(state.copy());
                    again = true;
                    break;
                }
                ReplicaAssignment syncing = group.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElse(null);
                if (syncing != null) {
                    assertThat(state.apply(new ReplicaCaughtUp(group.group(), group.epoch(), syncing.node(), syncing.incarnation())).changed())
                            .isTrue();
                    seen.add(state.copy());
                    again = true;
                    break;
                }
            }
            if (!again && proveOne()) {
                seen.add(state.copy());
                again = true;
            }
        }
        return seen;
    }

    private void handOver(GroupConfig group) {
        ReplicaAssignment primary = group.primary();
        assertThat(state.apply(new HandedOver(group.group(), group.epoch(), primary.node(), primary.incarnation(), 10)).changed()).isTrue();
    }

    /** Moves the upgrade on, one step at a time, until {@code until} holds. */
    private void stepUntil(java.util.function.Predicate<List<GroupConfig>> until) {
        while (!until.test(groups())) {
            GroupConfig group = groups().stream().filter(g -> g.handover() || !g.fullyProtected()).findFirst().orElseThrow();
            if (group.handover()) {
                handOver(group);
            } else {
                ReplicaAssignment syncing = group.backup();
                state.apply(new ReplicaCaughtUp(group.group(), group.epoch(), syncing.node(), syncing.incarnation()));
            }
        }
    }

    /** The first lockstep member of the new version in sync beside an orderer of the old one and not proven yet, or null. */
    private ReplicaAssignment unproven(GroupConfig group) {
        ServiceUpgrade upgrade = state.upgrades().get(group.group().service());
        if (!group.mode().lockstep() || upgrade == null || upgrade.state() != State.UPGRADING
                || group.primary().version() == upgrade.to().version()) {
            return null;
        }
        return group.replicas().stream().filter(r -> r.role() == Role.BACKUP && r.state() == ReplicaState.OK
                && r.version() == upgrade.to().version() && !upgrade.proven(group.group(), r)).findFirst().orElse(null);
    }

    /** Reports one unproven member proven, as its orderer would; false when there is none. */
    private boolean proveOne() {
        for (GroupConfig group : groups()) {
            ReplicaAssignment member = unproven(group);
            if (member != null) {
                assertThat(state.apply(proof(group, member, ServiceUpgrade.PROVEN_COMMANDS_MIN)).changed()).isTrue();
                return true;
            }
        }
        return false;
    }

    private static MemberProven proof(GroupConfig group, ReplicaAssignment member, long commands) {
        return new MemberProven(group.group(), group.epoch(), group.primary().node(), member.node(), member.incarnation(),
                member.sinceEpoch(), commands);
    }

    /** Reports syncing members caught up until none is left, proving none. */
    private void catchUpWithoutProof() {
        for (boolean again = true; again; ) {
            again = false;
            for (GroupConfig group : groups()) {
                ReplicaAssignment syncing = group.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElse(null);
                if (syncing != null) {
                    state.apply(new ReplicaCaughtUp(group.group(), group.epoch(), syncing.node(), syncing.incarnation()));
                    again = true;
                    break;
                }
            }
        }
    }

    @Test
    void backupsMoveFirstThenPrimariesHandOverAndTheNewVersionBecomesCurrent() {
        assertThat(state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0)).changed()).isTrue();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.UPGRADING);
        assertThat(state.specFor("kv", 2).artifactDigest()).isEqualTo(V2);
        assertThat(state.specFor("kv", 1).artifactDigest()).isEqualTo(V1);

        List<ControllerState> steps = catchUpAll();
        int firstPrimaryMove = -1;
        for (int i = 0; i < steps.size(); i++) {
            ControllerState step = steps.get(i);
            long syncing = step.groups().values().stream().flatMap(g -> g.replicas().stream()).filter(r -> r.state() == ReplicaState.SYNCING)
                    .count();
            assertThat(syncing).as("one move at a time").isLessThanOrEqualTo(1);
            boolean primaryMoved = step.groups().values().stream().anyMatch(g -> g.primary().version() == 2);
            if (primaryMoved && firstPrimaryMove < 0) {
                firstPrimaryMove = i;
                assertThat(step.groups().values()).as("every backup runs version 2 before any primary does")
                        .allMatch(g -> g.primary().version() == 2 || g.backup().version() == 2);
            }
            boolean oldBackupReplaced = step.groups().values().stream().anyMatch(g -> g.replicas().stream().allMatch(r -> r.version() == 2));
            if (oldBackupReplaced) {
                assertThat(step.groups().values()).as("the old version stays as backup until every primary moved")
                        .allMatch(g -> g.primary().version() == 2);
            }
        }
        assertThat(firstPrimaryMove).isPositive();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.DONE);
        assertThat(state.services().get("kv").version()).isEqualTo(2);
        assertThat(state.services().get("kv").artifactDigest()).isEqualTo(V2);
        assertThat(state.specFor("kv", 1)).as("nobody runs version 1 any more").isNull();
        assertThat(groups()).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 2));
        // Replicas placed from now on run version 2.
        String node = groups().getFirst().backup().node();
        state.apply(new NodeDown(node, 1, "test"));
        state.apply(new RegisterNode(node, "h", "r", 2, 9));
        catchUpAll();
        assertThat(state.replicasOn(node)).isNotEmpty().allMatch(r -> r.version() == 2);
        assertThat(state.copy().upgrades()).isEqualTo(state.upgrades());
    }

    @Test
    void aNewVersionReplicaThatCrashesBeforeAnyPrimaryMovedRollsEveryGroupBack() {
        state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0));
        GroupConfig group = groups().getFirst();
        ReplicaAssignment fresh = group.backup();
        assertThat(fresh.version()).isEqualTo(2);
        assertThat(fresh.state()).isEqualTo(ReplicaState.SYNCING);
        // It cannot read the old version's snapshot.
        assertThat(state.apply(new ReplicaCrashed(group.group(), group.epoch(), fresh.node(), fresh.incarnation(), fresh.sinceEpoch(),
                "restore failed: java.lang.IllegalStateException: unknown format", null)).changed()).isTrue();
        ServiceUpgrade upgrade = state.upgrades().get("kv");
        assertThat(upgrade.state()).isEqualTo(State.ROLLING_BACK);
        assertThat(upgrade.reason()).contains("version 2 failed on " + fresh.node(), "unknown format");
        assertThat(state.groups().get(group.group()).backup().version()).as("rebuilt as version 1").isEqualTo(1);
        catchUpAll();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.ROLLED_BACK);
        assertThat(state.services().get("kv").version()).isEqualTo(1);
        assertThat(groups()).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 1));
        // A later, good upgrade may follow.
        assertThat(state.apply(new Upgrade(spec(2, "c".repeat(64), Mode.PAIR, 3), 0)).changed()).isTrue();
    }

    @Test
    void aPrimaryHandsOverInPlaceAndTheOldPrimaryStaysItsBackup() {
        state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0));
        stepUntil(gs -> gs.stream().anyMatch(GroupConfig::handover));
        GroupConfig asked = groups().stream().filter(GroupConfig::handover).findFirst().orElseThrow();
        assertThat(groups()).as("one hand-over at a time").filteredOn(GroupConfig::handover).hasSize(1);
        ReplicaAssignment oldPrimary = asked.primary();
        ReplicaAssignment newPrimary = asked.backup();
        assertThat(state.apply(new HandedOver(asked.group(), asked.epoch() - 1, oldPrimary.node(), oldPrimary.incarnation(), 10)).reason())
                .contains("stale hand-over report");
        assertThat(state.apply(new HandedOver(asked.group(), asked.epoch(), newPrimary.node(), newPrimary.incarnation(), 10)).reason())
                .as("only the primary hands over").contains("stale hand-over report");
        handOver(asked);
        GroupConfig after = state.groups().get(asked.group());
        assertThat(after.epoch()).isEqualTo(asked.epoch() + 1);
        assertThat(after.handover()).isFalse();
        assertThat(after.primary().sameInstance(newPrimary)).isTrue();
        assertThat(after.primary().version()).isEqualTo(2);
        assertThat(after.backup().sameInstance(oldPrimary)).as("the same instance, state and all").isTrue();
        assertThat(after.backup().state()).isEqualTo(ReplicaState.OK);
        assertThat(after.backup().version()).isEqualTo(1);
    }

    @Test
    void aCrashAfterAPrimaryHandedOverRollsBackThroughItsOldPrimary() {
        state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0));
        stepUntil(gs -> gs.stream().anyMatch(g -> g.primary().version() == 2));
        GroupConfig moved = groups().stream().filter(g -> g.primary().version() == 2).findFirst().orElseThrow();
        ReplicaAssignment primary = moved.primary();
        ReplicaAssignment oldPrimary = moved.backup();
        assertThat(state.apply(new ReplicaCrashed(moved.group(), moved.epoch(), primary.node(), primary.incarnation(), primary.sinceEpoch(),
                "java.lang.StackOverflowError", null)).changed()).isTrue();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.ROLLING_BACK);
        GroupConfig takenOver = state.groups().get(moved.group());
        assertThat(takenOver.primary().sameInstance(oldPrimary)).as("the old version's replica took over").isTrue();
        assertThat(takenOver.backup().version()).as("rebuilt from the old primary, in its version").isEqualTo(1);
        catchUpAll();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.ROLLED_BACK);
        assertThat(state.services().get("kv").version()).isEqualTo(1);
        assertThat(groups()).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 1));
    }

    @Test
    void aCrashAfterTheOldVersionLeftAGroupDoesNotRollBack() {
        state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0));
        stepUntil(gs -> gs.stream().anyMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 2)));
        GroupConfig moved = groups().stream().filter(g -> g.replicas().stream().allMatch(r -> r.version() == 2)).findFirst().orElseThrow();
        ReplicaAssignment primary = moved.primary();
        state.apply(new ReplicaCrashed(moved.group(), moved.epoch(), primary.node(), primary.incarnation(), primary.sinceEpoch(), "boom",
                null));
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.UPGRADING);
        catchUpAll();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.DONE);
    }

    @Test
    void aBakeKeepsTheOldVersionAsBackupUntilTheLeaderSaysItIsOverAndACrashMeanwhileRollsBack() {
        assertThat(state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0, 60_000)).changed()).isTrue();
        stepUntil(gs -> state.upgrades().get("kv").state() == State.BAKING);
        assertThat(groups()).allMatch(g -> g.primary().version() == 2 && g.backup().version() == 1 && g.fullyProtected());
        ControllerState baking = state.copy();
        assertThat(state.apply(new UpgradeBaked("kv", 3)).reason()).contains("stale bake report");
        assertThat(state.groups()).as("nothing moves while baking").isEqualTo(baking.groups());

        BakeTimer timer = new BakeTimer();
        assertThat(timer.tick(0, state)).isEmpty();
        assertThat(timer.tick(59_999_000_000L, state)).as("not before the bake time").isEmpty();
        assertThat(timer.tick(60_000_000_000L, state)).containsExactly(new UpgradeBaked("kv", 2));
        assertThat(timer.tick(60_500_000_000L, state)).as("proposed again only after a while").isEmpty();
        timer.becameLeader();
        assertThat(timer.tick(61_000_000_000L, state)).as("a new leader counts again").isEmpty();

        // A crash while baking: the old primary, still the backup, takes over, and it all rolls back.
        GroupConfig group = groups().getFirst();
        ReplicaAssignment primary = group.primary();
        state.apply(new ReplicaCrashed(group.group(), group.epoch(), primary.node(), primary.incarnation(), primary.sinceEpoch(), "boom", null));
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.ROLLING_BACK);
        catchUpAll();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.ROLLED_BACK);
        assertThat(groups()).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 1));

        // Baked to the end, the old backups are replaced.
        state.apply(new Upgrade(spec(2, "c".repeat(64), Mode.PAIR, 3), 0, 1_000));
        stepUntil(gs -> state.upgrades().get("kv").state() == State.BAKING);
        assertThat(state.apply(new UpgradeBaked("kv", 2)).changed()).isTrue();
        assertThat(state.upgrades().get("kv").baked()).isTrue();
        catchUpAll();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.DONE);
        assertThat(groups()).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 2));
    }

    @Test
    void aServiceInModeNoneHandsOverToANewVersionReplicaThatSyncedOnAnotherNode() {
        state.apply(new Deploy(new ServiceSpec("single", 1, Mode.NONE, 2, "example:kv", "", "")));
        catchUpAll();
        assertThat(state.apply(new Upgrade(new ServiceSpec("single", 2, Mode.NONE, 2, "example:bank", "", ""), 0, 1_000)).changed()).isTrue();
        List<ControllerState> steps = catchUpAll();
        for (ControllerState step : steps) {
            for (GroupConfig group : step.groups().values()) {
                if (group.group().service().equals("single")) {
                    assertThat(group.replicas()).as("%s", group).hasSizeBetween(1, 2);
                    assertThat(group.primary().state()).isEqualTo(ReplicaState.OK);
                }
            }
        }
        assertThat(state.upgrades().get("single").state()).isEqualTo(State.BAKING);
        assertThat(state.groups().values()).filteredOn(g -> g.group().service().equals("single"))
                .allMatch(g -> g.primary().version() == 2 && g.backup().version() == 1 && g.fullyProtected());
        state.apply(new UpgradeBaked("single", 2));
        catchUpAll();
        assertThat(state.upgrades().get("single").state()).isEqualTo(State.DONE);
        assertThat(state.groups().values()).filteredOn(g -> g.group().service().equals("single"))
                .hasSize(2).allMatch(g -> g.replicas().size() == 1 && g.primary().version() == 2);

        // A new version that fails as primary while baking: the old replica takes back over and the partner goes.
        state.apply(new Upgrade(new ServiceSpec("single", 3, Mode.NONE, 2, "example:kv", "", ""), 0, 1_000));
        catchUpAll();
        GroupConfig group = state.groups().get(new GroupId("single", 0));
        ReplicaAssignment primary = group.primary();
        state.apply(new ReplicaCrashed(group.group(), group.epoch(), primary.node(), primary.incarnation(), primary.sinceEpoch(), "boom", null));
        assertThat(state.upgrades().get("single").state()).isEqualTo(State.ROLLING_BACK);
        catchUpAll();
        assertThat(state.upgrades().get("single").state()).isEqualTo(State.ROLLED_BACK);
        assertThat(state.groups().values()).filteredOn(g -> g.group().service().equals("single"))
                .allMatch(g -> g.replicas().size() == 1 && g.primary().version() == 2 && g.fullyProtected());
    }

    @Test
    void badUpgradesAreRefusedWithAReasonAndChangeNothing() {
        ControllerState before = state.copy();
        assertThat(state.apply(new Upgrade(new ServiceSpec("nope", 2, Mode.PAIR, 3, "example:kv", "", ""), 0)).reason())
                .contains("unknown service nope");
        assertThat(state.apply(new Upgrade(spec(3, V2, Mode.PAIR, 3), 0)).reason()).contains("must name version 2, not 3");
        assertThat(state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 4), 0)).reason()).contains("keeps the mode and partitions");
        assertThat(state.apply(new Upgrade(spec(2, V1, Mode.PAIR, 3), 0)).reason()).contains("already runs sha256:" + V1);
        state.apply(new Deploy(new ServiceSpec("single", 1, Mode.NONE, 1, "example:kv", "", "")));
        assertThat(state.apply(new Upgrade(new ServiceSpec("single", 2, Mode.NONE, 1, "example:bank", "", ""), 100)).reason())
                .contains("shadow mode (--shadow) is for modes pair, dmr and tmr only", "mode none");
        state.apply(new Deploy(new ServiceSpec("t", 1, Mode.TMR, 1, "example:kv", "", "")));
        assertThat(state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0, -1)).reason()).contains("bake must be 0");
        state.apply(new Deploy(new ServiceSpec("d", 1, Mode.DMR, 1, "example:kv", "", "")));
        state.apply(new ControlCommand.DrainNode("n3", true));
        assertThat(state.apply(new Upgrade(new ServiceSpec("d", 2, Mode.DMR, 1, "example:bank", "", ""), 0)).reason())
                .contains("mode dmr", "third node", "only 2 node(s) that are not draining");
        state.apply(new ControlCommand.DrainNode("n3", false));
        assertThat(state.groups().values().stream().filter(g -> g.group().service().equals("kv")).toList())
                .isEqualTo(before.groups().values().stream().toList());
        state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0));
        assertThat(state.apply(new Upgrade(spec(2, "c".repeat(64), Mode.PAIR, 3), 0)).reason()).contains("is under way (upgrading)");
    }

    @Test
    void nothingRebalancesWhileAnUpgradeRuns() {
        state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 0));
        state.apply(new RegisterNode("n4", "h4", "r4", 1, 4));
        for (ControllerState step : catchUpAll()) {
            if (step.upgrades().get("kv").active()) {
                assertThat(step.replicasOn("n4")).as("the new node waits for the upgrade to end").isEmpty();
            }
        }
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.DONE);
        catchUpAll();
        assertThat(state.replicasOn("n4")).isNotEmpty().allMatch(r -> r.version() == 2);
        assertThat(state.groups().get(new GroupId("kv", 0)).fullyProtected()).isTrue();
    }

    @Test
    void shadowModeMovesNothingUntilEveryPartitionReportedThenGoesOnOrStops() {
        assertThat(state.apply(new Upgrade(spec(2, V2, Mode.PAIR, 3), 500)).changed()).isTrue();
        ControllerState before = state.copy();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.SHADOW);
        assertThat(state.specFor("kv", 2)).as("the shadow runs version 2").isNotNull();
        GroupConfig first = state.groups().get(new GroupId("kv", 0));
        assertThat(state.shadowRunner(first)).as("a pair group's backup in sync runs it").isEqualTo(first.backup());
        assertThat(state.upgradeWaiting("kv")).contains("has run in shadow mode beside version 1",
                first.backup().node() + " (kv/0)", "for 500 client commands");
        state.apply(new ShadowReport(new GroupId("kv", 0), "n2", 2, 500, List.of()));
        assertThat(state.upgradeWaiting("kv")).as("kv/0 reported").doesNotContain("(kv/0)").contains("(kv/1)");
        assertThat(state.apply(new ShadowReport(new GroupId("kv", 0), "n2", 2, 500, List.of())).reason()).contains("stale");
        assertThat(state.apply(new ShadowReport(new GroupId("kv", 1), "n2", 9, 500, List.of())).reason()).contains("stale");
        state.apply(new ShadowReport(new GroupId("kv", 1), "n3", 2, 500, List.of()));
        assertThat(groups()).as("nothing moved in shadow mode").isEqualTo(List.copyOf(before.groups().values()));
        state.apply(new ShadowReport(new GroupId("kv", 2), "n1", 2, 500, List.of()));
        assertThat(state.upgrades().get("kv").state()).as("no difference: it goes on").isEqualTo(State.UPGRADING);
        catchUpAll();
        assertThat(state.upgrades().get("kv").state()).isEqualTo(State.DONE);

        state.apply(new Upgrade(spec(3, "c".repeat(64), Mode.PAIR, 3), 500));
        for (int p = 0; p < 3; p++) {
            state.apply(new ShadowReport(new GroupId("kv", p), "n1", 3, 500, p == 1 ? List.of("entry 7: a -> 1, was 2") : List.of()));
        }
        ServiceUpgrade stopped = state.upgrades().get("kv");
        assertThat(stopped.state()).isEqualTo(State.SHADOW_DIFFERED);
        assertThat(stopped.differences()).containsExactly("kv/1 on n1: entry 7: a -> 1, was 2");
        assertThat(stopped.reason()).contains("answered differently on 1 of 3 partitions", "nothing was switched");
        assertThat(state.services().get("kv").version()).isEqualTo(2);
        assertThat(groups()).allMatch(g -> g.replicas().stream().allMatch(r -> r.version() == 2));
        assertThat(state.apply(new Upgrade(spec(3, "d".repeat(64), Mode.PAIR, 3), -1)).reason()).contains("shadow must be 0");
    }

    // ---------------------------------------------------------------------------------------------
    // Lockstep groups (tmr and dmr)

    private static ServiceSpec lockstep(String name, long version, String digest, Mode mode, int partitions) {
        return new ServiceSpec(name, version, mode, partitions, ServiceSpec.SHA256_PREFIX + digest, digest, "it.Kv");
    }

    private List<GroupConfig> groupsOf(ControllerState in, String service) {
        return in.groups().values().stream().filter(g -> g.group().service().equals(service)).toList();
    }

    @Test
    void tmrMembersMoveOneAtATimeInPlaceThenTheOrdererThenTheUpgradeIsDone() {
        state.apply(new Deploy(lockstep("votes", 1, V1, Mode.TMR, 2)));
        List<GroupConfig> before = groupsOf(state, "votes");
        assertThat(state.apply(new Upgrade(lockstep("votes", 2, V2, Mode.TMR, 2), 0)).changed()).isTrue();
        List<ControllerState> steps = new ArrayList<>();
        steps.add(state.copy());
        steps.addAll(catchUpAll());
        boolean ordererMoved = false;
        for (ControllerState step : steps) {
            long syncing = groupsOf(step, "votes").stream().flatMap(g -> g.replicas().stream()).filter(r -> r.state() == ReplicaState.SYNCING)
                    .count();
            assertThat(syncing).as("one member moves at a time").isLessThanOrEqualTo(1);
            for (GroupConfig group : groupsOf(step, "votes")) {
                assertThat(group.replicas()).as("three members in %s", group).hasSize(3);
                assertThat(group.replicas().stream().filter(r -> r.state() == ReplicaState.OK).count())
                        .as("two members in sync throughout in %s", group).isGreaterThanOrEqualTo(2);
                if (group.primary().version() == 2 && !ordererMoved) {
                    ordererMoved = true;
                    assertThat(groupsOf(step, "votes")).as("every group has a member of version 2 before any orderer moves")
                            .allMatch(g -> g.replicas().stream().anyMatch(r -> r.version() == 2 && r.role() == Role.BACKUP)
                                    || g.primary().version() == 2);
                }
                if (group.primary().version() == 2) {
                    assertThat(group.replicas()).as("a new orderer has a member of its version in sync or catching up in %s", group)
                            .filteredOn(r -> r.role() == Role.BACKUP && r.version() == 2).isNotEmpty();
                } else {
                    assertThat(group.replicas()).as("an old orderer has a member of its version in sync in %s", group)
                            .filteredOn(r -> r.role() == Role.BACKUP && r.version() == 1 && r.state() == ReplicaState.OK).isNotEmpty();
                }
            }
        }
        assertThat(ordererMoved).isTrue();
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.DONE);
        assertThat(state.services().get("votes").version()).isEqualTo(2);
        for (GroupConfig group : groupsOf(state, "votes")) {
            assertThat(group.fullyProtected()).isTrue();
            assertThat(group.replicas()).allMatch(r -> r.version() == 2);
            GroupConfig old = before.stream().filter(g -> g.group().equals(group.group())).findFirst().orElseThrow();
            assertThat(group.replicas().stream().map(ReplicaAssignment::node).sorted().toList()).as("tmr members move in place")
                    .isEqualTo(old.replicas().stream().map(ReplicaAssignment::node).sorted().toList());
            assertThat(group.primary().node()).as("the orderer's role moved to another member").isNotEqualTo(old.primary().node());
        }
    }

    @Test
    void dmrMembersMoveMakeBeforeBreakWithTwoInSyncThroughout() {
        state.apply(new Deploy(lockstep("pairwise", 1, V1, Mode.DMR, 2)));
        state.apply(new Upgrade(lockstep("pairwise", 2, V2, Mode.DMR, 2), 0));
        List<ControllerState> steps = new ArrayList<>();
        steps.add(state.copy());
        steps.addAll(catchUpAll());
        boolean ordererMoved = false;
        for (ControllerState step : steps) {
            for (GroupConfig group : groupsOf(step, "pairwise")) {
                assertThat(group.replicas()).as("at most a third member in %s", group).hasSizeBetween(2, 3);
                assertThat(group.replicas().stream().filter(r -> r.state() == ReplicaState.OK).count())
                        .as("two members in sync throughout in %s", group).isGreaterThanOrEqualTo(2);
                if (group.replicas().size() == 3) {
                    // It syncs, then votes beside the old orderer until proven.
                    assertThat(group.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).toList())
                            .as("the third member is the new version").hasSizeLessThanOrEqualTo(1).allMatch(r -> r.version() == 2);
                }
                if (group.primary().version() == 2 && !ordererMoved) {
                    ordererMoved = true;
                    assertThat(group.replicas()).as("the new orderer has a member of its version catching up in %s", group).hasSize(3)
                            .anyMatch(r -> r.version() == 2 && r.state() == ReplicaState.SYNCING);
                }
                if (group.primary().version() == 1) {
                    assertThat(group.replicas()).as("an old orderer keeps a member of its version in sync in %s", group)
                            .anyMatch(r -> r.role() == Role.BACKUP && r.version() == 1 && r.state() == ReplicaState.OK);
                }
            }
        }
        assertThat(ordererMoved).isTrue();
        assertThat(state.upgrades().get("pairwise").state()).isEqualTo(State.DONE);
        assertThat(groupsOf(state, "pairwise")).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 2));
    }

    @Test
    void aTmrMemberOfTheNewVersionThatCrashesOrAnswersDifferentlyRollsTheUpgradeBack() {
        for (String failure : List.of("crash", "divergence")) {
            String name = "votes-" + failure;
            state.apply(new Deploy(lockstep(name, 1, V1, Mode.TMR, 1)));
            state.apply(new Upgrade(lockstep(name, 2, V2, Mode.TMR, 1), 0));
            GroupConfig group = groupsOf(state, name).getFirst();
            ReplicaAssignment fresh = group.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElseThrow();
            assertThat(fresh.version()).isEqualTo(2);
            if (failure.equals("crash")) {
                // It cannot read the old version's snapshot.
                state.apply(new ReplicaCrashed(group.group(), group.epoch(), fresh.node(), fresh.incarnation(), fresh.sinceEpoch(),
                        "member failed: java.lang.IllegalStateException: unknown format", null));
            } else {
                // Catching up, it answers an entry differently from the orderer.
                assertThat(state.apply(new ControlCommand.ReplicaDiverged(group.group(), group.epoch(), group.primary().node(),
                        fresh.node(), 40, fresh.node() + " diverged at entry 40: version 2 answered differently")).changed()).isTrue();
            }
            ServiceUpgrade upgrade = state.upgrades().get(name);
            assertThat(upgrade.state()).as(failure).isEqualTo(State.ROLLING_BACK);
            assertThat(upgrade.reason()).contains("version 2 failed on " + fresh.node());
            catchUpAll();
            assertThat(state.upgrades().get(name).state()).as(failure).isEqualTo(State.ROLLED_BACK);
            assertThat(state.services().get(name).version()).isEqualTo(1);
            assertThat(groupsOf(state, name)).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 1));
        }
    }

    @Test
    void aDmrRollBackMovesTheNewMemberOutMakeBeforeBreakToo() {
        state.apply(new Deploy(lockstep("pairwise", 1, V1, Mode.DMR, 1)));
        state.apply(new Upgrade(lockstep("pairwise", 2, V2, Mode.DMR, 1), 0));
        GroupConfig group = groupsOf(state, "pairwise").getFirst();
        ReplicaAssignment third = group.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElseThrow();
        assertThat(group.replicas()).as("both old members stay while the new one syncs").hasSize(3);
        assertThat(state.apply(new ControlCommand.ReplicaDiverged(group.group(), group.epoch(), group.primary().node(), third.node(), 9,
                "version 2 answered differently")).changed()).isTrue();
        assertThat(state.upgrades().get("pairwise").reason()).contains("version 2 failed on " + third.node());
        for (ControllerState step : catchUpAll()) {
            GroupConfig g = groupsOf(step, "pairwise").getFirst();
            assertThat(g.primary().version()).as("the orderer never ran version 2").isEqualTo(1);
        }
        assertThat(state.upgrades().get("pairwise").state()).isEqualTo(State.ROLLED_BACK);
        assertThat(groupsOf(state, "pairwise")).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 1));
    }

    @Test
    void aTmrShadowRunIsReportedByAFollowerInSyncAndTheNextOneTakesOverWhenItCrashes() {
        state.apply(new Deploy(lockstep("votes", 1, V1, Mode.TMR, 2)));
        assertThat(state.apply(new Upgrade(lockstep("votes", 2, V2, Mode.TMR, 2), 500)).changed()).isTrue();
        List<GroupConfig> before = groupsOf(state, "votes");
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.SHADOW);
        GroupConfig first = before.getFirst();
        GroupConfig second = before.get(1);
        ReplicaAssignment runner = state.shadowRunner(first);
        assertThat(runner).as("a follower in sync of the old version runs the shadow").isNotNull();
        assertThat(runner.role()).isEqualTo(Role.BACKUP);
        assertThat(runner.version()).isEqualTo(1);
        assertThat(state.upgradeWaiting("votes")).contains("has run in shadow mode beside version 1", runner.node() + " (votes/0)",
                "500 client commands", "without client load it waits");

        // The orderer and nodes with no member of the group have no shadow run to report.
        assertThat(state.apply(new ShadowReport(first.group(), first.primary().node(), 2, 500, List.of())).reason())
                .contains("stale shadow report", "not a member in sync other than the orderer");
        state.apply(new RegisterNode("n4", "h4", "r4", 1, 4));
        assertThat(state.apply(new ShadowReport(first.group(), "n4", 2, 500, List.of())).reason()).contains("stale shadow report");

        // The runner crashes: it is rebuilt (syncing, so it reports nothing), and the other follower runs the shadow anew.
        state.apply(new ReplicaCrashed(first.group(), first.epoch(), runner.node(), runner.incarnation(), runner.sinceEpoch(), "boom", null));
        GroupConfig repaired = groupsOf(state, "votes").getFirst();
        assertThat(repaired.replicaOn(runner.node()).state()).isEqualTo(ReplicaState.SYNCING);
        assertThat(repaired.replicaOn(runner.node()).version()).as("rebuilt in the old version during the shadow run").isEqualTo(1);
        assertThat(state.upgrades().get("votes").state()).as("a crash of the old version changes nothing").isEqualTo(State.SHADOW);
        ReplicaAssignment next = state.shadowRunner(repaired);
        assertThat(next).isNotNull();
        assertThat(next.node()).isNotEqualTo(runner.node()).isNotEqualTo(repaired.primary().node());
        assertThat(state.apply(new ShadowReport(first.group(), runner.node(), 2, 500, List.of())).reason()).contains("stale shadow report");
        assertThat(state.apply(new ShadowReport(first.group(), next.node(), 2, 500, List.of())).changed()).isTrue();
        assertThat(state.apply(new ShadowReport(first.group(), next.node(), 2, 500, List.of())).reason()).as("once per partition")
                .contains("stale shadow report");
        assertThat(state.shadowRunner(groupsOf(state, "votes").getFirst())).as("reported: nothing more to run").isNull();
        assertThat(state.upgradeWaiting("votes")).doesNotContain("(votes/0)").contains("(votes/1)");
        catchUpWithoutProof();
        assertThat(groupsOf(state, "votes")).as("nothing moves to version 2 in shadow mode")
                .allMatch(g -> g.replicas().stream().allMatch(r -> r.version() == 1));

        ReplicaAssignment other = state.shadowRunner(second);
        assertThat(state.apply(new ShadowReport(second.group(), other.node(), 2, 500, List.of())).changed()).isTrue();
        assertThat(state.upgrades().get("votes").state()).as("no difference: it goes on").isEqualTo(State.UPGRADING);
        catchUpAll();
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.DONE);
    }

    @Test
    void aDmrShadowRunThatFindsADifferenceStopsTheUpgradeWithNothingSwitched() {
        state.apply(new Deploy(lockstep("pairwise", 1, V1, Mode.DMR, 1)));
        state.apply(new Upgrade(lockstep("pairwise", 2, V2, Mode.DMR, 1), 100));
        GroupConfig group = groupsOf(state, "pairwise").getFirst();
        ReplicaAssignment runner = state.shadowRunner(group);
        assertThat(runner).isNotNull();
        assertThat(runner.node()).isNotEqualTo(group.primary().node());

        // The runner's node goes down: no member can run the shadow until a new one is in sync, and the upgrade says so.
        state.apply(new NodeDown(runner.node(), runner.incarnation(), "test"));
        GroupConfig degraded = groupsOf(state, "pairwise").getFirst();
        assertThat(state.shadowRunner(degraded)).isNull();
        assertThat(state.upgradeWaiting("pairwise")).contains("waiting for a member in sync other than the orderer", "pairwise/0");
        catchUpWithoutProof();
        GroupConfig repaired = groupsOf(state, "pairwise").getFirst();
        ReplicaAssignment next = state.shadowRunner(repaired);
        assertThat(next).as("the rebuilt member runs it").isNotNull();
        assertThat(next.version()).isEqualTo(1);
        assertThat(next.node()).isNotEqualTo(runner.node());

        assertThat(state.apply(new ShadowReport(repaired.group(), next.node(), 2, 100,
                List.of("command 3 {\"op\":\"incr\"}: the new version answered 2, the current one 1"))).changed()).isTrue();
        ServiceUpgrade stopped = state.upgrades().get("pairwise");
        assertThat(stopped.state()).isEqualTo(State.SHADOW_DIFFERED);
        assertThat(stopped.differences()).containsExactly("pairwise/0 on " + next.node()
                + ": command 3 {\"op\":\"incr\"}: the new version answered 2, the current one 1");
        assertThat(stopped.reason()).contains("answered differently on 1 of 1 partitions", "nothing was switched");
        assertThat(state.services().get("pairwise").version()).isEqualTo(1);
        catchUpAll();
        assertThat(groupsOf(state, "pairwise")).allMatch(g -> g.fullyProtected() && g.replicas().size() == 2
                && g.replicas().stream().allMatch(r -> r.version() == 1));
        assertThat(state.upgradeWaiting("pairwise")).isNull();
    }

    /** Moves the single group of {@code service} on until its orderer runs version 2, proving members as needed. */
    private GroupConfig untilTheOrdererRunsVersion2(String service) {
        while (groupsOf(state, service).getFirst().primary().version() != 2) {
            GroupConfig group = groupsOf(state, service).getFirst();
            ReplicaAssignment syncing = group.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElse(null);
            if (group.handover()) {
                handOver(group);
                continue;
            }
            if (syncing == null) {
                assertThat(proveOne()).as("a member to prove").isTrue();
                continue;
            }
            state.apply(new ReplicaCaughtUp(group.group(), group.epoch(), syncing.node(), syncing.incarnation()));
        }
        return groupsOf(state, service).getFirst();
    }

    @Test
    void aTmrUpgradeRollsBackAfterTheOrdererMovedWhileAnOldMemberIsLeftAndGoesOnOnceNoneIs() {
        state.apply(new Deploy(lockstep("votes", 1, V1, Mode.TMR, 1)));
        state.apply(new Upgrade(lockstep("votes", 2, V2, Mode.TMR, 1), 0));
        GroupConfig group = untilTheOrdererRunsVersion2("votes");
        ReplicaAssignment old = group.replicas().stream().filter(r -> r.version() == 1).findFirst().orElseThrow();
        assertThat(old.role()).isEqualTo(Role.BACKUP);
        assertThat(old.state()).as("the old version's last member is in sync beside the new orderer").isEqualTo(ReplicaState.OK);

        // The new orderer crashes: the old member takes the role back, and the new members are replaced by old ones.
        ControllerState beforeCrash = state.copy();
        ReplicaAssignment orderer = group.primary();
        state.apply(new ReplicaCrashed(group.group(), group.epoch(), orderer.node(), orderer.incarnation(), orderer.sinceEpoch(),
                "member failed: java.lang.StackOverflowError", null));
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.ROLLING_BACK);
        assertThat(state.upgrades().get("votes").reason()).contains("version 2 failed on " + orderer.node());
        GroupConfig taken = groupsOf(state, "votes").getFirst();
        assertThat(taken.primary().node()).as("the member of the old version orders again").isEqualTo(old.node());
        assertThat(taken.primary().version()).isEqualTo(1);
        for (ControllerState step : catchUpAll()) {
            GroupConfig g = groupsOf(step, "votes").getFirst();
            assertThat(g.primary().version()).as("the orderer stays on version 1").isEqualTo(1);
            assertThat(g.replicas().stream().filter(r -> r.state() == ReplicaState.OK).count()).as("two in sync in %s", g)
                    .isGreaterThanOrEqualTo(2);
        }
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.ROLLED_BACK);
        assertThat(state.services().get("votes").version()).isEqualTo(1);
        assertThat(groupsOf(state, "votes")).allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 1));

        // The same upgrade once the last old member was replaced: the state exists only in version 2's format, and it goes on.
        state.apply(new Upgrade(lockstep("votes", 2, "c".repeat(64), Mode.TMR, 1), 0));
        untilTheOrdererRunsVersion2("votes");
        while (groupsOf(state, "votes").getFirst().replicas().stream().anyMatch(r -> r.version() == 1)) {
            GroupConfig g = groupsOf(state, "votes").getFirst();
            ReplicaAssignment syncing = g.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElseThrow();
            state.apply(new ReplicaCaughtUp(g.group(), g.epoch(), syncing.node(), syncing.incarnation()));
        }
        GroupConfig late = groupsOf(state, "votes").getFirst();
        ReplicaAssignment member = late.replicas().stream().filter(r -> r.role() == Role.BACKUP && r.state() == ReplicaState.OK)
                .findFirst().orElseThrow();
        state.apply(new ReplicaCrashed(late.group(), late.epoch(), member.node(), member.incarnation(), member.sinceEpoch(), "boom", null));
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.UPGRADING);
        assertThat(groupsOf(state, "votes").getFirst().replicaOn(member.node()).version()).as("rebuilt as version 2").isEqualTo(2);
        catchUpAll();
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.DONE);
        assertThat(beforeCrash.upgrades().get("votes").state()).isEqualTo(State.UPGRADING);
    }

    @Test
    void whileAnUpgradeRollsBackEvenAProvenMemberOfTheNewVersionNeverTakesOverFromAnOldOrderer() {
        state.apply(new Deploy(lockstep("votes", 1, V1, Mode.TMR, 2)));
        state.apply(new Upgrade(lockstep("votes", 2, V2, Mode.TMR, 2), 0));
        // Phase 1 in the first group, then the second group's new member syncs: meanwhile the first
        // group's new member is proven, but the system is not quiet, so no orderer moves yet.
        GroupConfig first = groupsOf(state, "votes").getFirst();
        ReplicaAssignment syncing = first.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElseThrow();
        state.apply(new ReplicaCaughtUp(first.group(), first.epoch(), syncing.node(), syncing.incarnation()));
        GroupConfig second = groupsOf(state, "votes").get(1);
        ReplicaAssignment other = second.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElseThrow();
        first = groupsOf(state, "votes").getFirst();
        ReplicaAssignment proven = first.replicaOn(syncing.node());
        assertThat(state.apply(proof(first, proven, ServiceUpgrade.PROVEN_COMMANDS_MIN)).changed()).isTrue();
        assertThat(groupsOf(state, "votes").getFirst().primary().version()).isEqualTo(1);

        // The second group's new member fails: the upgrade rolls back.
        state.apply(new ReplicaCrashed(second.group(), second.epoch(), other.node(), other.incarnation(), other.sinceEpoch(), "boom", null));
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.ROLLING_BACK);

        // The first group's other old member is lost, then its orderer crashes: only the proven
        // member of version 2 is in sync, and it does not take over; the orderer recovers in place.
        first = groupsOf(state, "votes").getFirst();
        ReplicaAssignment orderer = first.primary();
        ReplicaAssignment oldMember = first.replicas().stream().filter(r -> r.role() == Role.BACKUP && r.version() == 1).findFirst()
                .orElseThrow();
        state.apply(new NodeDown(oldMember.node(), oldMember.incarnation(), "test"));
        first = groupsOf(state, "votes").getFirst();
        assertThat(first.replicas()).as("only the orderer and the proven member are left in %s", first)
                .extracting(ReplicaAssignment::node).containsExactlyInAnyOrder(orderer.node(), proven.node());
        state.apply(new ReplicaCrashed(first.group(), first.epoch(), orderer.node(), orderer.incarnation(), orderer.sinceEpoch(),
                "member failed: injected", null));
        GroupConfig after = groupsOf(state, "votes").getFirst();
        assertThat(after.primary().node()).as("the old orderer recovers in place").isEqualTo(orderer.node());
        assertThat(after.primary().version()).isEqualTo(1);
        assertThat(after.replicas()).as("no member of version 2 stays beside a recovering orderer of version 1")
                .allMatch(r -> r.version() == 1);
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.ROLLING_BACK);
    }

    @Test
    void aLockstepBakeKeepsTheOldMembersUntilItEndsAndANewMemberFailingMeanwhileRollsEveryGroupBack() {
        for (Mode mode : List.of(Mode.TMR, Mode.DMR)) {
            String name = "baked-" + mode.label();
            state.apply(new Deploy(lockstep(name, 1, V1, mode, 2)));
            assertThat(state.apply(new Upgrade(lockstep(name, 2, V2, mode, 2), 0, 60_000)).changed()).as(mode.label()).isTrue();
            catchUpAll();
            assertThat(state.upgrades().get(name).state()).as(mode.label()).isEqualTo(State.BAKING);
            for (GroupConfig g : groupsOf(state, name)) {
                assertThat(g.primary().version()).as("every orderer moved in %s", g).isEqualTo(2);
                assertThat(g.replicas()).as("one member of version 1 stays, in sync, in %s", g)
                        .filteredOn(r -> r.version() == 1 && r.role() == Role.BACKUP && r.state() == ReplicaState.OK).hasSize(1);
                assertThat(g.replicas().stream().filter(r -> r.state() == ReplicaState.OK).count()).isGreaterThanOrEqualTo(2);
            }
            ControllerState baking = state.copy();

            // A member of version 2 other than the orderer is found divergent: every group goes back.
            GroupConfig second = groupsOf(state, name).get(1);
            ReplicaAssignment fresh = second.replicas().stream().filter(r -> r.version() == 2 && r.role() == Role.BACKUP).findFirst()
                    .orElseThrow();
            assertThat(state.apply(new ControlCommand.ReplicaDiverged(second.group(), second.epoch(), second.primary().node(), fresh.node(),
                    70, fresh.node() + " diverged at entry 70")).changed()).isTrue();
            assertThat(state.upgrades().get(name).state()).as(mode.label()).isEqualTo(State.ROLLING_BACK);
            for (ControllerState step : catchUpAll()) {
                for (GroupConfig g : groupsOf(step, name)) {
                    assertThat(g.replicas().stream().filter(r -> r.state() == ReplicaState.OK).count()).as("two in sync in %s", g)
                            .isGreaterThanOrEqualTo(2);
                    if (g.primary().version() == 2) {
                        assertThat(g.replicas()).as("a new orderer keeps the old member until it hands its role back in %s", g)
                                .anyMatch(r -> r.version() == 1 && r.state() == ReplicaState.OK);
                    }
                }
            }
            assertThat(state.upgrades().get(name).state()).as(mode.label()).isEqualTo(State.ROLLED_BACK);
            assertThat(state.services().get(name).version()).isEqualTo(1);
            assertThat(groupsOf(state, name)).as(mode.label())
                    .allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 1));

            // Without a failure, the bake ends and the old members are replaced.
            assertThat(baking.apply(new UpgradeBaked(name, 3)).reason()).contains("stale bake report");
            assertThat(baking.apply(new UpgradeBaked(name, 2)).changed()).isTrue();
            // In dmr the old members just leave (nothing syncs), so the upgrade may end in the same step.
            assertThat(baking.upgrades().get(name).state()).isIn(State.UPGRADING, State.DONE);
            assertThat(baking.upgrades().get(name).baked()).isTrue();
        }
    }

    @Test
    void aLockstepBakeEndsAndTheUpgradeIsDone() {
        for (Mode mode : List.of(Mode.TMR, Mode.DMR)) {
            String name = "done-" + mode.label();
            state.apply(new Deploy(lockstep(name, 1, V1, mode, 2)));
            state.apply(new Upgrade(lockstep(name, 2, V2, mode, 2), 0, 60_000));
            catchUpAll();
            assertThat(state.upgrades().get(name).state()).as(mode.label()).isEqualTo(State.BAKING);
            BakeTimer timer = new BakeTimer();
            assertThat(timer.tick(0, state)).isEmpty();
            assertThat(timer.tick(59_000_000_000L, state)).as("not before the bake time").isEmpty();
            List<ControlCommand> baked = timer.tick(60_000_000_000L, state);
            assertThat(baked).containsExactly(new UpgradeBaked(name, 2));
            assertThat(state.apply(baked.getFirst()).changed()).isTrue();
            catchUpAll();
            assertThat(state.upgrades().get(name).state()).as(mode.label()).isEqualTo(State.DONE);
            assertThat(groupsOf(state, name)).as(mode.label())
                    .allMatch(g -> g.fullyProtected() && g.replicas().stream().allMatch(r -> r.version() == 2));
        }
    }

    @Test
    void anOrdererMovesOnlyToAMemberProvenBesideTheOldVersion() {
        for (Mode mode : List.of(Mode.DMR, Mode.TMR)) {
            String name = "proof-" + mode.label();
            state.apply(new Deploy(lockstep(name, 1, V1, mode, 1)));
            state.apply(new Upgrade(lockstep(name, 2, V2, mode, 1), 0));
            catchUpWithoutProof();
            GroupConfig group = groupsOf(state, name).getFirst();
            assertThat(group.primary().version()).as("%s: no orderer moves to a member in sync but not proven", mode).isEqualTo(1);
            ReplicaAssignment member = unproven(group);
            assertThat(member).as("%s: a member of version 2 in sync waits for its proof", mode).isNotNull();
            assertThat(group.replicas()).as("%s: the old version keeps a member of its own in sync meanwhile", mode)
                    .anyMatch(r -> r.role() == Role.BACKUP && r.version() == 1 && r.state() == ReplicaState.OK);
            assertThat(state.upgradeWaiting(name)).as("%s: status says what it waits for", mode)
                    .contains(member.node()).contains("agreed with version 1 on 64 client commands");

            // Stale or short proofs change nothing.
            long version = state.version();
            assertThat(state.apply(proof(group, member, ServiceUpgrade.PROVEN_COMMANDS_MIN - 1)).reason()).contains("not 63");
            ReplicaAssignment other = group.replicas().stream().filter(r -> r.role() == Role.BACKUP && r.version() == 1).findFirst()
                    .orElseThrow();
            assertThat(state.apply(new MemberProven(group.group(), group.epoch(), other.node(), member.node(), member.incarnation(),
                    member.sinceEpoch(), 64)).reason()).as("not from the orderer").contains("stale proof");
            assertThat(state.apply(new MemberProven(group.group(), group.epoch(), group.primary().node(), member.node(),
                    member.incarnation(), member.sinceEpoch() - 1, 64)).reason()).as("another instance").contains("stale proof");
            assertThat(state.apply(new MemberProven(group.group(), group.epoch() + 1, group.primary().node(), member.node(),
                    member.incarnation(), member.sinceEpoch(), 64)).reason()).as("a future epoch").contains("stale proof");
            assertThat(state.apply(proof(group, other, 64)).reason()).as("a member of the old version").contains("stale proof");
            assertThat(state.version()).isEqualTo(version);
            assertThat(groupsOf(state, name).getFirst().primary().version()).isEqualTo(1);

            // The orderer's proof of an earlier epoch still counts: the instance is the same.
            assertThat(state.apply(proof(group, member, 100)).changed()).isTrue();
            assertThat(state.upgrades().get(name).proven()).singleElement().matches(p -> p.node().equals(member.node()) && p.commands() == 100);
            assertThat(state.apply(proof(groupsOf(state, name).getFirst(), member, 100)).changed()).as("a repeat").isFalse();
            GroupConfig handingOver = groupsOf(state, name).getFirst();
            assertThat(handingOver.handover()).as("%s: the orderer first hands over", mode).isTrue();
            assertThat(handingOver.primary().version()).isEqualTo(1);
            assertThat(state.apply(new HandedOver(handingOver.group(), handingOver.epoch() - 1, handingOver.primary().node(),
                    handingOver.primary().incarnation(), 10)).reason()).as("a stale hand-over").contains("stale hand-over report");
            handOver(handingOver);
            GroupConfig after = groupsOf(state, name).getFirst();
            assertThat(after.primary().node()).as("%s: the orderer's role moved to the proven member", mode).isEqualTo(member.node());
            assertThat(after.primary().version()).isEqualTo(2);
            catchUpAll();
            assertThat(state.upgrades().get(name).state()).as(mode.label()).isEqualTo(State.DONE);
        }
    }

    @Test
    void aTakeoverDuringAnUpgradePrefersAnOldMemberToAnUnprovenNewOne() {
        ServiceSpec from = lockstep("votes", 1, V1, Mode.TMR, 1);
        ServiceSpec to = lockstep("votes", 2, V2, Mode.TMR, 1);
        GroupId id = new GroupId("votes", 0);
        List<Member> members = List.of(new Member("n1", "h1", "r1", 1, 1, true), new Member("n2", "h2", "r2", 1, 2, true),
                new Member("n3", "h3", "r3", 1, 3, true));
        // The unproven member of version 2 comes before the old one, as the first in-sync backup would be chosen.
        GroupConfig group = new GroupConfig(id, Mode.TMR, 5, List.of(
                new ReplicaAssignment("n1", 1, Role.PRIMARY, ReplicaState.OK, 1, 1),
                new ReplicaAssignment("n2", 1, Role.BACKUP, ReplicaState.OK, 4, 2),
                new ReplicaAssignment("n3", 1, Role.BACKUP, ReplicaState.OK, 1, 1)));
        ServiceUpgrade upgrade = new ServiceUpgrade(from, to, State.UPGRADING, null, 0, List.of(), List.of(), 0);
        ControllerState mixed = new ControllerState("s", 1, null, members, List.of(from), List.of(group), List.of(), List.of(), 1,
                List.of(upgrade));
        assertThat(mixed.copy().apply(new NodeDown("n1", 1, "test")).changed()).isTrue();
        ControllerState unproven = mixed.copy();
        unproven.apply(new NodeDown("n1", 1, "test"));
        assertThat(unproven.groups().get(id).primary().node()).as("the old member takes over, not the unproven new one").isEqualTo("n3");

        // With the old member out of sync, nobody takes over: the orderer recovers when its node returns.
        ControllerState alone = mixed.copy();
        alone.apply(new NodeDown("n3", 1, "test"));
        alone.apply(new NodeDown("n1", 1, "test"));
        assertThat(alone.groups().get(id).primary().node()).as("an unproven member of the new version does not take over").isEqualTo("n1");
        alone.apply(new RegisterNode("n1", "h1", "r1", 2, 11));
        assertThat(alone.groups().get(id).primary()).as("the orderer comes back on its node's new incarnation")
                .matches(p -> p.node().equals("n1") && p.incarnation() == 2 && p.version() == 1);

        ControllerState proven = mixed.copy();
        assertThat(proven.apply(new MemberProven(id, 5, "n1", "n2", 1, 4, 64)).changed()).isTrue();
        proven.apply(new NodeDown("n1", 1, "test"));
        assertThat(proven.groups().get(id).primary().node()).as("a proven member may take over").isEqualTo("n2");
    }

    @Test
    void theLastOldMemberBesideAnOldOrdererIsRebuiltInTheOldVersion() {
        state.apply(new Deploy(lockstep("votes", 1, V1, Mode.TMR, 1)));
        state.apply(new Upgrade(lockstep("votes", 2, V2, Mode.TMR, 1), 0));
        catchUpWithoutProof();
        GroupConfig group = groupsOf(state, "votes").getFirst();
        ReplicaAssignment old = group.replicas().stream().filter(r -> r.role() == Role.BACKUP && r.version() == 1).findFirst()
                .orElseThrow();
        state.apply(new ReplicaCrashed(group.group(), group.epoch(), old.node(), old.incarnation(), old.sinceEpoch(), "boom", null));
        assertThat(groupsOf(state, "votes").getFirst().replicaOn(old.node()).version())
                .as("the old orderer keeps a member of its version: the repair runs version 1").isEqualTo(1);
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.UPGRADING);
        catchUpAll();
        assertThat(state.upgrades().get("votes").state()).isEqualTo(State.DONE);
        assertThat(groupsOf(state, "votes").getFirst().replicas()).allMatch(r -> r.version() == 2);
    }
}
