package io.pairstep.core.lockstep;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.api.Context;
import io.pairstep.api.Service;
import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.Dispute;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.QuarantinedCommand;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.control.ServiceUpgrade;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.Reply;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Scenarios of the lockstep protocol, each a sentence of its contract: a small group on a perfect
 * network and disk, stepped by hand, with one fault injected.
 */
class LockstepCoreTest {

    private static final GroupId GROUP = new GroupId("counter", 0);
    private static final long MS = 1_000_000L;

    /** A command that crashes the member that runs it (StackOverflowError), after changing its state. */
    private static final long POISON = -13;

    /** Adds each command's number to a running total and returns the total. */
    private static class Counter implements Service {
        long total;
        /** A command this instance answers wrongly (its total plus 1000), as a service reading the clock would; 0 for none. */
        long answerWronglyTo;

        @Override
        public byte[] apply(byte[] command, Context context) {
            long add = Long.parseLong(new String(command, StandardCharsets.UTF_8));
            total += add;
            if (add == POISON) {
                throw new StackOverflowError();
            }
            return ByteBuffer.allocate(Long.BYTES).putLong(add == answerWronglyTo && add != 0 ? total + 1000 : total).array();
        }

        @Override
        public byte[] snapshot() {
            return ByteBuffer.allocate(Long.BYTES).putLong(total).array();
        }

        @Override
        public void restore(byte[] snapshot) {
            total = snapshot.length == 0 ? 0 : ByteBuffer.wrap(snapshot).getLong();
        }

        @Override
        public String describe(byte[] command) {
            return "add " + new String(command, StandardCharsets.UTF_8);
        }
    }

    /** Version 2 of {@link Counter}: the same answers, its state stored as text (and version 1's still read). */
    private static class CounterV2 extends Counter {
        @Override
        public byte[] snapshot() {
            return ("counter/2 " + total).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public void restore(byte[] snapshot) {
            String text = new String(snapshot, StandardCharsets.UTF_8);
            total = text.startsWith("counter/2 ") ? Long.parseLong(text.substring(10)) : snapshot.length == 0 ? 0 : ByteBuffer.wrap(snapshot).getLong();
        }
    }

    /** Members on n1 (the orderer), n2 and n3, with everything they send queued until delivered. */
    private final class Group {
        final Map<String, LockstepCore> members = new TreeMap<>();
        /** The service instance of each member the group started with. */
        final Map<String, Counter> services = new TreeMap<>();
        final Map<Long, Reply> replies = new HashMap<>();
        final List<ControlCommand> proposals = new ArrayList<>();
        final List<String> dumps = new ArrayList<>();
        final ArrayDeque<Runnable> pending = new ArrayDeque<>();
        long now;
        GroupConfig config;
        Predicate<LockstepMessage> delivered = message -> true;
        final LockstepCore.Settings settings;

        Group(Mode mode) {
            this(mode, new long[] {1, 1, 1});
        }

        /** A group whose member on n(i+1) runs version {@code versions[i]}: {@link CounterV2} from version 2 on. */
        Group(Mode mode, long[] versions) {
            List<ReplicaAssignment> replicas = new ArrayList<>();
            for (int i = 1; i <= mode.replicaCount(); i++) {
                replicas.add(new ReplicaAssignment("n" + i, 1, i == 1 ? Role.PRIMARY : Role.BACKUP, ReplicaState.OK, 1, versions[i - 1]));
            }
            config = new GroupConfig(GROUP, mode, 1, replicas);
            LockstepCore.Settings defaults = LockstepCore.Settings.defaults();
            settings = new LockstepCore.Settings(defaults.heartbeatIntervalNanos(), defaults.suspectTimeoutNanos(),
                    defaults.retransmitNanos(), defaults.memberTimeoutNanos(), 50 * MS, 64, 1000, 1000, 1024, 4, 1024, 8);
            for (ReplicaAssignment replica : replicas) {
                Counter service = replica.version() == 1 ? new Counter() : new CounterV2();
                services.put(replica.node(), service);
                members.put(replica.node(), new LockstepCore(GROUP, replica, service, settings, output(replica.node())));
            }
            members.values().forEach(member -> member.configure(config, now));
            settle();
        }

        LockstepOutput output(String node) {
            return new LockstepOutput() {
                @Override
                public void persist(LogEntry entry) {
                    pending.add(() -> members.get(node).persisted(entry.index()));
                }

                @Override
                public void installSnapshot(long index, byte[] state) {
                    pending.add(() -> members.get(node).snapshotInstalled(index));
                }

                @Override
                public void saveSnapshot(long index, byte[] state) {}

                @Override
                public void send(String to, LockstepMessage message) {
                    pending.add(() -> {
                        if (members.containsKey(to) && delivered.test(message)) {
                            members.get(to).onMessage(node, message, now);
                        }
                    });
                }

                @Override
                public void reply(long requestId, Reply reply) {
                    replies.put(requestId, reply);
                }

                @Override
                public void control(ControlCommand command) {
                    proposals.add(command);
                }

                @Override
                public void suspect(String suspect, boolean connectionClosed, String reason) {}

                @Override
                public void dump(String reason, long index, byte[] state, List<LogEntry> lastEntries) {
                    dumps.add(node + ": " + reason);
                }
            };
        }

        /** Sends what the members batched, then delivers every message and storage completion until nothing is left. */
        void settle() {
            settle(message -> true);
        }

