package io.pairstep.core.control;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.NodeDown;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import io.pairstep.core.control.ControlCommand.ReplicaCaughtUp;
import io.pairstep.core.control.ControlCommand.ReplicaFailed;
import java.util.List;
import org.junit.jupiter.api.Test;

class ControllerStateTest {

    private final ControllerState state = new ControllerState();
    private final GroupId kv0 = new GroupId("kv", 0);

    ControllerStateTest() {
        state.apply(new ControlCommand.Bootstrap("s"));
        for (int i = 1; i <= 3; i++) {
            state.apply(new RegisterNode("n" + i, "h" + i, "r" + i, 1, i));
        }
        state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", "")));
    }

    private GroupConfig kv0() {
        return state.groups().get(kv0);
    }

    @Test
    void aNewGroupStartsWithAPrimaryAndAnInSyncBackupOnTwoNodes() {
        GroupConfig group = kv0();
        assertThat(group.epoch()).isEqualTo(1);
        assertThat(group.replicas()).hasSize(2);
        assertThat(group.primary().node()).isNotEqualTo(group.backup().node());
        assertThat(group.fullyProtected()).isTrue();
    }

    @Test
    void newPrimariesStayOffTheControllerLeadersNode() {
        assertThat(state.apply(new ControlCommand.ControllerLeader("n2")).changed()).isTrue();
        assertThat(state.apply(new ControlCommand.ControllerLeader("n2")).changed()).isFalse();
        state.apply(new Deploy(new ServiceSpec("many", 1, Mode.PAIR, 6, "example:kv", "", "")));
        for (int partition = 0; partition < 6; partition++) {
            assertThat(state.groups().get(new GroupId("many", partition)).primary().node()).isNotEqualTo("n2");
        }
        assertThat(state.controllerLeader()).isEqualTo("n2");
        assertThat(state.copy().controllerLeader()).isEqualTo("n2");
    }

    @Test
    void whenThePrimaryDiesTheBackupTakesOverInANewEpochAndANewBackupSyncs() {
        String primary = kv0().primary().node();
        String backup = kv0().backup().node();
        state.apply(new NodeDown(primary, 1, "test"));
        GroupConfig group = kv0();
        assertThat(group.primary().node()).isEqualTo(backup);
        assertThat(group.epoch()).isGreaterThan(1);
        assertThat(group.backup().state()).isEqualTo(ReplicaState.SYNCING);
        assertThat(group.backup().node()).isNotIn(primary, backup);
    }

    @Test
    void aSyncingBackupIsNeverPromoted() {
        String primary = kv0().primary().node();
        String backup = kv0().backup().node();
        state.apply(new NodeDown(primary, 1, "test"));
        String syncing = kv0().backup().node();
        state.apply(new NodeDown(backup, 1, "test"));
        GroupConfig group = kv0();
        assertThat(group.primary().node()).as("the group waits for the only replica with everything").isEqualTo(backup);
        assertThat(group.replicaOn(syncing).role()).isEqualTo(Role.BACKUP);
    }

    @Test
    void aCaughtUpReportMakesTheBackupInSyncOnlyAtItsEpoch() {
        String primary = kv0().primary().node();
        state.apply(new NodeDown(primary, 1, "test"));
        GroupConfig group = kv0();
        ReplicaAssignment syncing = group.backup();
        assertThat(state.apply(new ReplicaCaughtUp(kv0, group.epoch() - 1, syncing.node(), syncing.incarnation())).accepted()).isFalse();
        assertThat(state.apply(new ReplicaCaughtUp(kv0, group.epoch(), syncing.node(), syncing.incarnation())).accepted()).isTrue();
        assertThat(kv0().backup().state()).isEqualTo(ReplicaState.OK);
        assertThat(kv0().epoch()).isEqualTo(group.epoch() + 1);
    }

    @Test
    void aPrimaryThatRestartsWhileAnInSyncBackupLivesIsReplacedNotRecovered() {
        String primary = kv0().primary().node();
        String backup = kv0().backup().node();
        state.apply(new RegisterNode(primary, "h", "r", 2, 99));
        assertThat(kv0().primary().node()).isEqualTo(backup);
    }

    @Test
    void aPrimaryNobodyCanReplaceKeepsItsRoleInItsNewIncarnation() {
        String primary = kv0().primary().node();
        String backup = kv0().backup().node();
        state.apply(new ReplicaFailed(kv0, kv0().epoch(), primary, backup, "test"));
        // Now a syncing backup only; the primary restarts.
        state.apply(new RegisterNode(primary, "h", "r", 2, 99));
        assertThat(kv0().primary().node()).isEqualTo(primary);
        assertThat(kv0().primary().incarnation()).isEqualTo(2);
    }

