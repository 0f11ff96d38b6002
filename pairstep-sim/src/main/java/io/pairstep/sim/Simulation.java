package io.pairstep.sim;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.Member;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.core.control.ServiceUpgrade;
import io.pairstep.core.control.Supervisor;
import io.pairstep.core.lockstep.LockstepCore;
import io.pairstep.core.lockstep.LockstepMessage;
import io.pairstep.core.lockstep.LockstepOutput;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.ReplicaCore;
import io.pairstep.core.replica.ReplicaOutput;
import io.pairstep.core.replica.Reply;
import io.pairstep.core.replica.StateCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Runs a whole Pairstep system in one thread from one seed, in mode {@code pair}, {@code dmr} or
 * {@code tmr}: nodes with replicas, the controller, clients, a network that delays, drops,
 * duplicates and reorders, disks that lose what was not yet durable, and crashes, pauses and
 * partitions. Lockstep groups also get their members' state corrupted, outputs changed and
 * self-checks failed. The same seed replays the same run exactly.
 *
 * <p>The controller stands for the Ratis group: a linearizable service that nodes reach unless
 * they are cut off. Everything else is the production protocol code.
 *
 * <p>Checked: no two nodes release results in the same epoch of a group; every acknowledged
 * command is in the final state exactly once and at the position its result named, which is the
 * result a fault-free service would have returned (so no wrong result reached a client); no command
 * is in the final state twice and nothing else is in it; the replicas of each group end
 * byte-identical, so every corrupted or divergent member was removed; poison commands (in every
 * mode) are refused as poison, never answered with a result and in no final state; and once faults stop, every
 * group heals to full strength and every client's command completes. The one exception is a
 * lockstep group that halted because two voters disagreed with nothing to tell which was right:
 * that is allowed only where no majority existed, and no result may leave such a group.
 *
 * <p>Online upgrades run among the faults; in lockstep modes one in three moves to a <em>skewed</em>
 * version, which answers differently on about a quarter of the commands (see {@link
 * HistoryService#differs}). Checked: an orderer's role moves to a member of the new version only
 * once its old orderer reported it proven ({@link ServiceUpgrade#PROVEN_COMMANDS_MIN} commands in
 * agreement), in a takeover too; a skewed version never orders and its upgrade always ends rolled back, never done. Another
 * one in three moves to a <em>fragile</em> version, one of whose members the simulator crashes once
 * an orderer runs it: checked that the upgrade then turns back through the old version's last
 * members and ends rolled back with every member on the old version (unless a group lost its last
 * old member meanwhile). Half the upgrades, in every mode, bake. A lockstep upgrade waits for
 * client commands to prove its members: the heal phase keeps the clients issuing while one waits,
 * and a run with no client ends with the upgrade waiting and every orderer on the old version.
 */
public final class Simulation {

    private static final long MS = 1_000_000L;
    private static final String SERVICE = "history";

    /** What one run simulates. */
    public record Options(
            Mode mode,
            int nodeCount,
            int partitions,
            int clientCount,
            long faultPhaseNanos,
            long healPhaseNanosMax,
            double dropProbability,
            double duplicateProbability,
            long delayMinNanos,
            long delayMaxNanos,
            long faultIntervalNanos,
            long snapshotIntervalEntries) {

        /** Options drawn from the seed, so many seeds cover many shapes of system. */
        public static Options random(SplittableRandom random, Mode mode) {
            return new Options(
                    mode,
                    mode.replicaCount() + random.nextInt(3),
                    1 + random.nextInt(3),
                    random.nextInt(7),
                    (1500 + random.nextInt(2500)) * MS,
                    30_000 * MS,
                    random.nextInt(3) == 0 ? 0 : random.nextDouble() * 0.05,
                    random.nextInt(3) == 0 ? 0 : random.nextDouble() * 0.03,
                    50_000L,
                    (200 + random.nextInt(3000)) * 1000L,
                    (100 + random.nextInt(600)) * MS,
                    10 + random.nextInt(200));
        }
    }

    /** A failed check, with the seed to replay it and the last events before it. */
    public static final class Failure extends AssertionError {
        private static final long serialVersionUID = 1L;

        Failure(String message) {
            super(message);
        }
    }

    /**
     * What a finished run reports.
     *
     * @param divergences members the controller removed as divergent
     * @param repairs times a group that lost a divergent member was back at full strength
     * @param quarantined poison commands whose clients were refused with {@code POISON}
     * @param poisonPastOrderer crash reports of lockstep members other than the orderer that named a
     *     poison command: one that got into the log because the orderer's injected self-check fault
     *     stood in for running it
     * @param skewedRolledBack upgrades to a skewed version (lockstep modes) that ended rolled back
     * @param provenMoves times a lockstep orderer's role moved to a proven member of the new version
     * @param handovers pair primaries that handed their role to their backup, staying as its backup
     * @param rollbacksAfterHandover upgrades that turned back while a group's primary (in lockstep, orderer) already ran the new version
     * @param rolledBackAfterOrdererMoved lockstep upgrades that turned back after an orderer ran the new
     *     version and ended rolled back, every member on the old version
     * @param earlyRedirects pair primaries told that the controller took their hand-over report while
     *     they were still the current replica (they redirect what they hold before the swap reaches them)
     * @param shadowReports shadow runs whose report the controller took
     * @param shadowStops upgrades a shadow run stopped, nothing switched
     * @param falseAlarms nodes that heartbeat within a lease after the controller declared them down
     * @param suspicionsOutlasted suspicions that lasted the configured confirmation but ended within
     *     the node's allowance for late heartbeats: declarations the supervisor avoided
     */
    public record Result(long seed, Options options, long acknowledged, long faults, long takeovers, long divergences, long repairs,
            long dumps, long halts, long simulatedNanos, long quarantined, long upgrades, long poisonPastOrderer, long skewedRolledBack,
            long provenMoves, long handovers, long rollbacksAfterHandover, long rolledBackAfterOrdererMoved, long earlyRedirects,
            long shadowReports, long shadowStops, long falseAlarms, long suspicionsOutlasted) {}

    private record Event(long time, long sequence, String node, Runnable action) {}

    /** An acknowledged command: its position in the service's history and its index in the log. */
    private record Ack(GroupId group, String payload, long position, long index) {}

    private final long seed;
    private final SplittableRandom random;
    private final Options options;
    private long now;
    private long eventSequence;
    private final PriorityQueue<Event> events = new PriorityQueue<>((a, b) ->
            a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.sequence, b.sequence));
    private final ArrayDeque<String> trace = new ArrayDeque<>();

    private final ControllerState controller = new ControllerState();
    private final Supervisor supervisor = new Supervisor(new Supervisor.Settings(300 * MS, 20 * MS, 100 * MS));
    private final io.pairstep.core.control.BakeTimer bakeTimer = new io.pairstep.core.control.BakeTimer();
    private final ReplicaCore.Settings replicaSettings;
    private final LockstepCore.Settings lockstepSettings;
    private final TreeMap<String, Node> nodes = new TreeMap<>();
    private final Set<String> cutLinks = new HashSet<>();
    private final Set<String> isolated = new HashSet<>();
    private final List<Client> clients = new ArrayList<>();
    private final Map<String, String> releaserByGroupEpoch = new HashMap<>();
    private final List<Ack> acknowledged = new ArrayList<>();
    private boolean issuing = true;
    /** True once faults stopped: no more poison commands. */
    private boolean healing;
    private long skewedRolledBack;
    private long provenMoves;
    private long faults;
    private long takeovers;
    private long handovers;
    private long earlyRedirects;
    private long rollbacksAfterHandover;
    private long divergences;
    private long repairs;
    private final Set<GroupId> degradedByDivergence = new HashSet<>();
    private long dumps;
    private final Map<GroupId, String> haltedGroups = new TreeMap<>();
    private final Map<GroupId, Integer> memberFaults = new TreeMap<>();
    private final Set<String> sentPayloads = new HashSet<>();
    /** One command in this many is a poison command (it crashes the replica that runs it). */
    private static final int POISON_ONE_IN = 150;
    /** Poison commands refused with POISON, as their clients saw. */
    private long quarantined;
    /** Crash reports naming a poison command from lockstep members other than the orderer. */
    private long poisonPastOrderer;
    /**
     * The commands every group's orderers numbered at each index (an unreleased entry may be
     * numbered again by a later orderer). A fault-free service returns the entry's index as the
     * result (the history service counts the commands applied): the model every acknowledged result
     * is checked against, even where no final state can be trusted.
     */
    private final Map<GroupId, Map<Long, Set<String>>> orderedLog = new HashMap<>();
    private long lastFaultNanos;
    private long memberFaultQuietUntil;
    /**
     * Per lockstep group, until when a member may hold a silent fault nobody caught yet (a corrupted
     * state, a changed output, a self-check failure of a member that does not order). No poison
     * command goes to the group before: one crashes its orderer, a second fault the group cannot
     * mask, since the controller may then promote the damaged member.
     */
    private final Map<GroupId, Long> silentFaultUntil = new HashMap<>();

    private Simulation(long seed, Options options) {
        this.seed = seed;
        this.random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        this.options = options;
        this.replicaSettings = new ReplicaCore.Settings(20 * MS, 150 * MS, 50 * MS, 500 * MS, 64, 1000,
                options.snapshotIntervalEntries(), 10_000);
        this.lockstepSettings = new LockstepCore.Settings(20 * MS, 150 * MS, 50 * MS, 500 * MS, 100 * MS, 64, 1000,
                options.snapshotIntervalEntries(), 10_000, 8 + options.snapshotIntervalEntries() % 32, 16_384, 16);
    }

    /** Runs one seed of the process-pair protocol with options drawn from it. */
    public static Result run(long seed) {
        return run(seed, Mode.PAIR);
    }

    /** Runs one seed in the given mode with options drawn from the seed. */
    public static Result run(long seed, Mode mode) {
        return run(seed, Options.random(new SplittableRandom(seed), mode));
    }

    public static Result run(long seed, Options options) {
        Simulation simulation = new Simulation(seed, options);
        try {
            return simulation.execute();
        } catch (Failure failure) {
            throw failure;
        } catch (RuntimeException | AssertionError e) {
            Failure failure = simulation.failure("unexpected " + e);
            failure.initCause(e);
            throw failure;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // The run

    private Result execute() {
        controller.apply(new ControlCommand.Bootstrap("sim-" + seed));
        for (int i = 1; i <= options.nodeCount(); i++) {
            Node node = new Node("n" + i);
            nodes.put(node.id, node);
            node.boot();
        }
        // The controller applies registrations before the deploy: the deploy waits for every node.
        runUntil(50 * MS);
        propose(new ControlCommand.Deploy(new ServiceSpec(SERVICE, 1, options.mode(), options.partitions(), "example:history", "", "")));
        runUntil(100 * MS);
        for (int i = 0; i < options.clientCount(); i++) {
            Client client = new Client(i);
            clients.add(client);
            schedule(random.nextLong(10 * MS), null, client::next);
        }
        scheduleRecurring(10 * MS, null, this::superviseTick);
        long faultPhaseEnd = now + options.faultPhaseNanos();
        schedule(options.faultIntervalNanos(), null, () -> injectFault(faultPhaseEnd));
        if (options.mode() != Mode.NONE) {
            // Online upgrades among the faults: replicas move to the next version group by group
            // (lockstep members one at a time, orderers last).
            for (int i = 0; i < 2; i++) {
                schedule(random.nextLong(options.faultPhaseNanos()), null, this::upgrade);
            }
        }
        runUntil(faultPhaseEnd);

        // Heal everything, stop new commands, and wait for the system to settle. A lockstep upgrade
        // that waits for its new members to be proven needs commands: the clients go on meanwhile.
        issuing = false;
        healing = true;
        note("heal: faults stop");
        healAll();
        long healDeadline = now + options.healPhaseNanosMax();
        while (now < healDeadline && !settled()) {
            keepIssuingWhileUpgradeWaits();
            runUntil(now + 50 * MS);
        }
        if (!settled()) {
            throw failure("liveness: the system did not settle within " + options.healPhaseNanosMax() / MS + " ms after faults stopped: "
                    + describeUnsettled());
        }
        checkFinalState();
        return new Result(seed, options, acknowledged.size(), faults, takeovers, divergences, repairs, dumps, haltedGroups.size(), now, quarantined,
                controller.services().get(SERVICE).version() - 1, poisonPastOrderer, skewedRolledBack, provenMoves,
                handovers, rollbacksAfterHandover, rolledBackAfterOrdererMoved, earlyRedirects, shadowReports, shadowStops,
                supervisor.falseAlarms(), supervisor.suspicionsOutlasted());
    }

    /**
     * In the heal phase, the clients issue commands while a lockstep upgrade waits for its members' proofs, and only then.
     * Not while a group of the service is halted: that group holds the upgrade until an operator resumes it, which no
     * simulated operator does, so no command ever ends the wait (see {@link #settled}); clients issuing for good would
     * keep the other groups busy and the run from ever settling.
     */
    private void keepIssuingWhileUpgradeWaits() {
        boolean heldByHalt = haltedGroups.keySet().stream().anyMatch(group -> group.service().equals(SERVICE));
        boolean wanted = !clients.isEmpty() && !heldByHalt && controller.upgradeWaiting(SERVICE) != null;
        if (wanted && !issuing) {
            note("heal: clients issue commands while the upgrade waits: " + controller.upgradeWaiting(SERVICE));
            issuing = true;
            for (Client client : clients) {
                if (!client.busy) {
                    schedule(random.nextLong(5 * MS), null, client::next);
                }
            }
        } else if (!wanted) {
            issuing = false;
        }
    }

    private void runUntil(long time) {
        while (!events.isEmpty() && events.peek().time <= time) {
            Event event = events.poll();
            now = event.time;
            if (event.node != null) {
                Node node = nodes.get(event.node);
                if (node.pausedUntil > now) {
                    events.add(new Event(node.pausedUntil, eventSequence++, event.node, event.action));
                    continue;
                }
            }
            event.action.run();
        }
        now = Math.max(now, time);
    }

    private void schedule(long delayNanos, String node, Runnable action) {
        events.add(new Event(now + delayNanos, eventSequence++, node, action));
    }

    private void scheduleRecurring(long periodNanos, String node, Runnable action) {
        schedule(periodNanos, node, () -> {
            action.run();
            scheduleRecurring(periodNanos, node, action);
        });
    }

    // ---------------------------------------------------------------------------------------------
    // Faults

    private void injectFault(long faultPhaseEnd) {
        if (now >= faultPhaseEnd) {
            return;
        }
        if (memberFaultPending()) {
            // An injected output or self-check fault fires at its member's next command, which may
            // come later than the quiet time: the group is still handling it until then, and a bit after.
            memberFaultQuietUntil = Math.max(memberFaultQuietUntil, now + 300 * MS);
        }
        if (now < memberFaultQuietUntil) {
            // A damaged member is caught within a few commands or one idle state check. Until then
            // no second fault: together they could leave it alone in its group, beyond what any
            // group of that size can mask.
            schedule(memberFaultQuietUntil - now, null, () -> injectFault(faultPhaseEnd));
            return;
        }
        faults++;
        List<String> ids = new ArrayList<>(nodes.keySet());
        Node node = nodes.get(ids.get(random.nextInt(ids.size())));
        long duration = (30 + random.nextInt(900)) * MS;
        lastFaultNanos = now;
        switch (random.nextInt(options.mode().lockstep() ? 9 : 5)) {
            case 0, 1 -> {
                if (node.alive) {
                    note("fault: crash " + node.id + " for " + duration / MS + " ms");
                    node.crash();
                    schedule(duration, null, () -> restartIfDown(node));
                }
            }
            case 2 -> {
                note("fault: pause " + node.id + " for " + duration / MS + " ms");
                node.pausedUntil = Math.max(node.pausedUntil, now + duration);
            }
            case 3 -> {
                note("fault: isolate " + node.id + " for " + duration / MS + " ms");
                isolated.add(node.id);
                schedule(duration, null, () -> {
                    note("heal: " + node.id + " rejoins the network");
                    isolated.remove(node.id);
                });
            }
            case 5, 6, 7 -> injectMemberFault();
            case 8 -> {
                // A drain moves TMR members off the node while faults go on; undrained later, it takes its share back.
                note("fault: drain " + node.id + " for " + duration / MS + " ms");
                propose(new ControlCommand.DrainNode(node.id, true));
                schedule(duration, null, () -> propose(new ControlCommand.DrainNode(node.id, false)));
            }
            default -> {
                Node other = nodes.get(ids.get(random.nextInt(ids.size())));
                if (other != node) {
                    String link = link(node.id, other.id);
                    note("fault: cut link " + link + " for " + duration / MS + " ms");
                    cutLinks.add(link);
                    schedule(duration, null, () -> cutLinks.remove(link));
                }
            }
        }
        schedule(options.faultIntervalNanos() / 2 + random.nextLong(options.faultIntervalNanos()), null, () -> injectFault(faultPhaseEnd));
    }

    /**
     * Damages one lockstep member without crashing anything: corrupts its state, changes its next
     * output, or fails its next self-check. Only members of groups at full strength whose members
     * all run and reach each other, and whose orderer decided everything so far: a group that lost
     * a member, is about to, or still handles an earlier fault has nobody left to outvote a second
     * one, so there a fault becomes the group's truth, as it would in mode {@code none}. In DMR a
     * silent fault brings in a referee that executes the entry again, which needs a third live node
     * (else the group halts), so there half the faults are self-check failures.
     */
    private void injectMemberFault() {
        List<LockstepReplica> members = new ArrayList<>();
        for (GroupConfig config : controller.groups().values()) {
            List<Replica> present = config.replicas().stream().map(assignment -> replicaFor(config, assignment)).toList();
            if (config.fullyProtected() && !present.contains(null) && connected(config)
                    && ((LockstepReplica) replicaFor(config, config.primary())).core.quiescent()
                    && present.stream().noneMatch(replica -> ((LockstepReplica) replica).core.injectedFaultPending())) {
                present.forEach(replica -> members.add((LockstepReplica) replica));
            }
        }
        if (members.isEmpty()) {
            return;
        }
        LockstepReplica member = members.get(random.nextInt(members.size()));
        int kind = random.nextInt(options.mode() == Mode.DMR ? 4 : 3);
        GroupConfig memberConfig = controller.groups().get(member.group);
        if (kind == 0 && member.core.role() == Role.PRIMARY && memberConfig.replicas().stream()
                .noneMatch(r -> r.role() == Role.BACKUP && r.version() == memberConfig.primary().version())) {
            // An orderer whose members all run another version (an upgrade waits for them to be
            // proven) compares its state with nobody: a corruption there is beyond what the group can
            // mask until one of them orders, as in mode none.
            return;
        }
        // A self-check failure of the orderer is not silent: its own vote says so, and it never
        // releases that entry alone. It may meet a poison command: that is the case to exercise.
        boolean silent = kind < 2 || member.core.role() != Role.PRIMARY;
        if (silent && poisonInFlight(member.group)) {
            return;
        }
        memberFaultQuietUntil = now + 300 * MS;
        if (silent) {
            silentFaultUntil.put(member.group, now + 300 * MS);
        }
        memberFaults.merge(member.group, 1, Integer::sum);
        String target = member.node.id + " " + member.group + " (" + member.core.role() + ")";
        if (kind == 0) {
            if (member.core.injectStateCorruption(random.nextLong())) {
                note("fault: corrupt the state of " + target);
            }
        } else if (kind == 1) {
            note("fault: the next output of " + target + " differs");
            member.core.injectOutputDivergence();
        } else {
            note("fault: the next self-check of " + target + " fails");
            member.core.injectSelfCheckFailure();
        }
    }

    /** True when the orderer of a lockstep group has an injected fault waiting for its next command. */
    private boolean ordererFaultPending(GroupId group) {
        GroupConfig config = controller.groups().get(group);
        if (config == null || config.primary() == null) {
            return false;
        }
        return replicaFor(config, config.primary()) instanceof LockstepReplica orderer && orderer.core.injectedFaultPending();
    }

    /** True while an injected output or self-check fault waits for its member's next command. */
    private boolean memberFaultPending() {
        for (Node node : nodes.values()) {
            for (Replica replica : node.replicas.values()) {
                if (node.alive && replica instanceof LockstepReplica member && !member.core.removed() && member.core.injectedFaultPending()) {
                    return true;
                }
            }
        }
        return false;
    }

    /** True while a client waits for a poison command it sent to {@code group}. */
    private boolean poisonInFlight(GroupId group) {
        return clients.stream().anyMatch(c -> c.busy && group.equals(c.group) && c.payload.startsWith(HistoryService.POISON_PREFIX));
    }

    /** True when every member of the group runs and reaches every other: no fault is pending there. */
    private boolean connected(GroupConfig config) {
        for (ReplicaAssignment a : config.replicas()) {
            if (nodes.get(a.node()).pausedUntil > now) {
                return false;
            }
            for (ReplicaAssignment b : config.replicas()) {
                if (a != b && !reachable(a.node(), b.node())) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * An orderer halted its group. That is the right answer only where no majority could exist:
     * two voters with no third node for a referee, or two faulty members. Three members in sync
     * (TMR, or DMR with its referee) outvote a single faulty one, unless an upgrade mixes their
     * versions: states are compared only within one version, so two of one version may be a tie.
     */
    private void onHalt(ControlCommand.GroupHalted halted) {
        GroupConfig config = controller.groups().get(halted.group());
        boolean oneVersion = config.replicas().stream().map(ReplicaAssignment::version).distinct().count() == 1;
        boolean threeInSync = oneVersion && config.replicas().size() == 3
                && config.replicas().stream().allMatch(r -> r.state() == ReplicaState.OK);
        if (threeInSync && memberFaults.getOrDefault(halted.group(), 0) < 2) {
            throw failure(halted.group() + " halted with three members in sync and only one faulty member: " + halted.evidence());
        }
        haltedGroups.putIfAbsent(halted.group(), halted.evidence());
    }

    private void restartIfDown(Node node) {
        if (!node.alive) {
            note("heal: restart " + node.id);
            node.boot();
        }
    }

    private void healAll() {
        cutLinks.clear();
        isolated.clear();
        // Pauses end by themselves: cutting one short would let new disk writes overtake the
        // ones deferred to its end, which no real disk does.
        for (Node node : nodes.values()) {
            restartIfDown(node);
        }
    }

    private static String link(String a, String b) {
        return a.compareTo(b) < 0 ? a + "|" + b : b + "|" + a;
    }

    private boolean reachable(String from, String to) {
        return !isolated.contains(from) && !isolated.contains(to) && !cutLinks.contains(link(from, to));
    }

    // ---------------------------------------------------------------------------------------------
    // Network

    private long delay() {
        return options.delayMinNanos() + random.nextLong(options.delayMaxNanos() - options.delayMinNanos() + 1);
    }

    /** Node-to-node delivery with loss, duplication and reordering. */
    private void deliver(String from, String to, Runnable onArrival) {
        if (!reachable(from, to) || random.nextDouble() < options.dropProbability()) {
            return;
        }
        Node target = nodes.get(to);
        int copies = random.nextDouble() < options.duplicateProbability() ? 2 : 1;
        for (int i = 0; i < copies; i++) {
            long boot = target.boot;
            schedule(delay(), to, () -> {
                if (target.alive && target.boot == boot && reachable(from, to)) {
                    onArrival.run();
                }
            });
        }
    }

    /** Node to controller: reliable while the node can reach it, retried like a Raft client. */
    private void toController(Node node, Runnable action) {
        long boot = node.boot;
        long deadline = now + 10_000 * MS;
        Runnable attempt = new Runnable() {
            @Override
            public void run() {
                if (!node.alive || node.boot != boot || now > deadline) {
                    return;
                }
                if (isolated.contains(node.id)) {
                    schedule(50 * MS, node.id, this);
                    return;
                }
                schedule(MS + random.nextLong(2 * MS), null, action);
            }
        };
        attempt.run();
    }

    private void propose(ControlCommand command) {
        schedule(MS + random.nextLong(2 * MS), null, () -> applyControl(command));
    }

    /** Applies a command to the controller, checks what it changed; true if it changed the state. */
    private boolean applyControl(ControlCommand command) {
        Map<GroupId, GroupConfig> before = new TreeMap<>(controller.groups());
        Map<String, ServiceUpgrade> upgradesBefore = new TreeMap<>(controller.upgrades());
        ControlResult result = controller.apply(command);
        if (!result.changed()) {
            return false;
        }
        note("controller: " + command + " -> version " + controller.version());
        if (command instanceof ControlCommand.HandedOver) {
            handovers++;
        }
        ServiceUpgrade upgradeBefore = upgradesBefore.get(SERVICE);
        ServiceUpgrade upgradeAfter = controller.upgrades().get(SERVICE);
        if (upgradeAfter != null && upgradeAfter.state() == ServiceUpgrade.State.ROLLING_BACK
                && (upgradeBefore == null || upgradeBefore.state() != ServiceUpgrade.State.ROLLING_BACK)
                && before.values().stream().anyMatch(g -> g.group().service().equals(SERVICE)
                        && g.primary().version() == upgradeAfter.to().version())) {
            rollbacksAfterHandover++;
            note("upgrade: rolling back although a primary already runs version " + upgradeAfter.to().version());
        }
        checkUpgrade(command, before, upgradesBefore);
        checkShadow(upgradeBefore, upgradeAfter);
        checkRollbackAfterOrdererMoved(upgradeBefore, upgradeAfter, before);
        if (command instanceof ControlCommand.ReplicaCrashed crashed && crashed.reason().contains("fragile") && upgradeBefore != null
                && (upgradeBefore.state() == ServiceUpgrade.State.UPGRADING || upgradeBefore.state() == ServiceUpgrade.State.BAKING)
                && before.values().stream().filter(g -> g.group().service().equals(SERVICE)).allMatch(g -> g.primary() == null
                        || g.primary().version() == upgradeBefore.from().version() || g.replicas().stream().anyMatch(r -> r.role() == Role.BACKUP
                                && r.version() == upgradeBefore.from().version() && r.state() == ReplicaState.OK))
                && (upgradeAfter == null || upgradeAfter.state() != ServiceUpgrade.State.ROLLING_BACK)) {
            throw failure("a member of the fragile version crashed while every group kept a member of version "
                    + upgradeBefore.from().version() + " in sync, and the upgrade did not turn back: " + upgradeAfter);
        }
        if (command instanceof ControlCommand.ReplicaDiverged diverged) {
            divergences++;
            degradedByDivergence.add(diverged.group());
        }
        for (GroupConfig config : controller.groups().values()) {
            if (config.fullyProtected() && degradedByDivergence.remove(config.group())) {
                repairs++;
                note("repaired: " + config.group() + " back at full strength at epoch " + config.epoch());
            }
        }

        for (Map.Entry<GroupId, GroupConfig> entry : controller.groups().entrySet()) {
            GroupConfig old = before.get(entry.getKey());
            if (old != null && old.halted() == null && entry.getValue().halted() != null) {
                // The controller halted it itself: a DMR dispute with no node for a referee, or an
                // orderer that diverged with nobody in sync to replace it.
                haltedGroups.putIfAbsent(entry.getKey(), entry.getValue().halted());
            }
            if (old != null && old.primary() != null && !old.primary().node().equals(entry.getValue().primary().node())) {
                takeovers++;
                note("takeover: " + entry.getKey() + " primary " + old.primary().node() + " -> " + entry.getValue().primary().node()
                        + " at epoch " + entry.getValue().epoch());
            }
        }
        for (Node node : nodes.values()) {
            pushState(node);
        }
        return true;
    }

    private void pushState(Node node) {
        if (!node.alive || isolated.contains(node.id)) {
            return;
        }
        ControllerState copy = controller.copy();
        long boot = node.boot;
        schedule(MS + random.nextLong(2 * MS), node.id, () -> {
            if (node.alive && node.boot == boot && !isolated.contains(node.id)) {
                node.onState(copy);
            }
        });
    }

    private void superviseTick() {
        for (ControlCommand command : supervisor.tick(now, controller)) {
            note("supervisor: " + command);
            propose(command);
        }
        for (ControlCommand command : bakeTimer.tick(now, controller)) {
            note("bake timer: " + command);
            propose(command);
        }
        if (options.mode().lockstep() && !healing) {
            crashFragileMember();
        }
        runShadows();
    }

    // ---------------------------------------------------------------------------------------------
    // Nodes

    private final class Node {
        final String id;
        boolean alive;
        long incarnation;
        long boot;
        long pausedUntil;
        long knownVersion = -1;
        long diskFreeAt;
        boolean reincarnating;
        final TreeMap<GroupId, Replica> replicas = new TreeMap<>();
        final Map<GroupId, Disk> disks = new HashMap<>();

        Node(String id) {
            this.id = id;
        }

        void boot() {
            alive = true;
            reincarnating = false;
            boot++;
            incarnation++;
            knownVersion = -1;
            diskFreeAt = now;
            register();
            long thisBoot = boot;
            scheduleRecurring(5 * MS, id, () -> {
                if (alive && boot == thisBoot) {
                    for (Replica replica : List.copyOf(replicas.values())) {
                        replica.step(replica::tick);
                    }
                }
            });
            scheduleRecurring(50 * MS, id, () -> {
                if (alive && boot == thisBoot) {
                    heartbeat();
                }
            });
        }

        void register() {
            Member member = new Member(id, id + ":http", id + ":rpc", incarnation, 1000 + incarnation, true);
            toController(this, () -> applyControl(new ControlCommand.RegisterNode(member.id(), member.http(), member.rpc(), member.incarnation(), member.pid())));
        }

        void heartbeat() {
            long sentIncarnation = incarnation;
            toController(this, () -> {
                Member member = controller.members().get(id);
                // As a node's controller replica does: a heartbeat of an incarnation already declared
                // down still counts, as the false alarm it proves.
                if (member != null && member.incarnation() <= sentIncarnation) {
                    supervisor.heartbeat(id, sentIncarnation, now);
                }
                if (member == null || member.incarnation() != sentIncarnation || controller.version() > knownVersion) {
                    pushState(this);
                }
            });
        }

        void crash() {
            alive = false;
            replicas.clear();
            // Closed sockets: every peer and the controller notice quickly, unless cut off.
            for (Node other : nodes.values()) {
                if (other != this && other.alive && reachable(id, other.id)) {
                    long otherBoot = other.boot;
                    schedule(delay(), other.id, () -> {
                        if (other.alive && other.boot == otherBoot) {
                            for (Replica replica : List.copyOf(other.replicas.values())) {
                                replica.step(() -> replica.connectionLost(id));
                            }
                        }
                    });
                }
            }
            if (!isolated.contains(id)) {
                schedule(delay(), null, () -> supervisor.disconnected(id, now));
            }
        }

        void onState(ControllerState state) {
            if (state.version() <= knownVersion) {
                return;
            }
            knownVersion = state.version();
            Member me = state.members().get(id);
            if (me == null || me.incarnation() != incarnation) {
                if (!reincarnating) {
                    register();
                }
                return;
            }
            if (!me.alive()) {
                // Declared down while paused or cut off: this incarnation's replicas are gone.
                note(id + ": declared down, starts incarnation " + (incarnation + 1));
                incarnation++;
                for (Replica replica : replicas.values()) {
                    replica.gone = true;
                }
                replicas.clear();
                // As the runtime does with its disk writer's barrier: writes of the old replicas
                // land before anything is recovered from this disk.
                long thisBoot = boot;
                reincarnating = true;
                schedule(Math.max(0, diskFreeAt - now), id, () -> {
                    if (alive && boot == thisBoot) {
                        reincarnating = false;
                        register();
                    }
                });
                return;
            }
            for (GroupConfig config : state.groups().values()) {
                ReplicaAssignment assignment = config.replicaOn(id);
                Replica replica = replicas.get(config.group());
                if (replica != null && (assignment == null || !replica.assignment.sameInstance(assignment))) {
                    replica.configure(config);
                    replica.gone = true;
                    replicas.remove(config.group());
                    replica = null;
                }
                if (assignment == null || assignment.incarnation() != incarnation) {
                    continue;
                }
                if (replica == null && assignment.role() == Role.PRIMARY && diskFreeAt > now) {
                    // A primary that recovers from this disk (a crashed orderer nobody could replace)
                    // waits, as the runtime's disk writer barrier makes it, for the writes of the
                    // instance it replaces to land: this state is applied again then.
                    knownVersion = Math.min(knownVersion, state.version() - 1);
                    long thisBoot = boot;
                    schedule(diskFreeAt - now, id, () -> {
                        if (alive && boot == thisBoot) {
                            pushState(this);
                        }
                    });
                    continue;
                }
                if (replica == null) {
                    replica = options.mode().lockstep()
                            ? new LockstepReplica(this, config.group(), assignment, skewed(state, assignment.version()))
                            : new PairReplica(this, config.group(), assignment);
                    replicas.put(config.group(), replica);
                    if (assignment.role() == Role.PRIMARY) {
                        Disk disk = disks.computeIfAbsent(config.group(), g -> new Disk());
                        replica.recover(disk.snapshot, List.copyOf(disk.entries), config);
                        note(id + ": " + config.group() + " primary recovers from disk up to " + replica.lastIndex());
                    }
                }
                Replica configured = replica;
                configured.step(() -> configured.configure(config));
            }
        }

        void onClientRequest(Client client, long requestId, GroupId group, long session, long sequence, byte[] payload) {
            Replica replica = replicas.get(group);
            if (replica == null) {
                client.reply(this, requestId, new Reply.NotPrimary(0, ""));
                return;
            }
            replica.step(() -> replica.onClientCommand(new ClientCommand(requestId, session, sequence, payload)));
        }

        /** Runs a disk operation after the ones queued before it; lost if the node crashes first. */
        void disk(Runnable operation) {
            long thisBoot = boot;
            diskFreeAt = Math.max(diskFreeAt, now) + 20_000L + random.nextLong(500_000L);
            events.add(new Event(diskFreeAt, eventSequence++, id, () -> {
                if (alive && boot == thisBoot) {
                    operation.run();
                }
            }));
        }
    }

    /** What a node keeps on disk for one group. */
    private static final class Disk {
        byte[] snapshot;
        long snapshotIndex;
        final List<LogEntry> entries = new ArrayList<>();

        long lastIndex() {
            return entries.isEmpty() ? snapshotIndex : entries.get(entries.size() - 1).index();
        }
    }

    /**
     * One replica or lockstep member on a node: the simulated disk, network and controller behind
     * the core's output, and the core's inputs under one name whatever the mode.
     */
    private abstract class Replica {
        final Node node;
        final GroupId group;
        final ReplicaAssignment assignment;
        boolean gone;

        Replica(Node node, GroupId group, ReplicaAssignment assignment) {
            this.node = node;
            this.group = group;
            this.assignment = assignment;
        }

        abstract void configure(GroupConfig config);

        abstract void recover(byte[] snapshot, List<LogEntry> tail, GroupConfig config);

        abstract void onClientCommand(ClientCommand command);

        abstract void persisted(long index);

        abstract void snapshotInstalled(long index);

        abstract void connectionLost(String peer);

        abstract void tick();

        abstract void flush();

        abstract void checkInvariants();

        abstract Role role();

        abstract long epoch();

        abstract long lastIndex();

        abstract long durableIndex();

        abstract long commitIndex();

        abstract boolean awaitingSnapshot();

        abstract byte[] encodeState();

        /** Runs one input on the core, then sends what it batched and checks its invariants. */
        void step(Runnable input) {
            input.run();
            flush();
            checkInvariants();
        }

        boolean current() {
            return !gone && node.replicas.get(group) == this;
        }

        public void persist(LogEntry entry) {
            if (role() == Role.PRIMARY) {
                orderedLog.computeIfAbsent(group, g -> new HashMap<>()).computeIfAbsent(entry.index(), i -> new HashSet<>())
                        .add(new String(entry.payload(), StandardCharsets.UTF_8));
            }
            node.disk(() -> {
                Disk disk = node.disks.computeIfAbsent(group, g -> new Disk());
                if (entry.index() != disk.lastIndex() + 1) {
                    throw failure(node.id + " " + group + ": disk append " + entry.index() + " after " + disk.lastIndex());
                }
                disk.entries.add(entry);
                if (current()) {
                    step(() -> persisted(entry.index()));
                }
            });
        }

        public void installSnapshot(long index, byte[] state) {
            node.disk(() -> {
                Disk disk = node.disks.computeIfAbsent(group, g -> new Disk());
                disk.entries.clear();
                disk.snapshot = state;
                disk.snapshotIndex = index;
                if (current()) {
                    step(() -> snapshotInstalled(index));
                }
            });
        }

        public void saveSnapshot(long index, byte[] state) {
            node.disk(() -> {
                Disk disk = node.disks.computeIfAbsent(group, g -> new Disk());
                if (index < disk.snapshotIndex || index > disk.lastIndex()) {
                    return;
                }
                disk.snapshot = state;
                disk.snapshotIndex = index;
                disk.entries.removeIf(e -> e.index() <= index);
            });
        }

        /** Delivers a message to the replica of this group on {@code to}, if it is still there then. */
        void sendTo(String to, java.util.function.Consumer<Replica> onArrival) {
            deliver(node.id, to, () -> {
                Replica target = nodes.get(to).replicas.get(group);
                if (target != null) {
                    target.step(() -> onArrival.accept(target));
                }
            });
        }

        public void reply(long requestId, Reply reply) {
            if (reply instanceof Reply.Ok) {
                String key = group + "@" + epoch();
                String previous = releaserByGroupEpoch.putIfAbsent(key, node.id);
                if (previous != null && !previous.equals(node.id)) {
                    throw failure("split brain: " + previous + " and " + node.id + " both released results in " + key);
                }
                if (role() != Role.PRIMARY) {
                    throw failure(node.id + " released a result for " + group + " while " + role());
                }
            }
            Client client = clients.get((int) (requestId >>> 40));
            if (!isolated.contains(node.id) && random.nextDouble() >= options.dropProbability()) {
                schedule(delay(), null, () -> client.reply(node, requestId, reply));
            }
        }

        public void control(ControlCommand command) {
            note(node.id + " " + group + ": proposes " + command);
            if (command instanceof ControlCommand.ReplicaCrashed crashed && crashed.poison() != null && role() != Role.PRIMARY) {
                // The poison got past an orderer whose injected self-check fault stood in for running it.
                poisonPastOrderer++;
            }
            if (command instanceof ControlCommand.GroupHalted halted) {
                onHalt(halted);
            }
            if (command instanceof ControlCommand.HandedOver handedOver && this instanceof PairReplica pair) {
                // As the runtime does: the controller's answer reaches the proposing replica, often
                // before the new configuration does, and its held commands go to the successor then.
                toController(node, () -> {
                    if (applyControl(command) && random.nextDouble() >= options.dropProbability()) {
                        schedule(delay(), node.id, () -> {
                            if (pair.current()) {
                                earlyRedirects++;
                                pair.step(() -> pair.core.handOverCommitted(handedOver.epoch()));
                            }
                        });
                    }
                });
                return;
            }
            toController(node, () -> applyControl(command));
        }

        public void suspect(String suspect, boolean connectionClosed, String reason) {
            note(node.id + " " + group + ": suspects " + suspect + " (" + reason + ")");
            toController(node, () -> supervisor.suspected(suspect, connectionClosed, now));
        }
    }

    /** A replica of the process-pair protocol. */
    private final class PairReplica extends Replica implements ReplicaOutput {
        final ReplicaCore core;

        PairReplica(Node node, GroupId group, ReplicaAssignment assignment) {
            super(node, group, assignment);
            this.core = new ReplicaCore(group, assignment, new HistoryService(), replicaSettings, this);
        }

        @Override
        public void send(String to, PeerMessage message) {
            sendTo(to, target -> ((PairReplica) target).core.onMessage(node.id, message, now));
        }

        @Override void configure(GroupConfig config) { core.configure(config, now); }
        @Override void recover(byte[] snapshot, List<LogEntry> tail, GroupConfig config) { core.recover(snapshot, tail); }
        @Override void onClientCommand(ClientCommand command) { core.onClientCommand(command, now / MS); }
        @Override void persisted(long index) { core.persisted(index); }
        @Override void snapshotInstalled(long index) { core.snapshotInstalled(index); }
        @Override void connectionLost(String peer) { core.connectionLost(peer, now); }
        @Override void tick() { core.tick(now); }
        @Override void flush() { core.flush(now); }
        @Override void checkInvariants() { core.checkInvariants(); }
        @Override Role role() { return core.role(); }
        @Override long epoch() { return core.epoch(); }
        @Override long lastIndex() { return core.lastIndex(); }
        @Override long durableIndex() { return core.durableIndex(); }
        @Override long commitIndex() { return core.commitIndex(); }
        @Override boolean awaitingSnapshot() { return core.awaitingSnapshot(); }
        @Override byte[] encodeState() { return core.encodeState(); }
    }

    /** A member of a lockstep group. */
    private final class LockstepReplica extends Replica implements LockstepOutput {
        final LockstepCore core;

        LockstepReplica(Node node, GroupId group, ReplicaAssignment assignment, boolean skewed) {
            super(node, group, assignment);
            this.core = new LockstepCore(group, assignment, new HistoryService(skewed), lockstepSettings, this);
        }

        @Override
        public void send(String to, LockstepMessage message) {
            sendTo(to, target -> ((LockstepReplica) target).core.onMessage(node.id, message, now));
        }

        @Override
        public void dump(String reason, long index, byte[] state, List<LogEntry> lastEntries) {
            note(node.id + " " + group + ": dump at " + index + " with " + lastEntries.size() + " entries: " + reason);
            dumps++;
        }

        @Override void configure(GroupConfig config) { core.configure(config, now); }
        @Override void recover(byte[] snapshot, List<LogEntry> tail, GroupConfig config) { core.recover(snapshot, tail, config.quarantined()); }
        @Override void onClientCommand(ClientCommand command) { core.onClientCommand(command, now / MS); }
        @Override void persisted(long index) { core.persisted(index); }
        @Override void snapshotInstalled(long index) { core.snapshotInstalled(index); }
        @Override void connectionLost(String peer) { core.connectionLost(peer, now); }
        @Override void tick() { core.tick(now); }
        @Override void flush() { core.flush(now); }
        @Override void checkInvariants() { core.checkInvariants(); }
        @Override Role role() { return core.role(); }
        @Override long epoch() { return core.epoch(); }
        @Override long lastIndex() { return core.lastIndex(); }
        @Override long durableIndex() { return core.durableIndex(); }
        @Override long commitIndex() { return core.commitIndex(); }
        @Override boolean awaitingSnapshot() { return core.awaitingSnapshot(); }
        @Override byte[] encodeState() { return core.encodeState(); }
    }

    // ---------------------------------------------------------------------------------------------
    // Clients

    private final class Client {
        final int id;
        final Map<GroupId, long[]> sessions = new HashMap<>();
        final Map<GroupId, String> primaryGuess = new HashMap<>();
        long commandNumber;
        int attempt;
        boolean busy;
        GroupId group;
        long session;
        long sequence;
        String payload;
        long sentAt;

        Client(int id) {
            this.id = id;
        }

        void next() {
            if (!issuing) {
                return;
            }
            group = new GroupId(SERVICE, random.nextInt(options.partitions()));
            // One session per group, as the client library does: a session has one command in flight.
            // {session, last sequence, 1 once a command of the session ran}
            long[] state = sessions.computeIfAbsent(group, g -> new long[] {random.nextLong() | 1, 0, 0});
            session = state[0];
            sequence = ++state[1];
            commandNumber++;
            // Now and then a poison command, never a session's first (a session the servers never
            // saw run a command is unknown to them, so its next command would be refused as expired).
            // In lockstep modes an orderer whose injected self-check fault fires on it lets it into
            // the log, where the members that run it crash: the protocol must quarantine it there too.
            // Not while a silent member fault may be pending in the group (see silentFaultUntil).
            // Where the orderer's injected fault waits for its next command, poison is likelier, so
            // that seeds meet the case often enough.
            int poisonOneIn = ordererFaultPending(group) ? 3 : POISON_ONE_IN;
            boolean poison = state[2] == 1 && random.nextInt(poisonOneIn) == 0 && now >= silentFaultUntil.getOrDefault(group, 0L) && !healing;
            payload = (poison ? HistoryService.POISON_PREFIX + "-" : "") + "c" + id + "-" + commandNumber;
            sentPayloads.add(payload);
            attempt = 0;
            busy = true;
            send(primaryGuess.getOrDefault(group, randomNode()));
        }

        String randomNode() {
            List<String> ids = new ArrayList<>(nodes.keySet());
            return ids.get(random.nextInt(ids.size()));
        }

        void send(String nodeId) {
            attempt = (attempt + 1) & 0xff;
            long requestId = ((long) id << 40) | ((commandNumber & 0xffffffffL) << 8) | attempt;
            sentAt = now;
            Node node = nodes.get(nodeId);
            byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
            GroupId target = group;
            long targetSession = session;
            long targetSequence = sequence;
            if (!isolated.contains(nodeId) && random.nextDouble() >= options.dropProbability()) {
                long nodeBoot = node.boot;
                schedule(delay(), nodeId, () -> {
                    if (node.alive && node.boot == nodeBoot && !isolated.contains(nodeId)) {
                        node.onClientRequest(this, requestId, target, targetSession, targetSequence, bytes);
                    }
                });
            }
            long thisAttempt = requestId;
            schedule(100 * MS, null, () -> {
                if (busy && currentRequest() == thisAttempt) {
                    primaryGuess.remove(group);
                    send(randomNode());
                }
            });
        }

        long currentRequest() {
            return ((long) id << 40) | ((commandNumber & 0xffffffffL) << 8) | attempt;
        }

        void reply(Node from, long requestId, Reply reply) {
            if (!busy || ((requestId >>> 8) & 0xffffffffL) != (commandNumber & 0xffffffffL)) {
                return;
            }
            switch (reply) {
                case Reply.Ok ok -> {
                    if (payload.startsWith(HistoryService.POISON_PREFIX)) {
                        throw failure("client " + id + " poison command " + payload + " returned a result");
                    }
                    sessions.get(group)[2] = 1;
                    busy = false;
                    acknowledged.add(new Ack(group, payload, HistoryService.position(ok.body()), HistoryService.index(ok.body())));
                    primaryGuess.put(group, from.id);
                    schedule(random.nextLong(5 * MS), null, this::next);
                }
                case Reply.NotPrimary notPrimary -> {
                    if (requestId != currentRequest()) {
                        return;
                    }
                    String hint = notPrimary.primaryNode();
                    String target = hint.isEmpty() || hint.equals(from.id) ? randomNode() : hint;
                    primaryGuess.put(group, target);
                    schedule(MS, null, () -> {
                        if (busy && requestId == currentRequest()) {
                            send(target);
                        }
                    });
                }
                case Reply.Rejected rejected when rejected.code().equals(Reply.POISON) -> {
                    if (!payload.startsWith(HistoryService.POISON_PREFIX)) {
                        throw failure("client " + id + " command " + payload + " was quarantined as poison: " + rejected);
                    }
                    quarantined++;
                    busy = false;
                    schedule(random.nextLong(5 * MS), null, this::next);
                }
                case Reply.Rejected rejected -> {
                    if (!rejected.code().equals(Reply.GROUP_HALTED) || !haltedGroups.containsKey(group)) {
                        throw failure("client " + id + " command " + payload + " rejected: " + rejected);
                    }
                    // Never executed: the client goes on with another command, likely for another group.
                    busy = false;
                    schedule(random.nextLong(5 * MS), null, this::next);
                }
                case Reply.ApplicationError error -> throw failure("client " + id + " command " + payload + " failed: " + error);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Checks

    /** Asks for an upgrade of the service to its next version (refused while one runs). */
    private void upgrade() {
        long version = controller.services().get(SERVICE).version() + 1;
        // A third of the upgrades run in shadow mode first. In pair mode, half of those go to a
        // skewed version, which the shadow run must stop before anything is switched.
        long shadow = random.nextInt(3) == 0 ? SHADOW_COMMANDS_MIN + random.nextInt(32) : 0;
        boolean skewed = options.mode().lockstep() ? random.nextInt(3) == 0 : shadow > 0 && random.nextBoolean();
        // In lockstep modes, half the other upgrades go to a fragile version: one of its members
        // crashes once an orderer runs it (see crashFragileMember), which must roll back through
        // the old version's last members.
        boolean fragile = options.mode().lockstep() && !skewed && random.nextBoolean();
        note("upgrade: to version " + version + (skewed ? ", skewed" : "") + (fragile ? ", fragile" : "")
                + (shadow > 0 ? ", shadow " + shadow : ""));
        // Half the upgrades bake: the old version stays as backup (in lockstep, its last member
        // beside each new orderer) a while after every primary moved.
        long bakeMillis = random.nextBoolean() ? 50 + random.nextLong(500) : 0;
        propose(new ControlCommand.Upgrade(new ServiceSpec(SERVICE, version, options.mode(), options.partitions(),
                "example:history-v" + version + (skewed ? SKEWED_SUFFIX : fragile ? FRAGILE_SUFFIX : ""), "", ""), shadow, bakeMillis));
    }

    /**
     * The shortest shadow run the simulator asks for. A skewed version answers differently on a
     * quarter of the commands, so a run of 16 meets such a command with a probability above 99%;
     * the simulated runner reports a difference for every skewed run.
     */
    private static final int SHADOW_COMMANDS_MIN = 16;

    /** A shadow run under way in a group: the replica that runs it, the version, and the index it began after. */
    private record ShadowRun(Replica runner, long toVersion, long startIndex, boolean reported) {}

    private final Map<GroupId, ShadowRun> shadowRuns = new HashMap<>();
    /** Shadow reports the controller took. */
    private long shadowReports;
    /** Upgrades that a shadow run stopped with nothing switched. */
    private long shadowStops;

    /**
     * Shadow mode as the nodes run it: in each group still to report, the replica the controller
     * names ({@link ControllerState#shadowRunner}: a pair backup in sync, a lockstep follower in
     * sync) runs the new version beside its own from its next entry, and once its log has grown by
     * the upgrade's number of commands, it proposes what it compared, as any replica proposes. A run
     * is lost when its runner stops being the one, or restarts: the next runner starts afresh.
     */
    private void runShadows() {
        ServiceUpgrade upgrade = controller.upgrades().get(SERVICE);
        if (upgrade == null || upgrade.state() != ServiceUpgrade.State.SHADOW) {
            shadowRuns.clear();
            return;
        }
        long to = upgrade.to().version();
        for (GroupConfig config : controller.groups().values()) {
            GroupId group = config.group();
            ReplicaAssignment chosen = group.service().equals(SERVICE) ? controller.shadowRunner(config) : null;
            Replica runner = chosen == null ? null : replicaFor(config, chosen);
            if (runner == null || isolated.contains(runner.node.id)) {
                shadowRuns.remove(group);
                continue;
            }
            ShadowRun run = shadowRuns.get(group);
            if (run == null || run.runner() != runner || run.toVersion() != to) {
                shadowRuns.put(group, new ShadowRun(runner, to, runner.lastIndex(), false));
                continue;
            }
            if (run.reported() || runner.lastIndex() - run.startIndex() < upgrade.shadow()) {
                continue;
            }
            shadowRuns.put(group, new ShadowRun(runner, to, run.startIndex(), true));
            List<String> differences = upgrade.to().artifact().endsWith(SKEWED_SUFFIX)
                    ? List.of("entry " + (run.startIndex() + 1) + " or later: version " + to + " answered differently") : List.of();
            ControlCommand.ShadowReport report = new ControlCommand.ShadowReport(group, runner.node.id, to, upgrade.shadow(), differences);
            note(runner.node.id + " " + group + ": proposes " + report);
            toController(runner.node, () -> {
                if (applyControl(report)) {
                    shadowReports++;
                }
            });
        }
    }

    /**
     * After each change: while an upgrade runs in shadow mode, and once a shadow run stopped it,
     * every replica still runs the old version; a shadow run of a skewed version never lets its
     * upgrade go on.
     */
    private void checkShadow(ServiceUpgrade before, ServiceUpgrade after) {
        if (after == null || (after.state() != ServiceUpgrade.State.SHADOW && after.state() != ServiceUpgrade.State.SHADOW_DIFFERED)) {
            if (before != null && before.state() == ServiceUpgrade.State.SHADOW && after != null && before.to().equals(after.to())
                    && after.to().artifact().endsWith(SKEWED_SUFFIX)) {
                throw failure("the shadow run of the skewed version " + after.to().version() + " let the upgrade go on: " + after);
            }
            return;
        }
        if (after.state() == ServiceUpgrade.State.SHADOW_DIFFERED && before != null && before.state() == ServiceUpgrade.State.SHADOW) {
            shadowStops++;
            note("checked: the shadow run stopped the upgrade to version " + after.to().version() + ": " + after.reason());
        }
        for (GroupConfig config : controller.groups().values()) {
            for (ReplicaAssignment replica : config.replicas()) {
                if (config.group().service().equals(SERVICE) && replica.version() != after.from().version()) {
                    throw failure(config.group() + ": " + replica.node() + " runs version " + replica.version() + " while the upgrade is "
                            + after.state().label() + ": " + after);
                }
            }
        }
    }

    /** Names the artifact of a version that answers differently on some commands. */
    private static final String SKEWED_SUFFIX = "-skewed";
    /** Names the artifact of a version one of whose members crashes once an orderer runs it (lockstep modes). */
    private static final String FRAGILE_SUFFIX = "-fragile";
    /** The fragile upgrades (by artifact) whose member the simulator crashed already. */
    private final Set<String> fragileCrashed = new HashSet<>();
    /** Upgrades that rolled back all the way after an orderer ran the new version. */
    private long rolledBackAfterOrdererMoved;
    /** The artifact of the upgrade now rolling back after an orderer ran its version, or null. */
    private String rollingBackAfterOrdererMoved;

    /**
     * An upgrade to a fragile version, once an orderer runs it: one of its members crashes (the
     * orderer half the time), as a new version that fails only on some later command would. The
     * controller must roll back while the old version keeps a member in sync in every group.
     */
    private void crashFragileMember() {
        ServiceUpgrade upgrade = controller.upgrades().get(SERVICE);
        if (upgrade == null || !upgrade.to().artifact().endsWith(FRAGILE_SUFFIX) || fragileCrashed.contains(upgrade.to().artifact())
                || (upgrade.state() != ServiceUpgrade.State.UPGRADING && upgrade.state() != ServiceUpgrade.State.BAKING)) {
            return;
        }
        long to = upgrade.to().version();
        List<LockstepReplica> candidates = new ArrayList<>();
        List<LockstepReplica> orderers = new ArrayList<>();
        for (GroupConfig config : controller.groups().values()) {
            if (!config.group().service().equals(SERVICE) || config.primary() == null || config.primary().version() != to) {
                continue;
            }
            for (ReplicaAssignment assignment : config.replicas()) {
                if (assignment.version() == to && replicaFor(config, assignment) instanceof LockstepReplica member && !member.core.removed()) {
                    (assignment.role() == Role.PRIMARY ? orderers : candidates).add(member);
                }
            }
        }
        List<LockstepReplica> pool = !orderers.isEmpty() && (candidates.isEmpty() || random.nextBoolean()) ? orderers : candidates;
        if (pool.isEmpty()) {
            return;
        }
        LockstepReplica member = pool.get(random.nextInt(pool.size()));
        fragileCrashed.add(upgrade.to().artifact());
        note("fault: version " + to + " (fragile) crashes on " + member.node.id + " " + member.group + " (" + member.core.role() + ")");
        member.core.crash("injected: the fragile version " + to + " crashed");
    }

    /**
     * A lockstep upgrade that turned back after an orderer ran the new version ends rolled back,
     * every member on the old version, unless a group lost its last old member meanwhile (the
     * controller then says the way back closed, and the upgrade goes on).
     */
    private void checkRollbackAfterOrdererMoved(ServiceUpgrade before, ServiceUpgrade after, Map<GroupId, GroupConfig> groupsBefore) {
        if (!options.mode().lockstep() || after == null) {
            return;
        }
        if (after.state() == ServiceUpgrade.State.ROLLING_BACK && (before == null || before.state() != ServiceUpgrade.State.ROLLING_BACK)
                && groupsBefore.values().stream().anyMatch(g -> g.group().service().equals(SERVICE) && g.primary() != null
                        && g.primary().version() == after.to().version())) {
            rollingBackAfterOrdererMoved = after.to().artifact();
            return;
        }
        if (rollingBackAfterOrdererMoved == null || !rollingBackAfterOrdererMoved.equals(after.to().artifact())
                || after.state() == ServiceUpgrade.State.ROLLING_BACK) {
            return;
        }
        rollingBackAfterOrdererMoved = null;
        if (after.state() == ServiceUpgrade.State.ROLLED_BACK) {
            for (GroupConfig config : controller.groups().values()) {
                if (config.group().service().equals(SERVICE) && config.replicas().stream().anyMatch(r -> r.version() != after.from().version())) {
                    throw failure(config.group() + " has a member of another version than " + after.from().version()
                            + " after the rollback: " + config);
                }
            }
            rolledBackAfterOrdererMoved++;
            note("checked: the upgrade to version " + after.to().version() + " rolled back after an orderer ran it");
            return;
        }
        if (after.reason() == null || !after.reason().contains("cannot roll back")) {
            throw failure("the rollback of the upgrade to version " + after.to().version() + ", started after an orderer ran it, ended "
                    + after.state().label() + ": " + after);
        }
        note("upgrade: the way back closed (" + after.reason() + ")");
    }

    /** True when {@code version} of the service, in {@code state}, is a skewed one. */
    private static boolean skewed(ControllerState state, long version) {
        ServiceSpec spec = state.specFor(SERVICE, version);
        return spec != null && spec.artifact().endsWith(SKEWED_SUFFIX);
    }

    /**
     * After each change: an orderer's role moved to a member of the version an upgrade moves to only
     * once that member was proven, in a planned move or a takeover alike; a skewed version never
     * orders; an upgrade to a skewed version never ends done.
     */
    private void checkUpgrade(ControlCommand command, Map<GroupId, GroupConfig> before, Map<String, ServiceUpgrade> upgradesBefore) {
        ServiceUpgrade upgrade = controller.upgrades().get(SERVICE);
        if (upgrade == null) {
            return;
        }
        ServiceUpgrade previous = upgradesBefore.get(SERVICE);
        boolean skewedTo = upgrade.to().artifact().endsWith(SKEWED_SUFFIX);
        if (skewedTo && upgrade.state() == ServiceUpgrade.State.DONE) {
            throw failure("the upgrade to the skewed version " + upgrade.to().version() + " ended done: " + upgrade);
        }
        if (skewedTo && upgrade.state() == ServiceUpgrade.State.ROLLED_BACK && previous != null && previous.to().equals(upgrade.to())
                && previous.state() != ServiceUpgrade.State.ROLLED_BACK) {
            skewedRolledBack++;
            note("checked: the upgrade to skewed version " + upgrade.to().version() + " rolled back: " + upgrade.reason());
        }
        if (!options.mode().lockstep() || previous == null || !previous.active() || !previous.to().equals(upgrade.to())) {
            return;
        }
        long to = upgrade.to().version();
        for (GroupConfig after : controller.groups().values()) {
            GroupConfig old = before.get(after.group());
            if (old == null || old.primary().version() == to || after.primary().version() != to) {
                continue;
            }
            ReplicaAssignment orderer = after.primary();
            if (skewedTo) {
                throw failure(after.group() + ": " + orderer.node() + " of the skewed version " + to + " became orderer after " + command);
            }
            if (upgrade.proven(after.group(), orderer)) {
                provenMoves++;
                continue;
            }
            throw failure(after.group() + ": the orderer's role moved to " + orderer.node() + " of version " + to + ", not proven, after "
                    + command);
        }
    }

    private boolean settled() {
        if (clients.stream().anyMatch(c -> c.busy && !haltedGroups.containsKey(c.group))) {
            return false;
        }
        // An upgrade waits for every group of its service to be fully protected: one that halted
        // holds it until an operator resumes the group, which no simulated operator does. A lockstep
        // upgrade also waits for commands to prove its new members: with no client, it waits for good.
        boolean waitsForLoad = clients.isEmpty() && controller.upgradeWaiting(SERVICE) != null;
        if (!waitsForLoad && controller.upgrades().values().stream().anyMatch(upgrade -> upgrade.active()
                && haltedGroups.keySet().stream().noneMatch(group -> group.service().equals(upgrade.service())))) {
            return false;
        }
        // An upgrade held for good (see above) may leave a group as it stands mid-upgrade.
        ServiceUpgrade upgrade = controller.upgrades().get(SERVICE);
        boolean upgradeHeld = upgrade != null && upgrade.active();
        for (GroupConfig config : controller.groups().values()) {
            if (haltedGroups.containsKey(config.group())) {
                continue;
            }
            Replica primary = replicaFor(config, config.primary());
            // A DMR group held by the upgrade keeps its third member (of the new version) in sync
            // until it is proven, which no command comes to do.
            boolean heldWhole = upgradeHeld && config.dispute() == null && config.replicas().size() >= config.mode().replicaCount()
                    && config.replicas().stream().allMatch(r -> r.state() == ReplicaState.OK);
            if (!(config.fullyProtected() || heldWhole) || primary == null || primary.commitIndex() != primary.lastIndex()) {
                return false;
            }
            // An orderer whose every member runs the other version compares no state with them (only
            // outputs, and no command comes): there is no state check to wait for.
            boolean ownVersionMember = config.replicas().stream().anyMatch(r -> r.role() == Role.BACKUP
                    && r.version() == config.primary().version());
            if (primary instanceof LockstepReplica orderer && orderer.core.stateCheckedNanos() <= lastFaultNanos
                    && (ownVersionMember || !upgradeHeld)) {
                // A corruption may still hide in a member: wait for a state check after the last fault.
                return false;
            }
            for (ReplicaAssignment assignment : config.replicas()) {
                Replica replica = replicaFor(config, assignment);
                if (replica == null || replica.epoch() != config.epoch() || replica.lastIndex() != primary.lastIndex()
                        || replica.durableIndex() != primary.lastIndex()) {
                    return false;
                }
            }
        }
        return true;
    }

    private Replica replicaFor(GroupConfig config, ReplicaAssignment assignment) {
        Node node = nodes.get(assignment.node());
        Replica replica = node.replicas.get(config.group());
        return replica != null && node.alive && replica.assignment.sameInstance(assignment) ? replica : null;
    }

    private String describeUnsettled() {
        StringBuilder text = new StringBuilder();
        text.append("busy clients=").append(clients.stream().filter(c -> c.busy).map(c -> c.id + ":" + c.payload + "@" + c.group).toList());
        for (GroupConfig config : controller.groups().values()) {
            text.append("\n  ").append(config);
            for (ReplicaAssignment assignment : config.replicas()) {
                Replica replica = replicaFor(config, assignment);
                text.append("\n    ").append(assignment.node()).append(": ").append(replica == null ? "absent"
                        : replica.role() + " epoch=" + replica.epoch() + " last=" + replica.lastIndex() + " durable="
                                + replica.durableIndex() + " commit=" + replica.commitIndex() + " awaitingSnapshot="
                                + replica.awaitingSnapshot());
                if (replica instanceof LockstepReplica member) {
                    text.append(" stateChecked=").append(member.core.stateCheckedNanos() / MS).append(" ms halted=")
                            .append(member.core.halted()).append(" steppedDown=").append(member.core.steppedDown());
                }
            }
        }
        text.append("\n  upgrades=").append(controller.upgrades().values()).append(" waiting=").append(controller.upgradeWaiting(SERVICE));
        text.append("\n  last fault at ").append(lastFaultNanos / MS).append(" ms, halted=").append(haltedGroups);
        text.append("\n  members=").append(controller.members().values());
        return text.toString();
    }

    private void checkFinalState() {
        Map<GroupId, List<String>> histories = new TreeMap<>();
        for (GroupConfig config : controller.groups().values()) {
            if (haltedGroups.containsKey(config.group())) {
                // Its members disagree: there is no one final state to check, only the results it released.
                continue;
            }
            byte[] primaryState = replicaFor(config, config.primary()).encodeState();
            ServiceUpgrade held = controller.upgrades().get(SERVICE);
            for (ReplicaAssignment assignment : config.replicas()) {
                if (held != null && held.active() && assignment.version() != config.primary().version()) {
                    // An upgrade held for good (no command to prove its members, or a halted group)
                    // leaves members of the new version that no state check compared with the old
                    // orderer: a corruption among them shows only once one of them orders.
                    continue;
                }
                byte[] state = replicaFor(config, assignment).encodeState();
                if (!Arrays.equals(state, primaryState)) {
                    throw failure("divergence: replica on " + assignment.node() + " of " + config.group() + " differs from its primary");
                }
            }
            List<String> history = HistoryService.decode(StateCodec.decode(primaryState).service());
            Set<String> distinct = new HashSet<>(history);
            if (distinct.size() != history.size()) {
                throw failure("duplicate: a command was applied twice in " + config.group());
            }
            for (String command : history) {
                if (command.startsWith(HistoryService.POISON_PREFIX)) {
                    throw failure("poison: the state of " + config.group() + " holds the poison command \"" + command + "\"");
                }
                if (!sentPayloads.contains(command)) {
                    throw failure("corrupt: the history of " + config.group() + " holds \"" + command + "\", which no client sent");
                }
            }
            histories.put(config.group(), history);
        }
        for (Ack ack : acknowledged) {
            Set<String> ordered = orderedLog.get(ack.group()).getOrDefault(ack.index(), Set.of());
            if (!ordered.contains(ack.payload())) {
                throw failure("wrong result: acknowledged " + ack + " but the commands ordered at " + ack.index() + " are " + ordered);
            }
            List<String> history = histories.get(ack.group());
            if (history != null) {
                checkAck(ack, history);
            }
        }
    }

    /** The result a client received is the command's position in the final history. */
    private void checkAck(Ack ack, List<String> history) {
        if (ack.position() < 1 || ack.position() > history.size()) {
            throw failure("lost: acknowledged " + ack + " but the history of " + ack.group() + " has " + history.size() + " commands");
        }
        String actual = history.get((int) ack.position() - 1);
        if (!actual.equals(ack.payload())) {
            throw failure("wrong result, lost or reordered: acknowledged " + ack + " but position " + ack.position() + " holds " + actual);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Diagnostics

    private void note(String line) {
        trace.addLast(String.format("%9.3f ms  %s", now / 1e6, line));
        if (trace.size() > 400) {
            trace.removeFirst();
        }
    }

    private Failure failure(String message) {
        StringBuilder text = new StringBuilder();
        text.append("seed ").append(seed).append(" failed at ").append(now / MS).append(" ms: ").append(message)
                .append("\n  options: ").append(options)
                .append("\n  replay: ./mvnw -pl pairstep-sim -am test -Dtest=")
                .append(options.mode().lockstep() ? "LockstepSimulationTest#" + options.mode().label() : "PairSimulationTest")
                .append(" -Dpairstep.sim.seed=").append(seed)
                .append(" -Dsurefire.failIfNoSpecifiedTests=false\n  last events:\n");
        for (String line : trace) {
            text.append("    ").append(line).append('\n');
        }
        return new Failure(text.toString());
    }

    @Override
    public String toString() {
        return "Simulation{seed=" + seed + ", now=" + now + ", state=" + controller + "}";
    }
}