        /** The same, losing the messages {@code delivered} refuses. */
        void settle(Predicate<LockstepMessage> delivered) {
            this.delivered = delivered;
            members.values().forEach(member -> member.flush(now));
            while (!pending.isEmpty()) {
                pending.poll().run();
                members.values().forEach(member -> member.flush(now));
                members.values().forEach(LockstepCore::checkInvariants);
            }
        }

        Reply call(long requestId, long add) {
            members.get("n1").onClientCommand(new ClientCommand(requestId, 7, requestId, Long.toString(add).getBytes(StandardCharsets.UTF_8)), 0);
            settle();
            return replies.get(requestId);
        }

        void idle(long nanos) {
            for (long end = now + nanos; now < end; now += 5 * MS) {
                members.values().forEach(member -> member.tick(now));
                settle();
            }
        }

        /** Plays the controller's answer to the last {@link ControlCommand.RefereeNeeded}: see below. */
        void addReferee(String node) {
            addReferee(node, new Counter());
        }

        /**
         * Plays the controller's answer to the last {@link ControlCommand.RefereeNeeded}: a syncing
         * member on {@code node} joins with the dispute, is rebuilt by the orderer, and is marked in
         * sync once the orderer reports it caught up. {@code service} is the referee's instance.
         */
        void addReferee(String node, Counter service) {
            ControlCommand.RefereeNeeded asked = (ControlCommand.RefereeNeeded) proposals.get(proposals.size() - 1);
            proposals.clear();
            ReplicaAssignment referee = new ReplicaAssignment(node, 1, Role.BACKUP, ReplicaState.SYNCING, config.epoch() + 1);
            List<ReplicaAssignment> replicas = new ArrayList<>(config.replicas());
            replicas.add(referee);
            config = new GroupConfig(GROUP, config.mode(), config.epoch() + 1, replicas, null, List.of(),
                    new Dispute(asked.index(), asked.reporter(), asked.other(), asked.evidence()));
            members.put(node, new LockstepCore(GROUP, referee, service, settings, output(node)));
            members.values().forEach(m -> m.configure(config, now));
            settle();
            idle(50 * MS);
            ControlCommand.ReplicaCaughtUp caughtUp = proposals.stream().filter(ControlCommand.ReplicaCaughtUp.class::isInstance)
                    .map(ControlCommand.ReplicaCaughtUp.class::cast).findFirst().orElseThrow(() -> new AssertionError(
                            "the referee never caught up; proposals: " + proposals));
            assertThat(caughtUp.node()).isEqualTo(node);
            // The orderer counts the referee's votes as soon as it caught up, so it may already have
            // judged; a real controller refuses those reports for their old epoch, and the orderer
            // sends them again in the next one.
            proposals.removeIf(command -> !(command instanceof ControlCommand.ReplicaDiverged) && !(command instanceof ControlCommand.GroupHalted));
            replicas = config.replicas().stream()
                    .map(r -> r.node().equals(node) ? new ReplicaAssignment(node, 1, Role.BACKUP, ReplicaState.OK, r.sinceEpoch()) : r)
                    .toList();
            config = new GroupConfig(GROUP, config.mode(), config.epoch() + 1, replicas, null, List.of(), config.dispute());
            members.values().forEach(m -> m.configure(config, now));
            settle();
        }

        /**
         * The controller's answer to a crash report: the crashed member comes back as a fresh
         * syncing instance on its node, and the command it names, if any, is quarantined.
         */
        void rebuildCrashed(ControlCommand.ReplicaCrashed crashed) {
            List<QuarantinedCommand> quarantined = new ArrayList<>(config.quarantined());
            if (crashed.poison() != null && config.quarantined(crashed.poison().session(), crashed.poison().sequence()) == null) {
                quarantined.add(crashed.poison());
            }
            long epoch = config.epoch() + 1;
            List<ReplicaAssignment> replicas = new ArrayList<>();
            for (ReplicaAssignment replica : config.replicas()) {
                if (replica.node().equals(crashed.node())) {
                    replica = new ReplicaAssignment(replica.node(), 1, Role.BACKUP, ReplicaState.SYNCING, epoch);
                    members.put(replica.node(), new LockstepCore(GROUP, replica, new Counter(), settings, output(replica.node())));
                }
                replicas.add(replica);
            }
            apply(new GroupConfig(GROUP, config.mode(), epoch, replicas, config.halted(), quarantined));
            // Heartbeats carry what the orderer still wants from the rebuilt member.
            idle(50 * MS);
        }

        /** The controller marks the members that reported they caught up as in sync. */
        void markCaughtUp() {
            List<String> caughtUp = proposals.stream().filter(ControlCommand.ReplicaCaughtUp.class::isInstance)
                    .map(command -> ((ControlCommand.ReplicaCaughtUp) command).node()).toList();
            List<ReplicaAssignment> replicas = config.replicas().stream()
                    .map(r -> caughtUp.contains(r.node()) ? new ReplicaAssignment(r.node(), r.incarnation(), r.role(), ReplicaState.OK,
                            r.sinceEpoch()) : r)
                    .toList();
            apply(new GroupConfig(GROUP, config.mode(), config.epoch() + 1, replicas, config.halted(), config.quarantined()));
        }

        /** The controller replaces the orderer that stepped down by the in-sync member on {@code node}. */
        void promote(String node) {
            List<ReplicaAssignment> replicas = config.replicas().stream()
                    .filter(r -> r.role() != Role.PRIMARY)
                    .map(r -> r.node().equals(node) ? new ReplicaAssignment(r.node(), r.incarnation(), Role.PRIMARY, ReplicaState.OK,
                            r.sinceEpoch()) : r)
                    .toList();
            apply(new GroupConfig(GROUP, config.mode(), config.epoch() + 1, replicas, config.halted(), config.quarantined()));
        }