    @Test
    void aLateCaughtUpReportForADeadPrimaryLeadsToPromotion() {
        String primary = kv0().primary().node();
        String backup = kv0().backup().node();
        state.apply(new ReplicaFailed(kv0, kv0().epoch(), primary, backup, "test"));
        ReplicaAssignment syncing = kv0().backup();
        long epoch = kv0().epoch();
        state.apply(new NodeDown(primary, 1, "test"));
        assertThat(kv0().primary().node()).isEqualTo(primary);
        state.apply(new ReplicaCaughtUp(kv0, epoch, syncing.node(), syncing.incarnation()));
        assertThat(kv0().primary().node()).isEqualTo(syncing.node());
    }

    @Test
    void badDeploysAreRefusedWithAReason() {
        assertThat(state.apply(new Deploy(new ServiceSpec("kv", 1, Mode.PAIR, 1, "example:kv", "", ""))).reason())
                .contains("already deployed");
        assertThat(state.apply(new Deploy(new ServiceSpec("x", 1, Mode.PAIR, 0, "example:kv", "", ""))).reason())
                .contains("partitions");
        assertThat(state.apply(new Deploy(new ServiceSpec("Bad Name", 1, Mode.PAIR, 1, "example:kv", "", ""))).reason())
                .contains("invalid service name");
        assertThat(state.apply(new Deploy(new ServiceSpec("x", 1, Mode.PAIR, 1, "example:kv", "", "", 16))).reason())
                .isEqualTo("a digest interval applies to dmr and tmr only (their members compare state digests);"
                        + " mode pair has no second member to compare with");
        assertThat(state.apply(new Deploy(new ServiceSpec("x", 1, Mode.TMR, 1, "example:kv", "", "", -1))).reason())
                .isEqualTo("the digest interval must be between 1 and 1000000 commands, was -1");
        assertThat(state.services()).doesNotContainKey("x");
    }

    @Test
    void aLockstepServiceKeepsTheDigestIntervalItWasDeployedWith() {
        assertThat(state.apply(new Deploy(new ServiceSpec("votes", 1, Mode.TMR, 1, "example:kv", "", "", 16))).accepted()).isTrue();
        ServiceSpec votes = state.services().get("votes");
        assertThat(votes.digestEvery()).isEqualTo(16);
        assertThat(votes.upgradedTo(2, "example:bank", "", "").digestEvery()).as("an upgrade keeps it").isEqualTo(16);
        assertThat(state.services().get("kv").digestEvery()).as("the default").isEqualTo(ServiceSpec.DIGEST_EVERY_DEFAULT);
    }

    @Test
    void aStaleFailureReportChangesNothing() {
        GroupConfig before = kv0();
        ControlResult result = state.apply(new ReplicaFailed(kv0, before.epoch() + 5, before.primary().node(), before.backup().node(), "x"));
        assertThat(result.accepted()).isFalse();
        assertThat(kv0()).isEqualTo(before);
    }

    private GroupConfig deployTmr() {
        state.apply(new Deploy(new ServiceSpec("vote", 1, Mode.TMR, 1, "example:kv", "", "")));
        return state.groups().get(new GroupId("vote", 0));
    }

    @Test
    void aTmrGroupStartsWithThreeInSyncMembersOnThreeNodes() {
        GroupConfig group = deployTmr();
        assertThat(group.replicas()).hasSize(3);
        assertThat(group.replicas().stream().map(ReplicaAssignment::node).distinct()).hasSize(3);
        assertThat(group.fullyProtected()).isTrue();
    }

    @Test
    void aDivergentMemberIsRemovedAndAFreshOneSyncsInItsPlace() {
        GroupConfig group = deployTmr();
        ReplicaAssignment divergent = group.replicas().get(2);
        ControlResult result = state.apply(new ControlCommand.ReplicaDiverged(
                group.group(), group.epoch(), group.primary().node(), divergent.node(), 9, "test"));
        assertThat(result.changed()).isTrue();
        GroupConfig after = state.groups().get(group.group());
        assertThat(after.replicas()).hasSize(3);
        ReplicaAssignment fresh = after.replicaOn(divergent.node());
        assertThat(fresh.state()).as("with three nodes the fresh member lands on the same node").isEqualTo(ReplicaState.SYNCING);
        assertThat(fresh.sameInstance(divergent)).isFalse();
    }

    @Test
    void aDivergentOrdererIsReplacedByAnInSyncMember() {
        GroupConfig group = deployTmr();
        String orderer = group.primary().node();
        state.apply(new ControlCommand.ReplicaDiverged(group.group(), group.epoch(), orderer, orderer, 9, "outvoted"));
        GroupConfig after = state.groups().get(group.group());
        assertThat(after.primary().node()).isNotEqualTo(orderer);
        assertThat(after.replicaOn(orderer).state()).isEqualTo(ReplicaState.SYNCING);
    }

    @Test
    void aDivergentOrdererWithOnlyASyncingPartnerHaltsItsGroupInsteadOfWaitingForever() {
        state.apply(new Deploy(new ServiceSpec("pairwise", 1, Mode.DMR, 1, "example:kv", "", "")));
        GroupId id = new GroupId("pairwise", 0);
        String partner = state.groups().get(id).backup().node();
        state.apply(new NodeDown(partner, 1, "test"));
        GroupConfig group = state.groups().get(id);
        assertThat(group.backup().state()).as("a fresh partner syncs from the orderer").isEqualTo(ReplicaState.SYNCING);
        String orderer = group.primary().node();

        assertThat(state.apply(new ControlCommand.ReplicaDiverged(id, group.epoch(), orderer, orderer, 9, "self-check failed")).changed()).isTrue();

        GroupConfig after = state.groups().get(id);
        assertThat(after.halted()).contains("orderer " + orderer).contains("self-check failed");
        assertThat(after.primary().node()).isEqualTo(orderer);
        assertThat(after.epoch()).isEqualTo(group.epoch() + 1);
    }

    @Test
    void aStaleOrForeignDivergenceReportIsRefused() {
        GroupConfig group = deployTmr();
        String backup = group.backup().node();
        assertThat(state.apply(new ControlCommand.ReplicaDiverged(group.group(), group.epoch() + 1, group.primary().node(), backup, 1, ""))
                .accepted()).isFalse();
        assertThat(state.apply(new ControlCommand.ReplicaDiverged(group.group(), group.epoch(), backup, backup, 1, "")).accepted())
                .as("only the orderer reports").isFalse();
        assertThat(state.apply(new ControlCommand.ReplicaDiverged(kv0, kv0().epoch(), kv0().primary().node(), kv0().backup().node(), 1, ""))
                .accepted()).as("a pair has no votes").isFalse();
    }

    @Test
    void aHaltOutlivesAChangeOfOrdererAndNothingIsRebuiltFromTheHaltedStates() {
        GroupConfig group = deployTmr();
        String orderer = group.primary().node();
        state.apply(new ControlCommand.GroupHalted(group.group(), group.epoch(), orderer, 9, "no majority"));
        assertThat(state.groups().get(group.group()).halted()).contains("no majority");
        state.apply(new NodeDown(orderer, 1, "test"));
        GroupConfig after = state.groups().get(group.group());
        assertThat(after.primary().node()).isNotEqualTo(orderer);
        assertThat(after.halted()).contains("no majority");
        assertThat(after.replicas()).as("no fresh member").hasSize(2);
        assertThat(after.fullyProtected()).isFalse();
    }

    private GroupConfig deployDmr() {
        state.apply(new Deploy(new ServiceSpec("pairwise", 1, Mode.DMR, 1, "example:kv", "", "")));
        return state.groups().get(new GroupId("pairwise", 0));
    }

    @Test
    void aDmrDisputeBringsInARefereeOnTheThirdNodeUntilOnePartyLeaves() {
        GroupConfig group = deployDmr();
        String orderer = group.primary().node();
        String other = group.backup().node();
        ControlCommand.RefereeNeeded asked = new ControlCommand.RefereeNeeded(group.group(), group.epoch(), orderer, other, 7, "they differ");
        assertThat(state.apply(asked).changed()).isTrue();
        GroupConfig disputed = state.groups().get(group.group());
        assertThat(disputed.epoch()).isEqualTo(group.epoch() + 1);
        assertThat(disputed.dispute()).isEqualTo(new Dispute(7, orderer, other, "they differ"));
        assertThat(disputed.replicas()).hasSize(3);
        ReplicaAssignment referee = disputed.replicas().get(2);
        assertThat(referee.node()).isNotIn(orderer, other);
        assertThat(referee.state()).isEqualTo(ReplicaState.SYNCING);
        assertThat(disputed.fullyProtected()).isFalse();
        assertThat(state.apply(new ControlCommand.RefereeNeeded(group.group(), disputed.epoch(), orderer, other, 7, "again")).changed())
                .as("one referee at a time").isFalse();

        state.apply(new ReplicaCaughtUp(group.group(), disputed.epoch(), referee.node(), referee.incarnation()));
        GroupConfig judged = state.groups().get(group.group());
        assertThat(judged.replicas()).hasSize(3);
        assertThat(judged.dispute()).as("the referee in sync does not end it").isNotNull();
        state.apply(new ControlCommand.ReplicaDiverged(group.group(), judged.epoch(), orderer, other, 7, "outvoted 2 to 1"));
        GroupConfig settled = state.groups().get(group.group());
        assertThat(settled.dispute()).isNull();
        assertThat(settled.replicas()).extracting(ReplicaAssignment::node).containsExactly(orderer, referee.node());
        assertThat(settled.fullyProtected()).as("the referee is the new partner").isTrue();
    }