        void apply(GroupConfig next) {
            config = next;
            members.values().forEach(member -> member.configure(config, now));
            settle();
        }

        /** The controller's next configuration: the given members, n1 still ordering. */
        void reconfigure(String... nodes) {
            List<ReplicaAssignment> replicas = config.replicas().stream().filter(r -> List.of(nodes).contains(r.node())).toList();
            config = new GroupConfig(GROUP, config.mode(), config.epoch() + 1, replicas);
            members.values().forEach(member -> member.configure(config, now));
            settle();
        }
    }

    private static long total(Reply reply) {
        assertThat(reply).isInstanceOf(Reply.Ok.class);
        return ByteBuffer.wrap(((Reply.Ok) reply).body()).getLong();
    }

    @Test
    void aResultLeavesATmrGroupOnlyOnceEveryMemberExecutedIt() {
        Group group = new Group(Mode.TMR);
        assertThat(total(group.call(1, 5))).isEqualTo(5);
        assertThat(total(group.call(2, 3))).isEqualTo(8);
        assertThat(group.members.values()).allMatch(member -> member.lastIndex() == 2 && member.durableIndex() == 2);
        assertThat(group.proposals).isEmpty();
    }

    @Test
    void inTmrTheMajorityResultIsReleasedAndTheOutvotedMemberReportedAndDumped() {
        Group group = new Group(Mode.TMR);
        group.call(1, 5);
        group.members.get("n3").injectOutputDivergence();
        assertThat(total(group.call(2, 3))).as("n1 and n2 agree on 8").isEqualTo(8);
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class, diverged -> {
            assertThat(diverged.node()).isEqualTo("n3");
            assertThat(diverged.index()).isEqualTo(2);
            assertThat(diverged.evidence()).as("names the service and what the command asked")
                    .startsWith("n3 diverged at entry 2 (service counter, add 3): outvoted 2 to 1");
        });
        group.reconfigure("n1", "n2");
        assertThat(group.dumps).singleElement().asString().startsWith("n3: n3 diverged at entry 2");
        assertThat(total(group.call(3, 1))).as("the group goes on as DMR").isEqualTo(9);
    }