    @Test
    void aDmrGroupWhoseOrdererDiesBeforeTheRefereeJudgedHaltsInsteadOfTrustingThePartner() {
        GroupConfig group = deployDmr();
        String orderer = group.primary().node();
        String other = group.backup().node();
        state.apply(new ControlCommand.RefereeNeeded(group.group(), group.epoch(), orderer, other, 7, "they differ"));
        state.apply(new NodeDown(orderer, 1, "test"));
        GroupConfig after = state.groups().get(group.group());
        assertThat(after.halted()).contains("halted at entry 7: they differ", "a member of the dispute left before a referee settled it");
        assertThat(after.dispute()).isNull();
        assertThat(after.primary().node()).isEqualTo(other);
    }

    @Test
    void aDmrMemberLeavesADrainingNodeOnlyAfterItsReplacementIsInSync() {
        GroupConfig group = deployDmr();
        String orderer = group.primary().node();
        String other = group.backup().node();
        String third = List.of("n1", "n2", "n3").stream().filter(n -> !n.equals(orderer) && !n.equals(other)).findFirst().orElseThrow();
        catchUpAll(state);
        state.apply(new ControlCommand.DrainNode(orderer, true));
        // Other groups' moves come first, one at a time, each once the one before has caught up.
        for (int step = 0; step < 20 && state.groups().get(group.group()).replicas().size() == 2
                && state.groups().get(group.group()).replicaOn(orderer) != null; step++) {
            GroupConfig syncing = state.groups().values().stream()
                    .filter(g -> g.replicas().stream().anyMatch(r -> r.state() == ReplicaState.SYNCING)).findFirst().orElseThrow();
            ReplicaAssignment replica = syncing.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().orElseThrow();
            state.apply(new ReplicaCaughtUp(syncing.group(), syncing.epoch(), replica.node(), replica.incarnation()));
        }
        GroupConfig moving = state.groups().get(group.group());
        assertThat(moving.replicas()).as("make before break").hasSize(3);
        assertThat(moving.primary().node()).isEqualTo(orderer);
        ReplicaAssignment joining = moving.replicaOn(third);
        assertThat(joining.state()).isEqualTo(ReplicaState.SYNCING);
        assertThat(moving.fullyProtected()).isFalse();

        state.apply(new ReplicaCaughtUp(group.group(), moving.epoch(), third, joining.incarnation()));
        GroupConfig moved = state.groups().get(group.group());
        assertThat(moved.replicas()).extracting(ReplicaAssignment::node).containsExactlyInAnyOrder(other, third);
        assertThat(moved.primary().node()).as("the orderer's role went to the partner that stays").isEqualTo(other);
        assertThat(moved.fullyProtected()).isTrue();
    }

    @Test
    void aDmrDisputeWaitsForADownNodeToHostItsReferee() {
        GroupConfig group = deployDmr();
        String orderer = group.primary().node();
        String other = group.backup().node();
        String third = List.of("n1", "n2", "n3").stream().filter(n -> !n.equals(orderer) && !n.equals(other)).findFirst().orElseThrow();
        state.apply(new NodeDown(third, 1, "test"));
        GroupConfig before = state.groups().get(group.group());
        assertThat(state.apply(new ControlCommand.RefereeNeeded(group.group(), before.epoch(), orderer, other, 7, "they differ")).changed())
                .isTrue();
        GroupConfig waiting = state.groups().get(group.group());
        assertThat(waiting.halted()).isNull();
        assertThat(waiting.dispute()).isNotNull();
        assertThat(waiting.replicas()).hasSize(2);
        state.apply(new RegisterNode(third, "h", "r", 2, 99));
        assertThat(state.groups().get(group.group()).replicaOn(third)).as("the referee joins on the returning node").isNotNull()
                .satisfies(referee -> assertThat(referee.state()).isEqualTo(ReplicaState.SYNCING));
    }

    @Test
    void aDmrDisputeWithNoOtherNodeForARefereeHaltsTheGroup() {
        GroupConfig group = deployDmr();
        String orderer = group.primary().node();
        String other = group.backup().node();
        String third = List.of("n1", "n2", "n3").stream().filter(n -> !n.equals(orderer) && !n.equals(other)).findFirst().orElseThrow();
        state.apply(new ControlCommand.DrainNode(third, true));
        GroupConfig before = state.groups().get(group.group());
        assertThat(state.apply(new ControlCommand.RefereeNeeded(group.group(), before.epoch(), orderer, other, 7, "they differ")).changed())
                .isTrue();
        GroupConfig after = state.groups().get(group.group());
        assertThat(after.halted()).contains("they differ", "no other node can host a referee");
        assertThat(after.dispute()).isNull();
        assertThat(after.replicas()).hasSize(2);
        assertThat(state.apply(new ControlCommand.RefereeNeeded(kv0, kv0().epoch(), kv0().primary().node(), kv0().backup().node(), 1, ""))
                .accepted()).as("a pair has no referee").isFalse();
    }

    @Test
    void aHaltedGroupResumesFromTheTrustedMemberAloneAndIsRebuiltFromIt() {
        GroupConfig group = deployTmr();
        String orderer = group.primary().node();
        String trusted = group.backup().node();
        assertThat(state.apply(new ControlCommand.ResumeGroup(group.group(), trusted, "test")).reason())
                .isEqualTo("group " + group.group() + " is not halted; only a halted group can be resumed");
        state.apply(new ControlCommand.GroupHalted(group.group(), group.epoch(), orderer, 9, "no majority"));
        GroupConfig halted = state.groups().get(group.group());
        assertThat(state.apply(new ControlCommand.ResumeGroup(group.group(), "n9", "test")).reason())
                .startsWith("node n9 holds no in-sync member of " + group.group() + " on a live node; choose one of ");
        assertThat(state.groups().get(group.group())).as("a refused resume changes nothing").isEqualTo(halted);

        assertThat(state.apply(new ControlCommand.ResumeGroup(group.group(), trusted, "test")).changed()).isTrue();
        GroupConfig resumed = state.groups().get(group.group());
        assertThat(resumed.halted()).isNull();
        assertThat(resumed.primary().node()).isEqualTo(trusted);
        assertThat(resumed.replicas()).as("fresh members, rebuilt from the trusted one").hasSize(3)
                .filteredOn(r -> !r.node().equals(trusted)).allMatch(r -> r.state() == ReplicaState.SYNCING && r.sinceEpoch() > halted.epoch());
        assertThat(resumed.epoch()).isGreaterThan(halted.epoch());
    }

    /** Reports every syncing replica caught up, and every hand-over asked for, as their primaries would, until none is left. */
    static int catchUpAll(ControllerState state) {
        int moves = 0;
        for (boolean again = true; again; ) {
            again = false;
            for (GroupConfig group : state.groups().values()) {
                if (group.handover()) {
                    // As the primary would, once its backup holds every entry.
                    ReplicaAssignment primary = group.primary();
                    assertThat(state.apply(new ControlCommand.HandedOver(group.group(), group.epoch(), primary.node(), primary.incarnation(),
                            0)).changed()).isTrue();
                    moves++;
                    again = true;
                    break;
                }
                for (ReplicaAssignment replica : group.replicas()) {
                    if (replica.state() == ReplicaState.SYNCING) {
                        assertThat(state.apply(new ReplicaCaughtUp(group.group(), group.epoch(), replica.node(), replica.incarnation())).changed())
                                .isTrue();
                        moves++;
                        again = true;
                        break;
                    }
                }
            }
        }
        return moves;
    }

    private static java.util.Map<String, int[]> load(ControllerState state) {
        java.util.Map<String, int[]> load = new java.util.TreeMap<>();
        state.members().keySet().forEach(n -> load.put(n, new int[2]));
        for (GroupConfig group : state.groups().values()) {
            for (ReplicaAssignment replica : group.replicas()) {
                load.get(replica.node())[0]++;
                load.get(replica.node())[1] += replica.role() == Role.PRIMARY ? 1 : 0;
            }
        }
        return load;
    }