    @Test
    void anOutvotedTmrOrdererReleasesNothingAndAsksToBeReplaced() {
        Group group = new Group(Mode.TMR);
        group.members.get("n1").injectOutputDivergence();
        assertThat(group.call(1, 5)).isNull();
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class,
                diverged -> assertThat(diverged.node()).isEqualTo("n1"));
        assertThat(group.members.get("n1").steppedDown()).isTrue();
    }

    @Test
    void inDmrTheMemberWhoseSelfCheckFailedIsTheFaultyOne() {
        Group group = new Group(Mode.DMR);
        group.members.get("n2").injectSelfCheckFailure();
        assertThat(total(group.call(1, 5))).isEqualTo(5);
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class,
                diverged -> assertThat(diverged.node()).isEqualTo("n2"));
    }

    @Test
    void aDmrDisagreementWithoutEvidenceReleasesNothingAndAsksForAReferee() {
        Group group = new Group(Mode.DMR);
        group.members.get("n2").injectOutputDivergence();
        assertThat(group.call(1, 5)).as("no result leaves without agreement").isNull();
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.RefereeNeeded.class, referee -> {
            assertThat(referee.other()).isEqualTo("n2");
            assertThat(referee.index()).isEqualTo(1);
            assertThat(referee.evidence()).startsWith("entry 1 (service counter, add 5): the two members disagree");
        });
        group.idle(200 * MS);
        assertThat(group.proposals).as("asked once per epoch").hasSize(1);
        assertThat(group.replies).isEmpty();
    }

    @Test
    void aDmrRefereeRebuiltFromTheAgreedStateOutvotesTheDivergentPartner() {
        Group group = new Group(Mode.DMR);
        group.call(1, 5);
        group.members.get("n2").injectOutputDivergence();
        assertThat(group.call(2, 3)).isNull();
        group.addReferee("n3");
        assertThat(total(group.replies.get(2L))).as("n1 and the referee agree on 8").isEqualTo(8);
        assertThat(group.proposals).isNotEmpty().allSatisfy(proposal -> assertThat(proposal).isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class, diverged -> {
            assertThat(diverged.node()).isEqualTo("n2");
            assertThat(diverged.index()).isEqualTo(2);
            assertThat(diverged.evidence()).startsWith("n2 diverged at entry 2 (service counter, add 3): outvoted 2 to 1");
        }));
        group.reconfigure("n1", "n3");
        assertThat(total(group.call(3, 1))).as("the referee is the new partner").isEqualTo(9);
        assertThat(group.members.get("n3").lastIndex()).isEqualTo(3);
    }

    @Test
    void aDmrOrdererTheRefereeDisagreesWithStepsDownWithoutReleasing() {
        Group group = new Group(Mode.DMR);
        group.call(1, 5);
        group.members.get("n1").injectOutputDivergence();
        assertThat(group.call(2, 3)).isNull();
        group.addReferee("n3");
        assertThat(group.replies.get(2L)).as("the orderer's own result never leaves").isNull();
        assertThat(group.proposals).isNotEmpty().allSatisfy(proposal -> assertThat(proposal).isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class, diverged -> {
            assertThat(diverged.node()).isEqualTo("n1");
            assertThat(diverged.evidence()).contains("the orderer was outvoted 2 to 1");
        }));
        assertThat(group.members.get("n1").steppedDown()).isTrue();
    }

    @Test
    void aDmrRefereeThatAgreesWithNeitherHaltsTheGroupInsteadOfGuessing() {
        Group group = new Group(Mode.DMR);
        group.call(1, 5);
        group.members.get("n2").injectOutputDivergence();
        assertThat(group.call(2, 3)).isNull();
        // A service that reads the wall clock answers differently everywhere: the referee too.
        Counter wrong = new Counter();
        wrong.answerWronglyTo = 3;
        group.addReferee("n3", wrong);
        assertThat(group.replies.get(2L)).isNull();
        assertThat(group.proposals).first().isInstanceOfSatisfying(ControlCommand.GroupHalted.class,
                halted -> assertThat(halted.evidence()).startsWith("entry 2 (service counter, add 3): no majority among 3 members"));
        group.config = new GroupConfig(GROUP, Mode.DMR, group.config.epoch() + 1, group.config.replicas(),
                ((ControlCommand.GroupHalted) group.proposals.get(0)).evidence(), List.of(), group.config.dispute());
        group.members.values().forEach(member -> member.configure(group.config, group.now));
        group.settle();
        assertThat(group.call(3, 1)).isInstanceOfSatisfying(Reply.Rejected.class,
                rejected -> assertThat(rejected.code()).isEqualTo(Reply.GROUP_HALTED));

        // An operator trusts n1: it alone stays and releases what it held; the others leave with a dump.
        group.config = new GroupConfig(GROUP, Mode.DMR, group.config.epoch() + 1,
                List.of(new ReplicaAssignment("n1", 1, Role.PRIMARY, ReplicaState.OK, 1)), null, List.of());
        group.members.values().forEach(member -> member.configure(group.config, group.now));
        group.settle();
        assertThat(total(group.replies.get(2L))).as("n1's result of the held entry").isEqualTo(8);
        assertThat(group.dumps).hasSize(2).allMatch(dump -> dump.contains("left halted group " + GROUP + " when it was resumed from n1"));
        assertThat(total(group.call(4, 1))).isEqualTo(9);
    }

    @Test
    void aCorruptionNoOutputShowsIsCaughtByTheStateDigest() {
        Group group = new Group(Mode.TMR);
        group.call(1, 5);
        assertThat(group.members.get("n2").injectStateCorruption(42)).isTrue();
        // The output of the next command differs too, unless the flipped bit is one the addition
        // carries away; the state digest at the fourth entry or the idle check catches it anyway.
        for (long request = 2; request <= 4; request++) {
            group.call(request, 0);
        }
        group.idle(200 * MS);
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class,
                diverged -> assertThat(diverged.node()).isEqualTo("n2"));
    }

    @Test
    void aRetryAfterTheResultWasReleasedGetsTheSameResultWithoutRunningTwice() {
        Group group = new Group(Mode.DMR);
        group.call(1, 5);
        group.members.get("n1").onClientCommand(new ClientCommand(99, 7, 1, "5".getBytes(StandardCharsets.UTF_8)), 0);
        group.settle();
        assertThat(total(group.replies.get(99L))).isEqualTo(5);
        assertThat(group.members.get("n1").lastIndex()).isEqualTo(1);
    }

    @Test
    void anOutvotedMemberPromotedBeforeItsRemovalStepsDownAtOnce() {
        Group group = new Group(Mode.TMR);
        group.members.get("n3").injectOutputDivergence();
        group.call(1, 5);
        promoteN3AfterLosingN1(group);
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class, diverged -> {
            assertThat(diverged.reporter()).isEqualTo("n3");
            assertThat(diverged.node()).isEqualTo("n3");
        });
    }

    /** The orderer dies before the controller applied its report, and the controller promotes n3. */
    private static void promoteN3AfterLosingN1(Group group) {
        group.members.remove("n1");
        List<ReplicaAssignment> replicas = List.of(
                new ReplicaAssignment("n2", 1, Role.BACKUP, ReplicaState.OK, 1),
                new ReplicaAssignment("n3", 1, Role.PRIMARY, ReplicaState.OK, 1));
        group.config = new GroupConfig(GROUP, Mode.TMR, group.config.epoch() + 1, replicas);
        group.proposals.clear();
        group.members.values().forEach(member -> member.configure(group.config, group.now));
    }

    @Test
    void anOutvotedMemberPromotedWithoutKnowingItAsksTheOthersAgainAndNeverReleasesItsOwnResult() {
        Group group = new Group(Mode.TMR);
        group.members.get("n3").injectOutputDivergence();
        // The notice to n3 is lost.
        group.members.get("n1").onClientCommand(new ClientCommand(1, 7, 1, "5".getBytes(StandardCharsets.UTF_8)), 0);
        group.settle(message -> !(message instanceof LockstepMessage.Diverged));
        assertThat(total(group.replies.get(1L))).isEqualTo(5);
        promoteN3AfterLosingN1(group);
        group.members.get("n3").onClientCommand(new ClientCommand(50, 7, 1, "5".getBytes(StandardCharsets.UTF_8)), 0);
        group.idle(50 * MS);
        assertThat(group.replies.get(50L)).as("n3 was never told it agreed on entry 1: it asks n2 again").isNull();
        assertThat(group.proposals).singleElement().isInstanceOf(ControlCommand.GroupHalted.class);
    }

    @Test
    void anOrdererWhoseServiceCrashesReportsThePoisonIsDumpedAndNoOtherMemberRunsIt() {
        Group group = new Group(Mode.TMR);
        group.call(1, 5);
        assertThat(group.call(2, POISON)).as("its client asks again elsewhere").isEqualTo(new Reply.NotPrimary(1, ""));
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.ReplicaCrashed.class, crashed -> {
            assertThat(crashed.node()).isEqualTo("n1");
            assertThat(crashed.poison().session()).isEqualTo(7);
            assertThat(crashed.poison().sequence()).isEqualTo(2);
            assertThat(crashed.poison().payload()).isEqualTo(Long.toString(POISON));
            assertThat(crashed.reason()).contains("StackOverflowError");
        });
        assertThat(group.dumps).singleElement().asString().startsWith("n1: member crashed: java.lang.StackOverflowError");
        assertThat(group.members.get("n1").crashed()).isNotNull();
        assertThat(group.members.get("n2").lastIndex()).as("never sent to the others").isEqualTo(1);
        assertThat(group.members.get("n3").lastIndex()).isEqualTo(1);
    }

    @Test
    void aQuarantinedCommandIsRefusedAsPoisonAndTheGroupGoesOn() {
        Group group = new Group(Mode.TMR);
        group.call(1, 5);
        group.config = new GroupConfig(GROUP, Mode.TMR, group.config.epoch() + 1, group.config.replicas(), null,
                List.of(new QuarantinedCommand(7, 2, Long.toString(POISON), 3, "n4", 1, "java.lang.StackOverflowError")));
        group.members.values().forEach(member -> member.configure(group.config, group.now));
        group.settle();
        assertThat(group.call(2, POISON)).isInstanceOfSatisfying(Reply.Rejected.class, rejected -> {
            assertThat(rejected.code()).isEqualTo(Reply.POISON);
            assertThat(rejected.message()).contains("n4");
        });
        assertThat(total(group.call(3, 1))).as("never run: 5 + 1").isEqualTo(6);
        assertThat(group.proposals).isEmpty();
    }

    private static ClientCommand command(long requestId, long sequence, long add) {
        return new ClientCommand(requestId, 7, sequence, Long.toString(add).getBytes(StandardCharsets.UTF_8));
    }

    private static ControlCommand.ReplicaCrashed crashOf(Group group, String node) {
        return group.proposals.stream().filter(ControlCommand.ReplicaCrashed.class::isInstance).map(ControlCommand.ReplicaCrashed.class::cast)
                .filter(crashed -> crashed.node().equals(node)).findFirst().orElseThrow();
    }

    @Test
    void aMemberThatCrashesOnAnEntryItsOrdererFailedTheSelfCheckOnReportsTheCommandAsPoison() {
        Group group = new Group(Mode.DMR);
        group.call(1, 5);
        // The orderer's self-check fault stands in for running the command: the poison gets into the log.
        group.members.get("n1").injectSelfCheckFailure();
        assertThat(group.call(2, POISON)).as("nobody ran it to the end: nothing to release").isNull();
        ControlCommand.ReplicaCrashed crashed = crashOf(group, "n2");
        assertThat(crashed.poison()).as("no member ran it but n2, and it crashed n2: the command is poison").isNotNull();
        assertThat(crashed.poison().session()).isEqualTo(7);
        assertThat(crashed.poison().sequence()).isEqualTo(2);
        assertThat(crashed.poison().node()).isEqualTo("n2");
        assertThat(crashed.reason()).contains("StackOverflowError").contains("at entry 2");
    }

    @Test
    void aMemberThatCrashesOnAnEntryItsOrdererRanFineReportsNoPoison() {
        Group group = new Group(Mode.TMR);
        group.call(1, 5);
        // Only n3 crashes on this command (as on a fault of its own node): the orderer ran it fine.
        group.members.put("n3", new LockstepCore(GROUP, group.config.replicaOn("n3"), new Counter() {
            @Override
            public byte[] apply(byte[] command, Context context) {
                if (context.index() == 2) {
                    throw new OutOfMemoryError("n3 only");
                }
                return super.apply(command, context);
            }
        }, group.settings, group.output("n3")));
        group.members.get("n3").recover(null, List.of(new LogEntry(1, 1, 0, 7, 1, "5".getBytes(StandardCharsets.UTF_8))));
        group.members.get("n3").configure(group.config, group.now);
        group.members.get("n1").onClientCommand(command(2, 2, 3), 0);
        group.settle();
        assertThat(crashOf(group, "n3").poison()).as("the fault is n3's, not the command's").isNull();
        group.reconfigure("n1", "n2");
        assertThat(total(group.replies.get(2L))).as("n1 and n2 agree once n3 is gone").isEqualTo(8);
    }

    @Test
    void aPoisonCommandPastTheOrdererIsQuarantinedSkippedByTheRebuiltMemberAndRefused() {
        Group group = new Group(Mode.DMR);
        group.call(1, 5);
        group.members.get("n1").injectSelfCheckFailure();
        group.members.get("n1").onClientCommand(command(2, 2, POISON), 0);
        group.settle();
        group.rebuildCrashed(crashOf(group, "n2"));
        LockstepCore rebuilt = group.members.get("n2");
        assertThat(rebuilt.crashed()).as("the rebuilt member skips the quarantined entry instead of crashing on it again").isNull();
        assertThat(rebuilt.lastIndex()).isEqualTo(2);
        assertThat(group.proposals).as("n2 is not in sync for the controller yet: were n1 to step down now, the controller could"
                + " find nobody to promote and halt the group").noneMatch(ControlCommand.ReplicaDiverged.class::isInstance);
        group.markCaughtUp();
        assertThat(group.proposals).last().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class, diverged -> {
            assertThat(diverged.node()).as("the orderer whose self-check failed is the faulty one").isEqualTo("n1");
            assertThat(diverged.reporter()).isEqualTo("n1");
        });
        assertThat(group.replies).doesNotContainKey(2L);
        group.promote("n2");
        group.members.remove("n1");
        // The client asks again, now at n2.
        group.members.get("n2").onClientCommand(command(3, 2, POISON), 0);
        group.settle();
        assertThat(group.replies.get(3L)).isInstanceOfSatisfying(Reply.Rejected.class, rejected -> {
            assertThat(rejected.code()).isEqualTo(Reply.POISON);
            assertThat(rejected.message()).contains("n2");
        });
        group.members.get("n2").onClientCommand(command(4, 3, 1), 0);
        group.settle();
        assertThat(total(group.replies.get(4L))).as("the poison never ran: 5 + 1").isEqualTo(6);
    }

    @Test
    void everyMemberRebuiltThroughAQuarantinedEntryEndsInTheSameState() {
        Group group = new Group(Mode.TMR);
        group.call(1, 5);
        group.members.get("n1").injectSelfCheckFailure();
        group.members.get("n1").onClientCommand(command(2, 2, POISON), 0);
        group.settle();
        ControlCommand.ReplicaCrashed second = crashOf(group, "n3");
        group.rebuildCrashed(crashOf(group, "n2"));
        group.rebuildCrashed(second);
        assertThat(group.members.get("n2").crashed()).isNull();
        assertThat(group.members.get("n3").crashed()).isNull();
        assertThat(group.members.get("n2").encodeState()).as("both skipped it alike").isEqualTo(group.members.get("n3").encodeState());
        assertThat(group.proposals).as("nobody the controller could promote yet").noneMatch(ControlCommand.ReplicaDiverged.class::isInstance);
        group.markCaughtUp();
        assertThat(group.proposals).last().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class,
                diverged -> assertThat(diverged.node()).isEqualTo("n1"));
    }

    @Test
    void anOrdererRecoveringFromALogThatHoldsAPoisonCommandReportsItThenSkipsItOnceQuarantined() {
        // Its log holds a poison command its self-check failed on as orderer; nobody else holds it.
        List<LogEntry> log = List.of(new LogEntry(1, 1, 0, 7, 1, "5".getBytes(StandardCharsets.UTF_8)),
                new LogEntry(2, 1, 0, 7, 2, Long.toString(POISON).getBytes(StandardCharsets.UTF_8)));
        Group group = new Group(Mode.DMR);
        group.members.clear();
        ReplicaAssignment alone = new ReplicaAssignment("n1", 1, Role.PRIMARY, ReplicaState.OK, 3);
        LockstepCore first = new LockstepCore(GROUP, alone, new Counter(), group.settings, group.output("n1"));
        group.members.put("n1", first);
        first.recover(null, log, List.of());
        first.configure(new GroupConfig(GROUP, Mode.DMR, 3, List.of(alone)), 0);
        ControlCommand.ReplicaCrashed crashed = crashOf(group, "n1");
        assertThat(crashed.poison()).as("its service crashed on entry 2 of its own log").isNotNull();
        assertThat(crashed.poison().sequence()).isEqualTo(2);
        assertThat(first.crashed()).isNotNull();

        // The controller quarantines it and starts a new instance on the node, which recovers again.
        ReplicaAssignment next = new ReplicaAssignment("n1", 1, Role.PRIMARY, ReplicaState.OK, 4);
        LockstepCore second = new LockstepCore(GROUP, next, new Counter(), group.settings, group.output("n1"));
        group.members.put("n1", second);
        second.recover(null, log, List.of(crashed.poison()));
        second.configure(new GroupConfig(GROUP, Mode.DMR, 4, List.of(next), null, List.of(crashed.poison())), 0);
        group.settle();
        assertThat(second.crashed()).isNull();
        assertThat(second.lastIndex()).isEqualTo(2);
        second.onClientCommand(command(9, 2, POISON), 0);
        group.settle();
        assertThat(group.replies.get(9L)).as("the retry gets the refusal recorded for the entry")
                .isInstanceOfSatisfying(Reply.Rejected.class, rejected -> assertThat(rejected.code()).isEqualTo(Reply.POISON));
        second.onClientCommand(command(10, 3, 1), 0);
        group.settle();
        assertThat(total(group.replies.get(10L))).as("entry 1 ran, the poison did not").isEqualTo(6);
        assertThat(group.proposals).as("only the first instance's crash").hasSize(1);
    }

    @Test
    void aMemberSyncingFromANewOrdererIsInSyncOnlyOnceItHoldsWhatThePreviousOrdererMayHaveReleased() {
        Group group = new Group(Mode.TMR);
        // n1 releases entry 1, and is lost before it tells n2 and n3 that they agreed on it.
        assertThat(total(group.call(1, 5))).isEqualTo(5);
        group.members.remove("n1");
        LockstepCore n3 = group.members.remove("n3");
        // n2 orders now; n3 is in sync but out of reach; a fresh member rebuilds on n1.
        ReplicaAssignment fresh = new ReplicaAssignment("n1", 2, Role.BACKUP, ReplicaState.SYNCING, 2);
        group.members.put("n1", new LockstepCore(GROUP, fresh, new Counter(), group.settings, group.output("n1")));
        group.config = new GroupConfig(GROUP, Mode.TMR, 2, List.of(
                new ReplicaAssignment("n2", 1, Role.PRIMARY, ReplicaState.OK, 1),
                new ReplicaAssignment("n3", 1, Role.BACKUP, ReplicaState.OK, 1), fresh));
        group.members.values().forEach(member -> member.configure(group.config, group.now));
        // The fresh member gets n2's state as of index 0, and not yet entry 1.
        group.settle(message -> !(message instanceof LockstepMessage.Append append) || append.entries().isEmpty());
        assertThat(group.members.get("n1").durableIndex()).isZero();
        assertThat(group.proposals).as("promoted now, n1 would lack entry 1, which n1's predecessor released")
                .noneMatch(ControlCommand.ReplicaCaughtUp.class::isInstance);
        group.idle(200 * MS);
        assertThat(group.members.get("n1").durableIndex()).isEqualTo(1);
        assertThat(group.proposals).anySatisfy(command -> assertThat(command).isInstanceOfSatisfying(ControlCommand.ReplicaCaughtUp.class,
                caughtUp -> assertThat(caughtUp.node()).isEqualTo("n1")));
        assertThat(n3.lastIndex()).isEqualTo(1);
    }

    @Test
    void membersOfTwoVersionsCompareOutputsButNotStatesWrittenInDifferentFormats() {
        Group group = new Group(Mode.TMR, new long[] {1, 1, 2});
        // Every fourth entry carries a state digest, and idle checks compare whole states: v1 and v2 differ in both.
        for (long request = 1; request <= 9; request++) {
            assertThat(total(group.call(request, request))).isEqualTo(request * (request + 1) / 2);
            group.idle(60 * MS);
        }
        assertThat(group.proposals).as("no divergence between versions that only store state differently").isEmpty();
        assertThat(group.members.get("n1").stateCheckedNanos()).as("the orderer's version checked its state").isGreaterThan(Long.MIN_VALUE);
        // A corruption is still caught among the members of one version.
        assertThat(group.members.get("n2").injectStateCorruption(42)).isTrue();
        for (long request = 10; request <= 12; request++) {
            group.call(request, 0);
        }
        group.idle(200 * MS);
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class,
                diverged -> assertThat(diverged.node()).isEqualTo("n2"));
    }

    @Test
    void theOldOrdererReportsAMemberOfTheNewVersionProvenAfter64CommandsInAgreement() {
        Group group = new Group(Mode.TMR, new long[] {1, 1, 2});
        for (long request = 1; request < ServiceUpgrade.PROVEN_COMMANDS_MIN; request++) {
            group.call(request, 1);
        }
        assertThat(group.proposals).as("63 commands prove nothing").isEmpty();
        group.call(ServiceUpgrade.PROVEN_COMMANDS_MIN, 1);
        assertThat(group.proposals).as("only the member of the new version, once").singleElement()
                .isEqualTo(new ControlCommand.MemberProven(GROUP, 1, "n1", "n3", 1, 1, ServiceUpgrade.PROVEN_COMMANDS_MIN));
        group.call(ServiceUpgrade.PROVEN_COMMANDS_MIN + 1, 1);
        assertThat(group.proposals).as("not again in the same epoch").hasSize(1);

        // A new configuration with the same members: the report is repeated once, in case the change overtook it.
        GroupConfig next = new GroupConfig(GROUP, Mode.TMR, 2, group.config.replicas());
        group.config = next;
        group.members.values().forEach(member -> member.configure(next, group.now));
        group.settle();
        group.call(ServiceUpgrade.PROVEN_COMMANDS_MIN + 2, 1);
        assertThat(group.proposals).hasSize(2).last().isInstanceOfSatisfying(ControlCommand.MemberProven.class,
                proven -> assertThat(proven.epoch()).isEqualTo(2));
    }

    @Test
    void aMemberOfAnotherVersionThatAnswersDifferentlyIsDivergentWhenOneOfTheOrderersVersionConfirmsIt() {
        Group group = new Group(Mode.TMR, new long[] {1, 1, 2});
        group.call(1, 5);
        serviceOf(group, "n3").answerWronglyTo = 3;
        assertThat(total(group.call(2, 3))).isEqualTo(8);
        assertThat(group.proposals).singleElement().isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class, diverged -> {
            assertThat(diverged.node()).isEqualTo("n3");
            assertThat(diverged.evidence()).contains("version 2 answered differently from the orderer's version 1");
        });
    }

    @Test
    void withNoMemberOfItsOwnVersionTheOrdererIsJudgedAsWithoutAnUpgradeAndReleasesNoContestedResult() {
        // Two members of version 2 agree against the orderer: a damaged orderer looks the same as a
        // version that changed an answer, and nobody of the orderer's version can tell.
        Group tmr = new Group(Mode.TMR, new long[] {1, 2, 2});
        tmr.call(1, 5);
        tmr.members.get("n1").injectOutputDivergence();
        assertThat(tmr.call(2, 3)).as("the orderer's damaged result is not released").isNull();
        assertThat(tmr.members.get("n1").steppedDown()).isTrue();
        // In DMR the disagreement goes to a referee, as without an upgrade.
        Group dmr = new Group(Mode.DMR, new long[] {1, 2});
        dmr.call(1, 5);
        serviceOf(dmr, "n2").answerWronglyTo = 3;
        assertThat(dmr.call(2, 3)).isNull();
        assertThat(dmr.proposals).singleElement().isInstanceOf(ControlCommand.RefereeNeeded.class);
    }

    @Test
    void anOrdererWhoseOnlyVoterRunsAnotherVersionWaitsForAMemberOfItsOwnVersionCatchingUp() {
        Group group = new Group(Mode.TMR, new long[] {2, 1, 2});
        assertThat(total(group.call(1, 5))).isEqualTo(5);
        // n3, of the orderer's version, is rebuilt; the snapshot that would let it catch up is held back.
        ReplicaAssignment fresh = new ReplicaAssignment("n3", 1, Role.BACKUP, ReplicaState.SYNCING, 2, 2);
        group.members.put("n3", new LockstepCore(GROUP, fresh, new CounterV2(), group.settings, group.output("n3")));
        group.config = new GroupConfig(GROUP, Mode.TMR, 2, List.of(group.config.replicaOn("n1"), group.config.replicaOn("n2"), fresh));
        group.members.values().forEach(member -> member.configure(group.config, group.now));
        Predicate<LockstepMessage> noSnapshot = message -> !(message instanceof LockstepMessage.InstallSnapshot);
        group.settle(noSnapshot);
        serviceOf(group, "n2").answerWronglyTo = 3;
        group.members.get("n1").onClientCommand(new ClientCommand(2, 7, 2, "3".getBytes(StandardCharsets.UTF_8)), group.now);
        group.settle(noSnapshot);
        assertThat(group.replies.get(2L)).as("nothing released while only a member of another version voted").isNull();
        assertThat(group.proposals).as("neither a halt nor a verdict yet").noneMatch(command -> command instanceof ControlCommand.GroupHalted
                || command instanceof ControlCommand.ReplicaDiverged);
        group.idle(400 * MS);
        assertThat(total(group.replies.get(2L))).as("n3 caught up and voted with the orderer").isEqualTo(8);
        assertThat(group.proposals).anySatisfy(command -> assertThat(command).isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class,
                diverged -> assertThat(diverged.node()).isEqualTo("n2")));
        assertThat(group.members.get("n1").steppedDown()).isFalse();
        assertThat(group.members.get("n1").halted()).isNull();
    }

    /**
     * Seed 2338 of the DMR simulation: a member of the new version (an upgrade) catching up found
     * that entries had been lost on the way and, in the same message, sent a vote that disagreed on
     * an entry already released. The orderer rewound the member to its gap, found it divergent, and
     * trimmed the entries it had kept for it (a member waiting to be removed holds nothing in
     * memory); it then tried to send that member the entries it had just dropped.
     */
    @Test
    void aCatchingUpMemberFoundDivergentAsItAsksForLostEntriesIsRebuiltInsteadOfSentEntriesNoLongerKept() {
        Group group = new Group(Mode.DMR);
        LockstepCore orderer = group.members.get("n1");
        for (long request = 1; request <= 6; request++) {
            group.call(request, request);
        }
        // The upgrade adds n3, of version 2; it is rebuilt from the state agreed at 4 and gets none of the entries after it.
        ReplicaAssignment fresh = new ReplicaAssignment("n3", 1, Role.BACKUP, ReplicaState.SYNCING, 2, 2);
        CounterV2 n3Service = new CounterV2();
        LockstepCore n3 = new LockstepCore(GROUP, fresh, n3Service, group.settings, group.output("n3"));
        group.members.put("n3", n3);
        group.config = new GroupConfig(GROUP, Mode.DMR, 2, List.of(group.config.replicaOn("n1"), group.config.replicaOn("n2"), fresh));
        group.members.values().forEach(member -> member.configure(group.config, group.now));
        group.settle(message -> !(message instanceof LockstepMessage.Append append) || append.entries().isEmpty());
        assertThat(n3.durableIndex()).isEqualTo(4);
        // The orderer sends the entries after 4 again, then two more; n3 answers entry 8 differently, and its votes are lost
        // (its are the only ones with entries up to 4 from a snapshot).
        n3Service.answerWronglyTo = 8;
        group.now += group.settings.retransmitNanos();
        orderer.tick(group.now);
        orderer.onClientCommand(new ClientCommand(7, 7, 7, "7".getBytes(StandardCharsets.UTF_8)), 0);
        orderer.onClientCommand(new ClientCommand(8, 7, 8, "8".getBytes(StandardCharsets.UTF_8)), 0);
        group.settle(message -> !(message instanceof LockstepMessage.Votes votes) || votes.voteFloor() != 4);
        assertThat(n3.durableIndex()).isEqualTo(8);
        assertThat(orderer.commitIndex()).isEqualTo(8);
        // Out of reach, n3 misses entries 9 to 20, which the orderer and n2 agree on.
        group.members.remove("n3");
        for (long request = 9; request <= 20; request++) {
            group.call(request, request);
        }
        group.members.put("n3", n3);
        // The next heartbeat shows n3 the gap: it asks for the entries after 8 and votes on 7 and 8 in one message.
        group.now += group.settings.heartbeatIntervalNanos();
        orderer.tick(group.now);
        group.settle();
        assertThat(group.proposals).anySatisfy(command -> assertThat(command).isInstanceOfSatisfying(ControlCommand.ReplicaDiverged.class,
                diverged -> {
                    assertThat(diverged.node()).isEqualTo("n3");
                    assertThat(diverged.index()).isEqualTo(8);
                }));
        // The orderer goes on releasing.
        assertThat(total(group.call(21, 21))).isEqualTo(21 * 22 / 2);
        group.idle(200 * MS);
        assertThat(orderer.commitIndex()).isEqualTo(21);
        assertThat(orderer.halted()).isNull();
    }

    private static Counter serviceOf(Group group, String node) {
        return group.services.get(node);
    }
}