    @Test
    void aReturningNodeGetsItsShareOfReplicasAndPrimariesBackOneMoveAtATime() {
        state.apply(new ControlCommand.ControllerLeader("n3"));
        state.apply(new Deploy(new ServiceSpec("many", 1, Mode.PAIR, 6, "example:kv", "", "")));
        state.apply(new NodeDown("n1", 1, "test"));
        catchUpAll(state);
        assertThat(load(state).get("n1")[0]).isZero();

        state.apply(new RegisterNode("n1", "h1", "r1", 2, 11));
        // Only one group at a time is short of a replica in sync.
        long syncing = state.groups().values().stream().filter(g -> !g.fullyProtected()).count();
        assertThat(syncing).isEqualTo(1);
        int moves = catchUpAll(state);

        java.util.Map<String, int[]> load = load(state);
        assertThat(moves).isGreaterThan(1);
        int mostReplicas = load.values().stream().mapToInt(c -> c[0]).max().orElseThrow();
        int fewestReplicas = load.values().stream().mapToInt(c -> c[0]).min().orElseThrow();
        // Greedy, one move at a time: within two of each other (a node's primaries pin their backups elsewhere).
        assertThat(mostReplicas - fewestReplicas).as("replicas per node %s", state).isLessThanOrEqualTo(2);
        assertThat(load.get("n1")[0] - load.get("n1")[1]).as("backups moved to the returning node").isGreaterThan(0);
        assertThat(load.get("n1")[1]).as("primaries moved to the returning node").isGreaterThan(0);
        assertThat(load.get("n3")[1]).as("none on the controller leader's node").isZero();
        assertThat(Math.abs(load.get("n1")[1] - load.get("n2")[1])).isLessThanOrEqualTo(1);
        assertThat(state.allGroupsHealthy()).isTrue();
        long version = state.version();
        assertThat(state.apply(new ControlCommand.ControllerLeader("n3")).changed()).isFalse();
        assertThat(state.version()).as("a balanced system stays still").isEqualTo(version);
    }

    @Test
    void nothingMovesWhileAGroupIsShortOfAReplica() {
        state.apply(new Deploy(new ServiceSpec("many", 1, Mode.PAIR, 6, "example:kv", "", "")));
        state.apply(new NodeDown("n1", 1, "test"));
        // n1's groups get syncing backups; the rest of the system must not move until they are in sync.
        state.apply(new RegisterNode("n1", "h1", "r1", 2, 11));
        for (GroupConfig group : state.groups().values()) {
            assertThat(group.replicaOn("n1")).as("n1 gets nothing before the system is quiet: %s", group).isNull();
        }
    }

    @Test
    void aDrainedNodeGivesAwayItsPrimariesAndBackupsAndCanThenBeRemoved() {
        state.apply(new Deploy(new ServiceSpec("many", 1, Mode.PAIR, 6, "example:kv", "", "")));
        assertThat(load(state).get("n1")[0]).isPositive();

        assertThat(state.apply(new ControlCommand.DrainNode("n1", true)).changed()).isTrue();
        assertThat(state.draining()).containsExactly("n1");
        assertThat(state.apply(new ControlCommand.RemoveNode("n1")).reason()).contains("n1 still hosts replicas").contains("wait");
        catchUpAll(state);

        for (GroupConfig group : state.groups().values()) {
            assertThat(group.replicaOn("n1")).as("%s after the drain", group).isNull();
            assertThat(group.fullyProtected()).isTrue();
        }
        assertThat(state.copy().draining()).containsExactly("n1");
        assertThat(state.apply(new ControlCommand.RemoveNode("n1")).changed()).isTrue();
        assertThat(state.members()).doesNotContainKey("n1");
        assertThat(state.draining()).isEmpty();
        // It may come back later as a fresh node, and then takes its share again.
        state.apply(new RegisterNode("n1", "h1", "r1", 5, 15));
        catchUpAll(state);
        assertThat(load(state).get("n1")[0]).isPositive();
    }

    @Test
    void drainingMovesEveryTmrMemberOrdererIncludedWithTwoInSyncThroughout() {
        state.apply(new RegisterNode("n4", "h4", "r4", 1, 4));
        GroupConfig vote = deployTmr();
        String orderer = vote.primary().node();
        String member = vote.replicas().stream().filter(r -> r.role() == Role.BACKUP).findFirst().orElseThrow().node();
        for (String node : List.of(orderer, member)) {
            state.apply(new ControlCommand.DrainNode(node, true));
            for (boolean again = true; again; ) {
                GroupConfig group = state.groups().get(vote.group());
                assertThat(group.replicas().stream().filter(r -> r.state() == ReplicaState.OK).count())
                        .as("members in sync in %s", group).isGreaterThanOrEqualTo(2);
                assertThat(group.replicas()).as("never more than three members").hasSizeLessThanOrEqualTo(3);
                again = group.replicas().stream().anyMatch(r -> r.state() == ReplicaState.SYNCING);
                group.replicas().stream().filter(r -> r.state() == ReplicaState.SYNCING).findFirst().ifPresent(r ->
                        state.apply(new ReplicaCaughtUp(group.group(), group.epoch(), r.node(), r.incarnation())));
            }
            catchUpAll(state);
            GroupConfig group = state.groups().get(vote.group());
            assertThat(group.replicaOn(node)).as("%s after draining %s", group, node).isNull();
            assertThat(group.primary().node()).isNotEqualTo(node);
            assertThat(group.fullyProtected()).isTrue();
            state.apply(new ControlCommand.DrainNode(node, false));
            catchUpAll(state);
        }
    }

    @Test
    void aDrainedNodeEndsWithNoDmrMemberAndTheGroupInSyncElsewhere() {
        state.apply(new RegisterNode("n4", "h4", "r4", 1, 4));
        state.apply(new Deploy(new ServiceSpec("pairwise", 1, Mode.DMR, 1, "example:kv", "", "")));
        GroupConfig before = state.groups().get(new GroupId("pairwise", 0));
        String drained = before.primary().node();
        state.apply(new ControlCommand.DrainNode(drained, true));
        catchUpAll(state);
        GroupConfig after = state.groups().get(before.group());
        assertThat(after.replicaOn(drained)).isNull();
        assertThat(after.replicaOn(before.backup().node())).as("the partner stays").isNotNull();
        assertThat(after.fullyProtected()).isTrue();
    }

    @Test
    void aDrainingNodeGetsNoNewReplicasAndUndrainingLetsItTakeItsShareAgain() {
        state.apply(new ControlCommand.DrainNode("n2", true));
        catchUpAll(state);
        state.apply(new Deploy(new ServiceSpec("later", 1, Mode.PAIR, 4, "example:kv", "", "")));
        for (GroupConfig group : state.groups().values()) {
            assertThat(group.replicaOn("n2")).isNull();
        }
        state.apply(new ControlCommand.DrainNode("n2", false));
        catchUpAll(state);
        assertThat(load(state).get("n2")[0]).isPositive();
    }

    @Test
    void badDrainsAndRemovalsAreRefusedWithAReason() {
        assertThat(state.apply(new ControlCommand.DrainNode("n9", true)).reason()).contains("unknown node n9");
        assertThat(state.apply(new ControlCommand.RemoveNode("n9")).reason()).contains("unknown node n9");
        assertThat(state.apply(new ControlCommand.RemoveNode("n3")).reason()).contains("n3 is up").contains("drain it first");
        String primary = kv0().primary().node();
        String backup = kv0().backup().node();
        // The backup is lost and then the primary: the primary's node holds the only copy.
        state.apply(new NodeDown(backup, 1, "test"));
        state.apply(new NodeDown(primary, 1, "test"));
        assertThat(state.apply(new ControlCommand.RemoveNode(primary)).reason()).contains("still hosts replicas of kv/0");
        assertThat(state.members()).containsKey(primary);
    }

    private static QuarantinedCommand poison(long sequence, String node, long epoch) {
        return new QuarantinedCommand(7, sequence, "{\"op\":\"spin\"}", 13, node, epoch, "java.lang.StackOverflowError");
    }

    private ControlCommand.ReplicaCrashed crashOf(ReplicaAssignment replica, QuarantinedCommand poison) {
        return new ControlCommand.ReplicaCrashed(kv0, kv0().epoch(), replica.node(), replica.incarnation(), replica.sinceEpoch(), "crash",
                poison);
    }

    @Test
    void aPrimaryThatCrashedOnACommandQuarantinesItAndIsReplacedByItsBackupThenRebuiltOnItsNode() {
        GroupConfig before = kv0();
        ReplicaAssignment primary = before.primary();
        ReplicaAssignment backup = before.backup();
        assertThat(state.apply(crashOf(primary, poison(3, primary.node(), before.epoch()))).changed()).isTrue();
        GroupConfig after = kv0();
        assertThat(after.epoch()).isEqualTo(before.epoch() + 1);
        assertThat(after.primary().node()).as("the backup took over").isEqualTo(backup.node());
        ReplicaAssignment rebuilt = after.replicaOn(primary.node());
        assertThat(rebuilt.role()).isEqualTo(Role.BACKUP);
        assertThat(rebuilt.state()).as("rebuilt from the new primary").isEqualTo(ReplicaState.SYNCING);
        assertThat(rebuilt.sameInstance(primary)).as("a new instance on the same node").isFalse();
        assertThat(after.quarantined(7, 3)).isEqualTo(poison(3, primary.node(), before.epoch()));
        assertThat(after.quarantined(7, 4)).isNull();
        assertThat(state.copy().groups().get(kv0).quarantined()).hasSize(1);
    }

    @Test
    void aCrashReportCountsForItsInstanceWhateverChangedInTheGroupSince() {
        ReplicaAssignment primary = kv0().primary();
        long epochAtCrash = kv0().epoch();
        state.apply(new ControlCommand.ControllerLeader("n3"));
        state.apply(crashOf(kv0().backup(), null));
        assertThat(kv0().epoch()).isGreaterThan(epochAtCrash);
        assertThat(state.apply(new ControlCommand.ReplicaCrashed(kv0, epochAtCrash, primary.node(), primary.incarnation(),
                primary.sinceEpoch(), "crash", poison(4, primary.node(), epochAtCrash))).changed()).isTrue();
        assertThat(kv0().primary().sameInstance(primary)).as("replaced by a new instance").isFalse();
        assertThat(kv0().quarantined(7, 4)).isNotNull();
    }

    @Test
    void aCrashedBackupIsRebuiltOnItsNodeAndNothingIsQuarantined() {
        ReplicaAssignment primary = kv0().primary();
        ReplicaAssignment backup = kv0().backup();
        assertThat(state.apply(crashOf(backup, null)).changed()).isTrue();
        assertThat(kv0().primary().sameInstance(primary)).isTrue();
        assertThat(kv0().replicaOn(backup.node()).state()).isEqualTo(ReplicaState.SYNCING);
        assertThat(kv0().quarantined()).isEmpty();
    }

    @Test
    void aCrashedPrimaryWithNoInSyncBackupRecoversAsANewPrimaryInstanceOnItsNode() {
        ReplicaAssignment primary = kv0().primary();
        state.apply(crashOf(kv0().backup(), null));
        assertThat(state.apply(crashOf(primary, poison(1, primary.node(), kv0().epoch()))).changed()).isTrue();
        ReplicaAssignment again = kv0().primary();
        assertThat(again.node()).isEqualTo(primary.node());
        assertThat(again.state()).isEqualTo(ReplicaState.OK);
        assertThat(again.sameInstance(primary)).as("a new instance, which recovers from the node's log").isFalse();
        assertThat(kv0().quarantined(7, 1)).isNotNull();
    }

    @Test
    void aStaleCrashReportChangesNothingAndTheQuarantineIsBounded() {
        ReplicaAssignment primary = kv0().primary();
        GroupConfig before = kv0();
        assertThat(state.apply(new ControlCommand.ReplicaCrashed(kv0, kv0().epoch(), primary.node(), primary.incarnation(),
                primary.sinceEpoch() + 5, "crash", null)).accepted()).as("an instance that is not in the group").isFalse();
        assertThat(kv0()).isEqualTo(before);
        // A replaced instance's poison is still poison: quarantined, and nothing else changes.
        assertThat(state.apply(new ControlCommand.ReplicaCrashed(kv0, kv0().epoch() - 1, primary.node(), primary.incarnation(),
                primary.sinceEpoch() + 5, "crash", poison(99, primary.node(), 1))).changed()).isTrue();
        assertThat(kv0().replicas()).isEqualTo(before.replicas());
        assertThat(kv0().quarantined(7, 99)).isNotNull();
        for (int i = 1; i <= GroupConfig.QUARANTINED_MAX + 3; i++) {
            ReplicaAssignment current = kv0().primary();
            assertThat(state.apply(crashOf(current, poison(i, current.node(), kv0().epoch()))).accepted()).isTrue();
            state.apply(new ReplicaCaughtUp(kv0, kv0().epoch(), kv0().backup().node(), kv0().backup().incarnation()));
        }
        assertThat(kv0().quarantined()).hasSize(GroupConfig.QUARANTINED_MAX);
        assertThat(kv0().quarantined(7, 99)).as("the oldest is forgotten first").isNull();
        assertThat(kv0().quarantined(7, GroupConfig.QUARANTINED_MAX + 3)).isNotNull();
    }
}
