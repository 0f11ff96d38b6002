package io.pairstep.core.lockstep;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.MalformedCommandException;
import io.pairstep.api.Service;
import io.pairstep.core.GroupId;
import io.pairstep.core.Invariants;
import io.pairstep.core.Mode;
import io.pairstep.core.ServiceCrashed;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.QuarantinedCommand;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.core.control.ServiceUpgrade;
import io.pairstep.core.lockstep.LockstepMessage.Append;
import io.pairstep.core.lockstep.LockstepMessage.Diverged;
import io.pairstep.core.lockstep.LockstepMessage.InstallSnapshot;
import io.pairstep.core.lockstep.LockstepMessage.Votes;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.EntryBuffer;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.Reply;
import io.pairstep.core.replica.ServiceContext;
import io.pairstep.core.replica.SessionTable;
import io.pairstep.core.replica.StateCodec;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * One member of a group in mode {@code dmr} or {@code tmr}: the lockstep protocol as a pure state
 * machine, driven like {@link io.pairstep.core.replica.ReplicaCore} by configurations, client
 * commands, peer messages, storage completions and clock ticks.
 *
 * <p>The member the controller made {@link Role#PRIMARY} is the <em>orderer</em>: it numbers each
 * command, executes it, persists it and streams it to the other members, which execute and persist
 * it too and send back a {@link Vote}: a digest of their output and, every K entries, of their
 * whole state. The orderer releases a result only when (1) the entry is durable on itself and on
 * every in-sync member, so that any in-sync member can be promoted without losing a released
 * result, and (2) the voters agree: every voter when all agree; otherwise two of three in TMR. In a
 * disagreement of two voters, the one whose own self-check failed (its service threw an unexpected
 * error) is the faulty one; when neither or both did, the group halts and releases nothing more
 * rather than guess. A member found divergent is reported to the controller, which removes it and
 * adds a fresh member that is rebuilt by snapshot.
 *
 * <p>A command whose service throws an {@link Error} (or hangs) is poison. The orderer runs each
 * command first, so it is usually the only member that meets it: it crashes and reports the command,
 * which the controller quarantines. An orderer whose self-check failed on a command did not run it
 * to the end and orders it anyway; it tells the members so, and a member that then crashes on that
 * entry reports the command as poison. Every member that meets a quarantined command in its log
 * skips it the same way, so that no member crashes on it again and their states stay identical.
 *
 * <p>When nothing happens for a while the orderer also asks every member for a digest of its state,
 * so that a corruption is caught even if no command follows it.
 *
 * <p>Fencing is the pair protocol's: every message carries its epoch and a member ignores any
 * other. A member promoted to orderer trusts only the entries an earlier orderer told it it agreed
 * on; every later entry is voted on again, so a member that was outvoted never releases its own
 * result of that entry.
 *
 * <p>During an online upgrade a group holds members of two versions of its service ({@link
 * ReplicaAssignment#version()}). What is compared across versions is the <em>output</em> of every
 * entry (and each member's self-check): a new version that answers differently is caught, which is
 * the point of running it in lockstep. <em>State</em> digests (those every K entries in the votes,
 * and the idle state checks) are compared only between members of the same version, since two
 * versions may well store the same state in different formats: a member of another version than
 * the orderer neither votes in a state check nor is judged by its state digest. When only members
 * of another version answer differently from the orderer, either that version changed an answer or
 * the orderer is damaged; a member of the orderer's own version decides: when one in sync voted
 * with the orderer, the members of the other version are found divergent however many they are
 * (the controller then turns the upgrade back while orderers run the old version); while one is
 * still catching up, the orderer releases nothing until it votes; with none, the entry is judged as
 * without an upgrade (majority, referee, or halt). A member that applied entries while only members
 * of another version compared them (as a member under an orderer of another version, or as an
 * orderer whose only voters run another version) vouches for none of those states, not even alone or
 * once it orders, until a member of its own version agrees on a later state: none of them becomes a
 * verified state to rebuild members from, and none confirms the orderer against a member catching
 * up. So while an upgrade mixes versions a corruption no output shows is caught only among members
 * of one version; the controller moves members so that an orderer has a member of its own version in
 * sync, or catching up, at every step. (The simulator found each of these rules.)
 */
public final class LockstepCore {

    /** Timing and limits of one member. */
    public record Settings(
            long heartbeatIntervalNanos,
            long suspectTimeoutNanos,
            long retransmitNanos,
            long memberTimeoutNanos,
            long idleCheckNanos,
            int appendEntriesMax,
            int sessionCapacity,
            long snapshotIntervalEntries,
            int unacknowledgedEntriesMax,
            long stateDigestIntervalEntries,
            int votesRetainedMax,
            int dumpEntriesMax) {

        public Settings {
            if (stateDigestIntervalEntries < 1 || dumpEntriesMax < 0 || appendEntriesMax < 1) {
                throw new IllegalArgumentException("invalid lockstep settings " + stateDigestIntervalEntries + "/" + dumpEntriesMax);
            }
            if (Integer.bitCount(votesRetainedMax) != 1 || votesRetainedMax < unacknowledgedEntriesMax) {
                throw new IllegalArgumentException("votesRetainedMax must be a power of two of at least unacknowledgedEntriesMax");
            }
        }

        public static Settings defaults() {
            return new Settings(20_000_000L, 300_000_000L, 100_000_000L, 1_000_000_000L, 1_000_000_000L, 1024, 100_000,
                    100_000, 65_536, ServiceSpec.DIGEST_EVERY_DEFAULT, 65_536, 64);
        }

        /** These settings with state digests compared every {@code entries} log entries (the service's choice). */
        public Settings withStateDigestIntervalEntries(long entries) {
            return new Settings(heartbeatIntervalNanos, suspectTimeoutNanos, retransmitNanos, memberTimeoutNanos, idleCheckNanos,
                    appendEntriesMax, sessionCapacity, snapshotIntervalEntries, unacknowledgedEntriesMax, entries, votesRetainedMax,
                    dumpEntriesMax);
        }
    }

    /** Another member, as the orderer tracks it. */
    private static final class Peer {
        ReplicaAssignment assignment;
        /** An in-sync voter: the orderer waits for its durable vote before releasing. */
        boolean required;
        /** Why it was found divergent, or null; reported again at each new epoch until it is removed. */
        ControlCommand.ReplicaDiverged divergence;
        boolean agreementKnown;
        long durableIndex;
        long nextIndex;
        /** This peer's votes are here, or not expected, up to this index. */
        long votedIndex;
        /** This peer's votes matched every released entry up to this index. */
        long agreedIndex;
        /** Entries up to here reached this peer in a snapshot: it has no vote for them. */
        long voteFloor;
        final TreeMap<Long, Vote> votes = new TreeMap<>();
        long checkIndex;
        long checkDigest;
        boolean snapshotPending;
        long snapshotIndex = -1;
        boolean snapshotAcknowledged = true;
        long lastSentNanos;
        long lastProgressNanos;
        long lastRetransmitNanos;
        boolean caughtUpReported;
        boolean failureReported;
        /**
         * Entries this peer, of a newer version than the orderer (an upgrade under way), voted on in
         * agreement since it came in sync; see {@link #reportProvenIfSo}.
         */
        long agreedAsNewerVersion;
        boolean provenReported;

        Peer(ReplicaAssignment assignment, long nowNanos) {
            this.assignment = assignment;
            this.lastProgressNanos = nowNanos;
        }

        String node() {
            return assignment.node();
        }

        /** Entries after this index may still be needed by this peer from the orderer's memory. */
        long needsAfter() {
            if (snapshotPending) {
                return Long.MAX_VALUE;
            }
            return snapshotAcknowledged ? durableIndex : snapshotIndex;
        }
    }

    /** An entry not yet released that clients wait for. */
    private static final class Waiting {
        final long index;
        final long session;
        final long sequence;
        final Reply reply;
        final List<Long> requestIds = new ArrayList<>(1);

        Waiting(long index, long session, long sequence, Reply reply, long requestId) {
            this.index = index;
            this.session = session;
            this.sequence = sequence;
            this.reply = reply;
            requestIds.add(requestId);
        }
    }

    /** The outcome of comparing the voters' evidence at one index. */
    private enum Verdict {
        /** Not every voter has voted yet. */
        WAIT,
        /** The orderer's result is the agreed one. */
        PROCEED,
        /** The orderer must release nothing more: it diverged itself, or the group halted. */
        STOP
    }

    private static final int ERROR_MESSAGE_LENGTH_MAX = 1000;
    /** Longest description of a command in a divergence report. */
    private static final int DESCRIPTION_LENGTH_MAX = 200;

    private final GroupId group;
    private final ReplicaAssignment identity;
    private final Service service;
    private final Settings settings;
    private final LockstepOutput out;
    private final ServiceContext context;
    private SessionTable sessions;

    private GroupConfig config;
    private Role role;
    private boolean removed;
    /** Why this member crashed, or null: a crashed member acts on nothing more and waits to be rebuilt. */
    private String crashed;
    private boolean awaitingSnapshot;
    private boolean rebuildRequested;

    private long lastIndex;
    private long lastEpoch;
    private long lastTimestampMillis;
    private long durableIndex;
    /** Orderer: results released up to here. Other members: the agreed index their orderer told them. */
    private long commitIndex;
    private long lastSnapshotIndex;
    private int installsInFlight;

    private final EntryBuffer log = new EntryBuffer();
    private final VoteLog votes;
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private final TreeMap<Long, Waiting> lateWaiting = new TreeMap<>();
    private final HashMap<Long, Waiting> waitingBySession = new HashMap<>();
    private TreeMap<String, Peer> peers = new TreeMap<>();

    /** Why this member's state is suspect, once it is known; handed to the dump. */
    private String divergence;
    /** The orderer found itself divergent and waits to be replaced. */
    private boolean steppedDown;
    /**
     * The controller asked this orderer to hand its role over ({@link GroupConfig#handover()}): it
     * orders nothing more in this epoch and reports once every member in sync holds its last entry.
     */
    private boolean handingOver;
    /** The hand-over of this epoch was reported. */
    private boolean handoverReported;
    /** Why the group halted, or null. */
    private String halted;
    /** The epoch in which this orderer last asked the controller for a referee (DMR), or 0. */
    private long refereeAskedEpoch;

    /** Its encoded state at every K-th index not yet agreed on, kept to become a verified state. */
    private final TreeMap<Long, byte[]> boundaryStates = new TreeMap<>();
    /**
     * Its latest state that the voters agreed on: as orderer, the only state it sends to rebuild a
     * member. Every member keeps one, so that a new orderer has one from the start.
     */
    private byte[] verifiedState;
    private long verifiedStateIndex = -1;
    /**
     * True once this member applied entries whose states no member of its own version compared (an
     * upgrade mixed versions), until one does: meanwhile, even alone, it vouches for none of its states.
     */
    private boolean stateUnvouched;
    /** The states up to this index were compared by no member of this member's version. */
    private long unvouchedThrough;

    private long activityIndex = -1;
    private long activityNanos;
    private long checkIndex;
    private byte[] checkState;
    private long stateCheckedIndex = -1;
    private long stateCheckedNanos = Long.MIN_VALUE;
    /** When the state check in progress started; the states it compares were all taken after it. */
    private long checkStartedNanos;

    private ReplicaAssignment ordererInstance;
    /**
     * Orderer: its last index when it became orderer. Its predecessor may have released any entry up
     * to here (each was durable on every in-sync member), though this orderer votes on the ones after
     * its commit index again: a member is in sync only once it holds them too, or, promoted, it
     * could order other commands in their place.
     */
    private long inheritedIndex;
    private long lastHeardFromOrdererNanos;
    private boolean ordererDisconnected;
    private long lastSuspicionNanos = Long.MIN_VALUE / 2;
    private long votesWanted;
    private long ordererLastIndexSeen;
    private long checkRequested;

    private boolean divergeNextOutput;
    private boolean failNextSelfCheck;

    /** The quarantined commands {@link #recover} skips; afterwards the configuration's list counts. */
    private List<QuarantinedCommand> recoveryQuarantine = List.of();
    /** Why the service crashed while this member recovered from its own log, or null. */
    private String recoveryCrash;
    /** The entry it crashed on while recovering: reported as poison at the first configuration. */
    private LogEntry recoveryPoison;

    /**
     * @param identity this member instance as the controller placed it
     * @param service a fresh service instance with empty state
     * @param out where decisions go
     */
    public LockstepCore(GroupId group, ReplicaAssignment identity, Service service, Settings settings, LockstepOutput out) {
        this.group = group;
        this.identity = identity;
        this.service = service;
        this.settings = settings;
        this.out = out;
        this.context = new ServiceContext(group);
        this.sessions = new SessionTable(settings.sessionCapacity());
        this.votes = new VoteLog(settings.votesRetainedMax());
        this.awaitingSnapshot = identity.state() == ReplicaState.SYNCING;
        if (!awaitingSnapshot) {
            // A member in sync from the start is in a new group, where every member is empty.
            verify(0, encodeState());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Inputs

    /**
     * Rebuilds the state from this member's own durable snapshot and log, before the first
     * configuration. Used by an orderer that restarts with nobody able to replace it.
     */
    public void recover(byte[] snapshot, List<LogEntry> tail) {
        recover(snapshot, tail, List.of());
    }

    /**
     * Rebuilds the state as {@link #recover(byte[], List)} does, skipping the commands the group
     * quarantined the way every member skips them. Its own log may hold a poison command:
     * one on which its self-check failed as orderer, so that it never ran it to the end. If the
     * service crashes on an entry, recovery stops there and the member reports the command as poison
     * at its first configuration; the controller quarantines it, and the next instance on this node
     * recovers past it.
     *
     * @param quarantined the group's quarantined commands, from the configuration that made this
     *     member recover
     */
    public void recover(byte[] snapshot, List<LogEntry> tail, List<QuarantinedCommand> quarantined) {
        Invariants.check(config == null, "recover after configure");
        recoveryQuarantine = List.copyOf(quarantined);
        if (snapshot != null) {
            restore(StateCodec.decode(snapshot));
        }
        for (LogEntry entry : tail) {
            if (entry.index() > lastIndex) {
                applyingIsPoison = true; // as below: a crash here makes the entry poison
                try {
                    apply(entry);
                } catch (ServiceCrashed e) {
                    recoveryCrash = e.reason() + " at entry " + entry.index() + " of its own log";
                    recoveryPoison = entry;
                    break;
                }
                log.add(entry);
            }
        }
        applyingIsPoison = false;
        durableIndex = lastIndex;
        // Everything it holds was durable on every in-sync member before it was released, and it
        // is the only member left: what it holds is the group's history. Nobody checked its state
        // since the restart: the next state check does, unless it holds nothing.
        commitIndex = lastIndex;
        awaitingSnapshot = false;
        if (lastIndex > 0) {
            verifiedState = null;
            verifiedStateIndex = -1;
            boundaryStates.clear();
        }
    }

    /** A configuration from the controller. Older or equal epochs are ignored. */
    public void configure(GroupConfig next, long nowNanos) {
        if (removed || (config != null && next.epoch() <= config.epoch())) {
            return;
        }
        Invariants.check(next.group().equals(group), "configuration of %s given to %s", next.group(), group);
        Invariants.check(next.mode().lockstep(), "%s: mode %s given to a lockstep member", group, next.mode());
        ReplicaAssignment me = next.replicaOn(identity.node());
        if (me == null || !identity.sameInstance(me)) {
            leave(next);
            return;
        }
        Role before = role;
        config = next;
        role = me.role();
        if (recoveryCrash != null) {
            // Not knowing its group before, it could not report it when it happened.
            crash(recoveryCrash, poisonAt(recoveryPoison, recoveryCrash));
            return;
        }
        if (next.halted() != null) {
            halted = next.halted();
        } else if (halted != null) {
            // An operator resumed the group and kept this member: what it holds is the history now,
            // whatever an earlier vote said of it.
            halted = null;
            steppedDown = false;
            divergence = null;
            if (me.role() == Role.PRIMARY && !awaitingSnapshot) {
                // Fresh members are rebuilt from this state as it is, not by executing the disputed
                // entries again: executed once more they could well disagree again.
                verifiedState = encodeState();
                verifiedStateIndex = lastIndex;
                boundaryStates.clear();
            }
        }
        // Any new member must take part in a state check before the group counts as verified.
        stateCheckedIndex = -1;
        checkIndex = 0;
        // An injected fault hits this configuration only: once a member is gone, nobody could outvote it.
        divergeNextOutput = false;
        failNextSelfCheck = false;
        handingOver = role == Role.PRIMARY && next.handover();
        handoverReported = false;
        if (role == Role.PRIMARY) {
            if (rebuildRequested && installsInFlight == 0) {
                // Its log took another turn than the last orderer's, but that orderer is gone: every
                // released entry is durable here too, so this history is as good as the other.
                awaitingSnapshot = false;
                rebuildRequested = false;
            }
            Invariants.check(!awaitingSnapshot, "%s: a member without state became orderer", group);
            if (before != Role.PRIMARY) {
                if (ordererInstance != null && ordererInstance.version() != identity.version()) {
                    // Its orderer compared only its outputs: its states so far are vouched for by nobody.
                    markUnvouched(lastIndex);
                }
                peers = new TreeMap<>();
                ordererInstance = null;
                // Entries it got in a snapshot carry no vote of its own: they count as agreed.
                commitIndex = Math.max(commitIndex, votes.floor());
                inheritedIndex = lastIndex;
            }
            trackPeers(next, nowNanos);
            if (before != Role.PRIMARY && divergence != null) {
                // Its orderer found it divergent and was lost before the controller removed it.
                steppedDown = true;
            }
            if (steppedDown) {
                // The earlier report named a stale epoch; the controller must still replace this orderer.
                out.control(new ControlCommand.ReplicaDiverged(group, next.epoch(), identity.node(), identity.node(), lastIndex, divergence));
            }
            advanceCommit();
            flush(nowNanos);
        } else {
            Invariants.check(before != Role.PRIMARY, "%s: an orderer is never demoted in place", group);
            ReplicaAssignment orderer = next.primary();
            if (ordererInstance != null && !ordererInstance.sameInstance(orderer)) {
                if (me.state() == ReplicaState.SYNCING) {
                    awaitingSnapshot = true;
                }
                votesWanted = commitIndex;
            }
            ordererInstance = orderer;
            ordererLastIndexSeen = 0;
            heardFromOrderer(nowNanos);
        }
    }

    /**
     * A client command.
     *
     * @param nowMillis wall-clock time from the runtime; becomes the command's timestamp if later
     *     than the last one
     */
    public void onClientCommand(ClientCommand command, long nowMillis) {
        if (role != Role.PRIMARY || steppedDown) {
            out.reply(command.requestId(), notPrimary());
            return;
        }
        SessionTable.Entry last = sessions.get(command.session());
        boolean executed = last != null && command.sequence() <= last.sequence();
        if (halted != null) {
            // Not even a stored result: which of the members' results is right is what nobody knows.
            if (!executed) {
                out.reply(command.requestId(), new Reply.Rejected(Reply.GROUP_HALTED, "the group's members disagree: " + halted));
            }
            return;
        }
        if (executed) {
            if (command.sequence() < last.sequence()) {
                out.reply(command.requestId(), new Reply.Rejected(Reply.STALE_SEQUENCE, "sequence " + command.sequence()
                        + " is older than the session's last command " + last.sequence()));
            } else if (last.index() <= commitIndex) {
                out.reply(command.requestId(), last.reply());
            } else {
                waitFor(command, last);
            }
            return;
        }
        if (handingOver) {
            // Its role moves to another member: nothing new is ordered here, so that every member in
            // sync holds the same entries when it does. The client asks again, and finds the next orderer.
            out.reply(command.requestId(), new Reply.NotPrimary(config.epoch(), ""));
            return;
        }
        QuarantinedCommand poison = config.quarantined(command.session(), command.sequence());
        if (poison != null) {
            // Never run again: it crashed a member once, and the next run could crash every member.
            out.reply(command.requestId(), poisonReply(poison));
            return;
        }
        long timestampMillis = Math.max(lastTimestampMillis, nowMillis);
        LogEntry entry = new LogEntry(lastIndex + 1, config.epoch(), timestampMillis, command.session(), command.sequence(), command.payload());
        Reply reply;
        applyingRequestId = command.requestId();
        applyingIsPoison = true;
        try {
            reply = apply(entry);
        } catch (ServiceCrashed e) {
            applyingRequestId = NO_REQUEST;
            applyingIsPoison = false;
            // The orderer runs a command before any other member sees it: only this member's state did.
            crash(e.reason(), poisonAt(entry, e.reason()));
            // Its client asks again, and meets the quarantine at the replica that takes over.
            out.reply(command.requestId(), new Reply.NotPrimary(config.epoch(), ""));
            return;
        }
        applyingRequestId = NO_REQUEST;
        applyingIsPoison = false;
        out.persist(entry);
        log.add(entry);
        Waiting entryWaiting = new Waiting(entry.index(), command.session(), command.sequence(), reply, command.requestId());
        waiting.addLast(entryWaiting);
        waitingBySession.put(command.session(), entryWaiting);
        maybeSnapshot();
    }

    /** A message from the member of this group on {@code from}. */
    public void onMessage(String from, LockstepMessage message, long nowNanos) {
        if (removed || config == null || message.epoch() != config.epoch()) {
            return;
        }
        switch (message) {
            case Append append -> onAppend(from, append, nowNanos);
            case Votes votesMessage -> onVotes(from, votesMessage, nowNanos);
            case InstallSnapshot install -> onInstallSnapshot(from, install, nowNanos);
            case Diverged diverged -> {
                if (role == Role.BACKUP && from.equals(ordererInstance.node())) {
                    divergence = diverged.evidence();
                }
            }
        }
    }

    /** The log is durable up to {@code index}. */
    public void persisted(long index) {
        if (installsInFlight > 0 || removed) {
            return;
        }
        Invariants.check(index <= lastIndex, "%s: persisted %d beyond last %d", group, index, lastIndex);
        if (index <= durableIndex) {
            return;
        }
        durableIndex = index;
        if (role == Role.PRIMARY) {
            advanceCommit();
        } else if (role == Role.BACKUP) {
            sendVotes(false);
        }
    }

    /** The snapshot given to {@link LockstepOutput#installSnapshot} for {@code index} is durable. */
    public void snapshotInstalled(long index) {
        Invariants.check(installsInFlight > 0, "%s: snapshot installed without a request", group);
        installsInFlight--;
        if (installsInFlight == 0 && !removed) {
            durableIndex = index;
            if (role == Role.BACKUP) {
                sendVotes(false);
            }
        }
    }

    /** The runtime's connection to {@code node} broke. */
    public void connectionLost(String node, long nowNanos) {
        if (role == Role.BACKUP && ordererInstance != null && ordererInstance.node().equals(node)) {
            ordererDisconnected = true;
            reportSuspicion(nowNanos);
        } else if (role == Role.PRIMARY && peers.containsKey(node)) {
            reportFailure(peers.get(node), "connection to member closed");
        }
    }

    /** Time passes. Drives heartbeats, retransmission, idle state checks and failure suspicion. */
    public void tick(long nowNanos) {
        if (removed || config == null) {
            return;
        }
        if (role == Role.BACKUP) {
            boolean silent = nowNanos - lastHeardFromOrdererNanos > settings.suspectTimeoutNanos();
            if ((ordererDisconnected || silent) && nowNanos - lastSuspicionNanos >= 2 * settings.heartbeatIntervalNanos()) {
                reportSuspicion(nowNanos);
            }
            return;
        }
        if (lastIndex != activityIndex) {
            activityIndex = lastIndex;
            activityNanos = nowNanos;
        }
        maybeStartStateCheck(nowNanos);
        for (Peer peer : peers.values()) {
            boolean behind = peer.durableIndex < lastIndex || peer.snapshotPending || !peer.snapshotAcknowledged;
            if (!behind) {
                // Silence while there is nothing to acknowledge is no failure: the clock starts when work does.
                peer.lastProgressNanos = nowNanos;
            }
            if (behind && nowNanos - peer.lastProgressNanos > settings.memberTimeoutNanos()) {
                reportFailure(peer, "no acknowledgement for " + (nowNanos - peer.lastProgressNanos) / 1_000_000 + " ms");
            }
            long retransmitNanos = peer.snapshotAcknowledged ? settings.retransmitNanos() : settings.memberTimeoutNanos() / 4;
            if (behind && nowNanos - Math.max(peer.lastProgressNanos, peer.lastRetransmitNanos) >= retransmitNanos) {
                peer.lastRetransmitNanos = nowNanos;
                rewind(peer);
            }
        }
        flush(nowNanos);
        for (Peer peer : peers.values()) {
            if (nowNanos - peer.lastSentNanos >= settings.heartbeatIntervalNanos()) {
                send(peer, append(peer, List.of()), nowNanos);
            }
        }
    }

    /**
     * The service is still running a command: the orderer tells the other members it is alive, so
     * that a long command is judged by the watchdog rather than taken for a dead orderer. The
     * runtime's watchdog calls it from its own thread while this core's thread is inside a service
     * call and waits for it, so it only sends heartbeats.
     */
    public void keepAlive(long nowNanos) {
        if (role == Role.PRIMARY && !removed) {
            for (Peer peer : peers.values()) {
                if (!peer.snapshotPending && peer.snapshotAcknowledged) {
                    send(peer, append(peer, List.of()), nowNanos);
                }
            }
        }
    }

    /** Sends what accumulated for the other members. The runtime calls it after a batch of inputs. */
    public void flush(long nowNanos) {
        if (role != Role.PRIMARY) {
            return;
        }
        for (Peer peer : peers.values()) {
            if (peer.snapshotPending) {
                sendSnapshot(peer, nowNanos);
            }
            while (!peer.snapshotPending && peer.nextIndex <= lastIndex) {
                if (log.isEmpty() || peer.nextIndex < log.firstIndex()) {
                    // The entries it needs next are gone from memory: it is rebuilt from a snapshot
                    // (sent at the next flush), as in rewind. This happens when it asked for entries
                    // again and, in the same step, was found divergent: trimLog keeps nothing for a
                    // member that waits to be removed.
                    peer.snapshotPending = true;
                    break;
                }
                int count = (int) Math.min(settings.appendEntriesMax(), lastIndex - peer.nextIndex + 1);
                List<LogEntry> entries = new ArrayList<>(count);
                for (long index = peer.nextIndex; index < peer.nextIndex + count; index++) {
                    entries.add(log.get(index));
                }
                send(peer, append(peer, entries), nowNanos);
                peer.nextIndex += count;
            }
        }
        reportHandoverIfDone();
    }

    /**
     * A hand-over is done once every entry is agreed on and durable here and on every member in
     * sync: the member that orders next holds every entry any other holds, so none of them must be
     * rebuilt (its state could not go back), which matters when the only member that could rebuild it
     * runs another version (an upgrade).
     */
    private void reportHandoverIfDone() {
        if (!handingOver || handoverReported || removed || steppedDown || halted != null || commitIndex != lastIndex
                || durableIndex < lastIndex) {
            return;
        }
        for (Peer peer : peers.values()) {
            if (peer.required && peer.divergence == null && (peer.durableIndex < lastIndex || peer.snapshotPending)) {
                return;
            }
        }
        handoverReported = true;
        out.control(new ControlCommand.HandedOver(group, config.epoch(), identity.node(), identity.incarnation(), lastIndex));
    }

    // ---------------------------------------------------------------------------------------------
    // Fault injection, for tests and the runtime's fault commands

    /**
     * Flips one bit of this member's service state, chosen by {@code seed}, as a memory fault
     * would. The service must accept the damaged snapshot in {@link Service#restore}.
     *
     * @return false when the service state is empty and there is no bit to flip
     */
    public boolean injectStateCorruption(long seed) {
        byte[] state = service.snapshot();
        if (state.length == 0) {
            return false;
        }
        long bit = Math.floorMod(seed, (long) state.length * 8);
        state[(int) (bit / 8)] ^= (byte) (1 << (bit % 8));
        service.restore(state);
        return true;
    }

    /** True while an injected output divergence or self-check failure waits for this member's next command. */
    public boolean injectedFaultPending() {
        return divergeNextOutput || failNextSelfCheck;
    }

    /**
     * This member's output for its next command will differ from what the service returned. Like
     * {@link #injectSelfCheckFailure}, it lapses at the next configuration: with a member gone there
     * may be nobody left to outvote it.
     */
    public void injectOutputDivergence() {
        divergeNextOutput = true;
    }

    /**
     * This member's next command fails as if its service threw an unexpected error here only: its
     * state is left without that command and its self-check reports the failure.
     */
    public void injectSelfCheckFailure() {
        failNextSelfCheck = true;
    }

    // ---------------------------------------------------------------------------------------------
    // Members other than the orderer

    private void onAppend(String from, Append append, long nowNanos) {
        if (role != Role.BACKUP || !from.equals(ordererInstance.node())) {
            return;
        }
        heardFromOrderer(nowNanos);
        ordererLastIndexSeen = Math.max(ordererLastIndexSeen, append.lastIndex());
        commitIndex = Math.max(commitIndex, Math.min(append.agreedIndex(), lastIndex));
        if (ordererInstance.version() == identity.version()) {
            verifyThrough(commitIndex);
        } else {
            markUnvouched(lastIndex);
            // The orderer compared this member's state digests with its own; one of another version
            // (an upgrade under way) compared only outputs, which vouch for no state: these states
            // must never become verified, not even once this member orders itself.
            boundaryStates.headMap(commitIndex, true).clear();
        }
        votesWanted = append.votesThrough();
        checkRequested = append.checkIndex();
        if (awaitingSnapshot) {
            if (rebuildRequested) {
                sendVotes(false);
            }
            return;
        }
        if (lastIndex > ordererLastIndexSeen || !sameEntry(append.previousIndex(), append.previousEpoch())) {
            // This member holds entries the orderer does not: an earlier orderer ordered them and
            // they were never released. The state cannot go back, so it is rebuilt.
            requestRebuild();
            return;
        }
        if (append.previousIndex() > lastIndex) {
            if (installsInFlight == 0) {
                sendVotes(true);
            }
            return;
        }
        boolean appended = false;
        for (LogEntry entry : append.entries()) {
            if (entry.index() <= lastIndex) {
                if (!sameEntry(entry.index(), entry.epoch())) {
                    requestRebuild();
                    return;
                }
                continue;
            }
            applyingIsPoison = !append.selfCheckFailures().isEmpty() && append.selfCheckFailures().contains(entry.index());
            try {
                apply(entry);
            } catch (ServiceCrashed e) {
                // Where the orderer ran the entry fine, the fault is this member's, not the command's.
                // Where the orderer's own self-check failed on it, no member ran it to the end but
                // this one, and it crashed: the command is poison. Quarantined, it is skipped by every
                // member rebuilt through this entry, instead of crashing each of them in turn.
                QuarantinedCommand poison = append.selfCheckFailures().contains(entry.index())
                        ? poisonAt(entry, e.reason()) : null;
                crash(e.reason() + " at entry " + entry.index(), poison);
                return;
            }
            out.persist(entry);
            log.add(entry);
            appended = true;
        }
        if (!appended) {
            sendVotes(false);
        }
        maybeSnapshot();
        trimLog();
    }

    /** False when this member holds another entry at {@code index} than the one of {@code epoch}. */
    private boolean sameEntry(long index, long epoch) {
        if (index <= 0 || index > lastIndex) {
            return true;
        }
        Vote mine = votes.get(index);
        // Without a vote the entry came in a snapshot of the same history.
        return mine == null || epoch == 0 || mine.epoch() == epoch;
    }

    private void requestRebuild() {
        awaitingSnapshot = true;
        rebuildRequested = true;
        sendVotes(false);
    }

    private void onInstallSnapshot(String from, InstallSnapshot install, long nowNanos) {
        if (role != Role.BACKUP || !from.equals(ordererInstance.node())) {
            return;
        }
        heardFromOrderer(nowNanos);
        if (!awaitingSnapshot && install.index() <= lastIndex) {
            sendVotes(false);
            return;
        }
        restore(StateCodec.decode(install.state()));
        log.clear();
        boundaryStates.clear();
        // The orderer sends only states its voters agreed on. One it held before may be of another
        // history, later than this one.
        verifiedStateIndex = -1;
        verify(install.index(), install.state());
        commitIndex = Math.min(commitIndex, install.index());
        durableIndex = 0;
        installsInFlight++;
        awaitingSnapshot = false;
        rebuildRequested = false;
        ordererLastIndexSeen = Math.max(ordererLastIndexSeen, install.index());
        out.installSnapshot(install.index(), install.state());
    }

    /** Sends this member's durable votes after the ones the orderer holds, and its state digest if asked. */
    private void sendVotes(boolean gap) {
        if (installsInFlight > 0 || ordererInstance == null || config == null || (awaitingSnapshot && !rebuildRequested)) {
            return;
        }
        List<Vote> list = new ArrayList<>();
        long reportedDurable = 0;
        long checkAt = 0;
        long digest = 0;
        if (!rebuildRequested) {
            reportedDurable = Math.min(durableIndex, ordererLastIndexSeen);
            long from = Math.max(votesWanted, votes.floor()) + 1;
            long to = Math.min(reportedDurable, from + settings.appendEntriesMax() - 1);
            for (long index = from; index <= to; index++) {
                Vote vote = votes.get(index);
                if (vote == null) {
                    break;
                }
                list.add(vote);
            }
            if (checkRequested != 0 && checkRequested == lastIndex && durableIndex == lastIndex) {
                checkAt = lastIndex;
                digest = Digests.of(encodeState());
            }
        }
        out.send(ordererInstance.node(), new Votes(group, config.epoch(), reportedDurable, lastIndex + 1, gap, rebuildRequested,
                commitIndex, votes.floor(), list, checkAt, digest));
    }

    private void heardFromOrderer(long nowNanos) {
        lastHeardFromOrdererNanos = nowNanos;
        ordererDisconnected = false;
    }

    private void reportSuspicion(long nowNanos) {
        lastSuspicionNanos = nowNanos;
        out.suspect(ordererInstance.node(), ordererDisconnected, ordererDisconnected ? "connection to orderer closed"
                : "orderer silent for " + (nowNanos - lastHeardFromOrdererNanos) / 1_000_000 + " ms");
    }

    // ---------------------------------------------------------------------------------------------
    // Orderer

    private void trackPeers(GroupConfig next, long nowNanos) {
        TreeMap<String, Peer> kept = new TreeMap<>();
        for (ReplicaAssignment assignment : next.replicas()) {
            if (assignment.role() != Role.BACKUP) {
                continue;
            }
            Peer peer = peers.get(assignment.node());
            if (peer != null && peer.assignment.sameInstance(assignment)) {
                peer.assignment = assignment;
                peer.required = peer.required || assignment.state() == ReplicaState.OK;
                peer.caughtUpReported = false;
                peer.failureReported = false;
                // Reported again in each epoch until the member leaves or this orderer does: a report of
                // an epoch a change overtook may have been lost; the controller ignores a repeat.
                peer.provenReported = false;
                reportProvenIfSo(peer);
                if (peer.divergence != null) {
                    // The report named an epoch that is gone, and the controller refused it.
                    peer.divergence = new ControlCommand.ReplicaDiverged(group, next.epoch(), identity.node(), peer.node(),
                            peer.divergence.index(), peer.divergence.evidence());
                    out.control(peer.divergence);
                    out.send(peer.node(), new Diverged(group, next.epoch(), peer.divergence.index(), peer.divergence.evidence()));
                }
            } else {
                peer = new Peer(assignment, nowNanos);
                peer.required = assignment.state() == ReplicaState.OK;
                peer.nextIndex = lastIndex + 1;
                peer.votedIndex = commitIndex;
                peer.agreedIndex = commitIndex;
                peer.snapshotPending = assignment.state() == ReplicaState.SYNCING;
            }
            kept.put(assignment.node(), peer);
        }
        peers = kept;
    }

    private Append append(Peer peer, List<LogEntry> entries) {
        long previousIndex = peer.nextIndex - 1;
        List<Long> selfCheckFailures = List.of();
        for (LogEntry entry : entries) {
            Vote own = votes.get(entry.index());
            if (own != null && own.selfCheckFailed()) {
                if (selfCheckFailures.isEmpty()) {
                    selfCheckFailures = new ArrayList<>(1);
                }
                selfCheckFailures.add(entry.index());
            }
        }
        return new Append(group, config.epoch(), previousIndex, epochAt(previousIndex), entries, lastIndex,
                peer.agreedIndex, peer.votedIndex, checkIndex, selfCheckFailures);
    }

    private long epochAt(long index) {
        Vote vote = votes.get(index);
        return vote == null ? 0 : vote.epoch();
    }

    private void onVotes(String from, Votes message, long nowNanos) {
        Peer peer = peers.get(from);
        if (role != Role.PRIMARY || peer == null) {
            return;
        }
        long durable = Math.min(message.durableIndex(), lastIndex);
        if (!peer.snapshotAcknowledged && !message.rebuild() && durable >= peer.snapshotIndex) {
            // A member waiting for a snapshot sends no durable index before it holds it: this is for it.
            peer.snapshotAcknowledged = true;
            peer.lastProgressNanos = nowNanos;
            peer.voteFloor = peer.snapshotIndex;
            peer.votedIndex = Math.max(peer.votedIndex, peer.snapshotIndex);
            peer.votes.headMap(peer.votedIndex, true).clear();
        }
        if (durable > peer.durableIndex) {
            peer.durableIndex = durable;
            peer.lastProgressNanos = nowNanos;
        }
        if (!peer.agreementKnown && !message.rebuild()) {
            peer.agreementKnown = true;
            long agreed = Math.max(message.agreedIndex(), message.voteFloor());
            if (agreed < peer.agreedIndex) {
                // It agreed on less than this orderer did: its votes since then are checked again.
                peer.agreedIndex = agreed;
                peer.votedIndex = agreed;
                peer.votes.clear();
            }
        }
        if (!message.rebuild() && message.voteFloor() > peer.voteFloor) {
            // Entries it got in a snapshot, perhaps from an earlier orderer: it abstains on them.
            peer.voteFloor = message.voteFloor();
            peer.votedIndex = Math.max(peer.votedIndex, peer.voteFloor);
            peer.votes.headMap(peer.votedIndex, true).clear();
        }
        if (peer.divergence == null) {
            for (Vote vote : message.votes()) {
                Vote own = votes.get(vote.index());
                // A vote for another entry at that index is from a log this orderer never had. Below
                // this orderer's own snapshot it has no vote to tell, and the history is common.
                boolean sameEntry = own != null ? own.epoch() == vote.epoch() : vote.index() <= votes.floor();
                if (vote.index() > peer.votedIndex && vote.index() <= lastIndex && sameEntry) {
                    peer.votes.put(vote.index(), vote);
                }
            }
            while (peer.votes.containsKey(peer.votedIndex + 1)) {
                peer.votedIndex++;
            }
        }
        if (checkIndex != 0 && message.checkIndex() == checkIndex) {
            peer.checkIndex = checkIndex;
            peer.checkDigest = message.checkDigest();
        }
        if (message.rebuild() && !peer.snapshotPending && peer.snapshotAcknowledged) {
            peer.snapshotPending = true;
        } else if (message.gap() && message.nextIndex() < peer.nextIndex && !peer.snapshotPending && peer.snapshotAcknowledged) {
            peer.nextIndex = Math.max(message.nextIndex(), peer.durableIndex + 1);
            if (peer.nextIndex <= lastIndex && (log.isEmpty() || peer.nextIndex < log.firstIndex())) {
                peer.snapshotPending = true;
            }
        }
        advanceCommit();
        finishStateCheck(nowNanos);
        reportCaughtUpIfSo(peer);
        flush(nowNanos);
    }

    private void advanceCommit() {
        if (role != Role.PRIMARY || steppedDown || halted != null) {
            return;
        }
        Verdict verdict = Verdict.PROCEED;
        while (commitIndex < durableIndex) {
            long index = commitIndex + 1;
            Vote own = votes.get(index);
            Invariants.check(own != null, "%s: orderer has no vote of its own at %d", group, index);
            verdict = judge(index, own, peer -> peer.votedIndex >= index ? peer.votes.get(index) : null, false);
            if (verdict != Verdict.PROCEED) {
                break;
            }
            commitIndex = index;
        }
        if (statesCompared()) {
            boolean compared = peers.values().stream().anyMatch(peer -> peer.required && peer.divergence == null && sameVersion(peer));
            if (compared && stateUnvouched && boundaryStates.floorKey(commitIndex) != null
                    && boundaryStates.floorKey(commitIndex) > unvouchedThrough) {
                // A voter of its version agreed on a state taken after the unvouched ones.
                stateUnvouched = false;
            }
            verifyThrough(commitIndex);
        } else {
            // Compared with nobody: not even alone later may it vouch for these states.
            boundaryStates.headMap(commitIndex, true).clear();
        }
        for (Peer peer : peers.values()) {
            advanceAgreement(peer);
        }
        while (!waiting.isEmpty() && waiting.peekFirst().index <= commitIndex) {
            release(waiting.pollFirst());
        }
        while (!lateWaiting.isEmpty() && lateWaiting.firstKey() <= commitIndex) {
            release(lateWaiting.pollFirstEntry().getValue());
        }
        trimLog();
        if (log.size() > settings.unacknowledgedEntriesMax()) {
            // A member this far behind is rebuilt from a snapshot rather than held in memory.
            for (Peer peer : peers.values()) {
                if (peer.needsAfter() < log.firstIndex()) {
                    if (peer.required && peer.divergence == null) {
                        reportFailure(peer, "more than " + settings.unacknowledgedEntriesMax() + " entries unacknowledged");
                    } else {
                        peer.snapshotPending = true;
                    }
                }
            }
        }
    }

    /**
     * Compares the orderer's evidence at {@code index} with every voter's. A voter is an in-sync
     * member not yet found divergent that executed the entry itself.
     *
     * @param voteOf a voter's evidence, or null while it has not given it
     * @param stateCheck true for an idle state check, where members rebuilt at the index vote too
     */
    private Verdict judge(long index, Vote own, Function<Peer, Vote> voteOf, boolean stateCheck) {
        List<Peer> voters = new ArrayList<>();
        for (Peer peer : peers.values()) {
            if (!peer.required || peer.divergence != null || (!stateCheck && peer.voteFloor >= index)) {
                continue;
            }
            if (stateCheck && !sameVersion(peer)) {
                // Another version may store the same state in another format: only outputs compare.
                continue;
            }
            if (voteOf.apply(peer) == null) {
                return Verdict.WAIT;
            }
            voters.add(peer);
        }
        if (voters.isEmpty() && own.selfCheckFailed()) {
            // Alone, it cannot tell a fault of its own from a service that throws everywhere. A
            // new member rebuilt from an earlier state executes this entry too, and decides.
            return Verdict.WAIT;
        }
        List<Peer> dissenters = voters.stream().filter(peer -> !agrees(peer, voteOf.apply(peer), own)).toList();
        if (dissenters.isEmpty()) {
            return Verdict.PROCEED;
        }
        int size = voters.size() + 1;
        String what = stateCheck ? "state at " + index + " of service " + group.service() : "entry " + index + commandLabel(index);
        if (!own.selfCheckFailed() && dissenters.stream().noneMatch(this::sameVersion)) {
            // An upgrade under way, and only members of another version answer differently: either
            // that version changed an answer, or this orderer is damaged. A member of the orderer's
            // own version tells which: when one voted with the orderer, the other version is the
            // odd one out, however many agree with it.
            if (voters.stream().anyMatch(this::sameVersion)) {
                for (Peer dissenter : dissenters) {
                    markDivergent(dissenter, index, what + ": version " + dissenter.assignment.version()
                            + " answered differently from the orderer's version " + identity.version()
                            + describe(own, voteOf.apply(dissenter)));
                }
                return Verdict.PROCEED;
            }
            if (peers.values().stream().anyMatch(peer -> !peer.required && peer.divergence == null && sameVersion(peer))) {
                // One of its own version is catching up: it votes on this entry once in sync. Until
                // then nothing is released.
                return Verdict.WAIT;
            }
            // Nobody of its own version: judged as without an upgrade, by majority, referee or halt.
        }
        if (size >= 3) {
            if ((size - dissenters.size()) * 2 > size) {
                for (Peer dissenter : dissenters) {
                    markDivergent(dissenter, index, what + ": outvoted " + (size - dissenters.size()) + " to " + dissenters.size()
                            + describe(own, voteOf.apply(dissenter)));
                }
                return Verdict.PROCEED;
            }
            long against = dissenters.stream().filter(p -> agrees(p, voteOf.apply(p), voteOf.apply(dissenters.get(0)), dissenters.get(0)))
                    .count();
            if (against == dissenters.size() && against * 2 > size) {
                if (dissenters.stream().noneMatch(LockstepCore::promotable)) {
                    return Verdict.WAIT;
                }
                stepDown(index, what + ": the orderer was outvoted " + against + " to " + (size - against)
                        + describe(voteOf.apply(dissenters.get(0)), own));
            } else {
                halt(index, what + ": no majority among " + size + " members" + describe(own, voteOf.apply(dissenters.get(0))));
            }
            return Verdict.STOP;
        }
        Peer other = voters.get(0);
        Vote theirs = voteOf.apply(other);
        if (own.selfCheckFailed() != theirs.selfCheckFailed()) {
            if (own.selfCheckFailed()) {
                if (!promotable(other)) {
                    return Verdict.WAIT;
                }
                stepDown(index, what + ": the orderer failed its self-check and " + other.node() + " did not");
                return Verdict.STOP;
            }
            markDivergent(other, index, what + ": " + other.node() + " failed its self-check");
            return Verdict.PROCEED;
        }
        String evidence = what + ": the two members disagree and neither failed a self-check" + describe(own, theirs);
        if (config.mode() == Mode.DMR && verifiedState == null) {
            halt(index, evidence + "; no state both agreed on yet to rebuild a referee from");
            return Verdict.STOP;
        }
        if (config.mode() == Mode.DMR) {
            // Nothing here tells which is right, but a third member can: the controller adds a
            // referee rebuilt from a state both agreed on, it executes this entry again, and the
            // next judgement has a majority. Until then nothing is released.
            if (config.dispute() == null && refereeAskedEpoch != config.epoch()) {
                refereeAskedEpoch = config.epoch();
                out.control(new ControlCommand.RefereeNeeded(group, config.epoch(), identity.node(), other.node(), index, evidence));
            }
            return Verdict.WAIT;
        }
        halt(index, evidence);
        return Verdict.STOP;
    }

    /**
     * True when the controller already counts this member in sync, so that it can promote it in
     * the orderer's place. A member that just caught up votes at once, but the report that it caught
     * up may reach the controller after the orderer's report that it steps down; the controller would
     * then find nobody to promote and halt the group. So the orderer steps down in favour of such a
     * member only once a configuration shows it in sync; until then it releases nothing.
     */
    private static boolean promotable(Peer peer) {
        return peer.assignment.state() == ReplicaState.OK;
    }

    /** True when {@code peer} runs the same version of the service as this member: only then are their states comparable. */
    private boolean sameVersion(Peer peer) {
        return peer.assignment.version() == identity.version();
    }

    /** {@link #agrees(Peer, Vote, Vote, Peer)} against this orderer's own vote. */
    private boolean agrees(Peer peer, Vote theirs, Vote own) {
        return theirs.outputDigest() == own.outputDigest() && (!sameVersion(peer) || theirs.stateDigest() == own.stateDigest());
    }

    /**
     * True when two votes agree: always on the output, and on the state digest only when both
     * members run the same version (two versions may store one state in two formats).
     */
    private static boolean agrees(Peer peer, Vote theirs, Vote other, Peer otherPeer) {
        return theirs.outputDigest() == other.outputDigest()
                && (peer.assignment.version() != otherPeer.assignment.version() || theirs.stateDigest() == other.stateDigest());
    }

    private static String describe(Vote expected, Vote actual) {
        return actual.outputDigest() != expected.outputDigest()
                ? String.format(" (output digest %016x, agreed %016x)", actual.outputDigest(), expected.outputDigest())
                : String.format(" (state digest %016x, agreed %016x)", actual.stateDigest(), expected.stateDigest());
    }

    /**
     * Names the service and, when the service can tell, what the command at {@code index} asked
     * (a plain Java object service names the method), so that a divergence report points at the
     * code that behaved differently on different members.
     */
    private String commandLabel(long index) {
        String label = " (service " + group.service();
        if (!log.isEmpty() && index >= log.firstIndex() && index <= log.lastIndex()) {
            String description;
            try {
                description = service.describe(log.get(index).payload());
            } catch (RuntimeException e) {
                // Only a report is at stake: a service that cannot describe a command is named alone.
                description = null;
            }
            if (description != null && !description.isBlank()) {
                label += ", " + (description.length() > DESCRIPTION_LENGTH_MAX ? description.substring(0, DESCRIPTION_LENGTH_MAX) + "..." : description);
            }
        }
        return label + ")";
    }

    /** Compares the votes of a member that did not vote on a release (it was catching up) afterwards. */
    private void advanceAgreement(Peer peer) {
        long through = Math.min(commitIndex, peer.votedIndex);
        while (peer.divergence == null && halted == null && peer.agreedIndex < through) {
            long index = peer.agreedIndex + 1;
            if (index > peer.voteFloor) {
                Vote vote = peer.votes.get(index);
                Vote own = votes.get(index);
                if (own != null && !agrees(peer, vote, own)) {
                    judgeCatchingUp(peer, index, "entry " + index + commandLabel(index) + " of a catching-up member" + describe(own, vote),
                            false);
                    return;
                }
            }
            Vote own = votes.get(index);
            Vote vote = peer.votes.remove(index);
            if (index > peer.voteFloor && peer.required && own != null && vote != null && !own.selfCheckFailed()
                    && !vote.selfCheckFailed() && peer.assignment.version() > identity.version()) {
                peer.agreedAsNewerVersion++;
            }
            peer.agreedIndex = index;
        }
        reportProvenIfSo(peer);
    }

    /**
     * Tells the controller that a member of the version an upgrade moves to, while this orderer runs
     * the old one, voted in agreement on {@link ServiceUpgrade#PROVEN_COMMANDS_MIN} commands since it
     * came in sync: only then may an orderer's role move to it (see {@link ServiceUpgrade}).
     */
    private void reportProvenIfSo(Peer peer) {
        if (peer.provenReported || peer.agreedAsNewerVersion < ServiceUpgrade.PROVEN_COMMANDS_MIN || peer.divergence != null
                || peer.assignment.state() != ReplicaState.OK || steppedDown || halted != null || role != Role.PRIMARY) {
            return;
        }
        peer.provenReported = true;
        out.control(new ControlCommand.MemberProven(group, config.epoch(), identity.node(), peer.node(), peer.assignment.incarnation(),
                peer.assignment.sinceEpoch(), peer.agreedAsNewerVersion));
    }

    /**
     * A member catching up disagrees with this orderer about an entry (or a state) the group already
     * agreed on. When another in-sync voter confirmed the orderer there, the newcomer is the odd one
     * out. When the orderer was alone in sync, nothing confirms either: the newcomer was rebuilt
     * from a state the voters once agreed on and executed the same log, so the orderer may as well
     * be the damaged one, and the group halts rather than rebuild everyone from it.
     */
    private void judgeCatchingUp(Peer peer, long index, String evidence, boolean stateCheck) {
        if (!sameVersion(peer)) {
            // A member of another version (an upgrade under way) that answers differently is the
            // odd one out: the orderer's version is the reference.
            markDivergent(peer, index, evidence + ": version " + peer.assignment.version()
                    + " answered differently from the orderer's version " + identity.version());
            return;
        }
        // Only a voter of the orderer's version confirms it: one of another version compared outputs, not states.
        boolean confirmed = index > unvouchedThrough && peers.values().stream().anyMatch(other -> other != peer && other.required
                && other.divergence == null && (stateCheck || other.voteFloor < index) && sameVersion(other));
        if (confirmed) {
            markDivergent(peer, index, evidence);
        } else {
            halt(index, peer.node() + " disagrees with the orderer " + identity.node() + ", the only member in sync, at " + evidence);
        }
    }

    private void markDivergent(Peer peer, long index, String evidence) {
        peer.votes.clear();
        String text = peer.node() + " diverged at " + evidence;
        peer.divergence = new ControlCommand.ReplicaDiverged(group, config.epoch(), identity.node(), peer.node(), index, text);
        out.send(peer.node(), new Diverged(group, config.epoch(), index, text));
        out.control(peer.divergence);
    }

    private void stepDown(long index, String evidence) {
        steppedDown = true;
        divergence = identity.node() + " diverged at " + evidence;
        out.control(new ControlCommand.ReplicaDiverged(group, config.epoch(), identity.node(), identity.node(), index, divergence));
    }

    /** Stops releasing, and has the controller record it so that no later orderer releases either. */
    private void halt(long index, String evidence) {
        halted = evidence;
        out.control(new ControlCommand.GroupHalted(group, config.epoch(), identity.node(), index, evidence));
    }

    /**
     * True when this orderer's state is compared with another member's: some voter runs its version,
     * or it has no voter at all (alone, as without an upgrade, it vouches for itself). While its only
     * voters run another version (an upgrade under way), its states are compared with nobody's: none
     * becomes verified, so no member is rebuilt from a state nobody checked.
     */
    private boolean statesCompared() {
        boolean anyVoter = false;
        for (Peer peer : peers.values()) {
            if (peer.required && peer.divergence == null) {
                if (sameVersion(peer)) {
                    return true;
                }
                anyVoter = true;
            }
        }
        if (anyVoter) {
            markUnvouched(lastIndex);
        }
        return !anyVoter && !stateUnvouched;
    }

    /** When the group is idle, asks every member for a digest of its state at the last index. */
    private void maybeStartStateCheck(long nowNanos) {
        boolean due = stateCheckedIndex != lastIndex || nowNanos - stateCheckedNanos >= settings.idleCheckNanos();
        if (checkIndex != 0 || !due || steppedDown || halted != null || commitIndex != lastIndex
                || nowNanos - activityNanos < settings.heartbeatIntervalNanos() || !statesCompared()) {
            return;
        }
        if (lastIndex == 0) {
            // Every member starts empty and nothing was applied: there is no state to differ.
            stateCheckedIndex = 0;
            stateCheckedNanos = nowNanos;
            verify(0, encodeState());
            return;
        }
        checkIndex = lastIndex;
        checkState = encodeState();
        checkStartedNanos = nowNanos;
        for (Peer peer : peers.values()) {
            peer.checkIndex = 0;
            peer.lastSentNanos = Long.MIN_VALUE / 2;
        }
        finishStateCheck(nowNanos);
    }

    private void finishStateCheck(long nowNanos) {
        if (checkIndex == 0 || steppedDown || halted != null) {
            return;
        }
        if (checkIndex != lastIndex) {
            // New commands came: their votes carry state digests of their own. Check again when idle.
            checkIndex = 0;
            return;
        }
        long index = checkIndex;
        Vote own = new Vote(index, 0, 0, Digests.of(checkState), false);
        Function<Peer, Vote> voteOf = peer -> peer.checkIndex == index ? new Vote(index, 0, 0, peer.checkDigest, false) : null;
        if (judge(index, own, voteOf, true) != Verdict.PROCEED) {
            return;
        }
        for (Peer peer : peers.values()) {
            if (!peer.required && peer.divergence == null && sameVersion(peer) && voteOf.apply(peer) != null
                    && !voteOf.apply(peer).agreesWith(own)) {
                judgeCatchingUp(peer, index, "state at " + index + " of a catching-up member" + describe(own, voteOf.apply(peer)), true);
                if (halted != null) {
                    return;
                }
            }
        }
        stateCheckedIndex = index;
        // As of its start: a member damaged after it answered is not vouched for.
        stateCheckedNanos = checkStartedNanos;
        checkIndex = 0;
        if (stateUnvouched && index > unvouchedThrough
                && peers.values().stream().anyMatch(peer -> peer.required && peer.divergence == null && sameVersion(peer))) {
            // A member of its version agreed on its state after the states nobody compared.
            stateUnvouched = false;
        }
        if (!stateUnvouched) {
            verify(index, checkState);
        }
        checkState = null;
    }

    /** Entries up to {@code index} are, or will be, judged with no member of this version comparing states. */
    private void markUnvouched(long index) {
        stateUnvouched = true;
        unvouchedThrough = Math.max(unvouchedThrough, index);
    }

    /** The voters agreed on every entry up to {@code index}, so on every state digest among them. */
    private void verifyThrough(long index) {
        if (stateUnvouched) {
            // Nobody of its version compared them: none becomes a state to rebuild members from.
            boundaryStates.headMap(index, true).clear();
            return;
        }
        Map.Entry<Long, byte[]> latest = boundaryStates.floorEntry(index);
        if (latest != null) {
            verify(latest.getKey(), latest.getValue());
        }
    }

    /**
     * The voters agreed on this member's state at {@code index}: from now on a member is rebuilt
     * from it. Never from the orderer's current state, which nobody checked yet: a member rebuilt
     * from a corrupted orderer would agree with it and outvote the healthy one.
     */
    private void verify(long index, byte[] state) {
        boundaryStates.headMap(index, true).clear();
        if (index < verifiedStateIndex) {
            return;
        }
        verifiedStateIndex = index;
        verifiedState = state;
    }

    private void reportCaughtUpIfSo(Peer peer) {
        if (peer.assignment.state() != ReplicaState.SYNCING || peer.caughtUpReported || peer.divergence != null || peer.snapshotPending
                || peer.snapshotIndex < 0 || !peer.snapshotAcknowledged || peer.durableIndex < Math.max(commitIndex, inheritedIndex)
                || commitIndex < peer.snapshotIndex || peer.votedIndex < commitIndex || steppedDown || halted != null) {
            return;
        }
        // From here on no result is released without this member's vote, so the controller may mark it in sync.
        peer.required = true;
        peer.caughtUpReported = true;
        out.control(new ControlCommand.ReplicaCaughtUp(group, config.epoch(), peer.node(), peer.assignment.incarnation()));
    }

    private void reportFailure(Peer peer, String reason) {
        if (peer.failureReported) {
            return;
        }
        peer.failureReported = true;
        out.control(new ControlCommand.ReplicaFailed(group, config.epoch(), identity.node(), peer.node(), reason));
    }

    private void rewind(Peer peer) {
        if (peer.snapshotPending) {
            return;
        }
        long from = peer.durableIndex + 1;
        boolean buffered = !log.isEmpty() && from >= log.firstIndex();
        if (from <= lastIndex && !buffered || !peer.snapshotAcknowledged) {
            peer.snapshotPending = true;
        } else {
            peer.nextIndex = from;
        }
    }

    /** Sends the latest verified state; without one yet, the member waits for the next state check. */
    private void sendSnapshot(Peer peer, long nowNanos) {
        if (verifiedState == null) {
            return;
        }
        if (peer.required && verifiedStateIndex < commitIndex) {
            // Installing it would take an in-sync member back below released entries: were this
            // orderer lost before it caught up, it could be promoted without them. A syncing
            // member, which is never promoted before it caught up, replaces it instead.
            peer.snapshotPending = false;
            reportFailure(peer, "it needs a rebuild from a state older than the released entries");
            return;
        }
        Invariants.check(verifiedStateIndex == lastIndex || !log.isEmpty() && log.firstIndex() <= verifiedStateIndex + 1,
                "%s: entries after the verified state %d are gone", group, verifiedStateIndex);
        peer.snapshotPending = false;
        peer.snapshotAcknowledged = false;
        peer.snapshotIndex = verifiedStateIndex;
        peer.nextIndex = verifiedStateIndex + 1;
        peer.votes.clear();
        send(peer, new InstallSnapshot(group, config.epoch(), verifiedStateIndex, verifiedState), nowNanos);
    }

    private void send(Peer peer, LockstepMessage message, long nowNanos) {
        peer.lastSentNanos = nowNanos;
        out.send(peer.node(), message);
    }

    /** Keeps the entries some member may still need, and at least the last few for a dump. */
    private void trimLog() {
        // A member rebuilt from the verified state catches up from the entries after it.
        long needed = verifiedState == null ? 0 : verifiedStateIndex;
        if (role == Role.PRIMARY) {
            for (Peer peer : peers.values()) {
                if (peer.divergence == null) {
                    needed = Math.min(needed, peer.needsAfter());
                }
            }
        }
        log.dropThrough(Math.min(needed, lastIndex - settings.dumpEntriesMax()));
    }

    private void release(Waiting released) {
        waitingBySession.remove(released.session, released);
        for (long requestId : released.requestIds) {
            out.reply(requestId, released.reply);
        }
    }

    /** A retry of a command that is ordered but not yet released waits for the same release. */
    private void waitFor(ClientCommand command, SessionTable.Entry last) {
        Waiting existing = waitingBySession.get(command.session());
        if (existing != null && existing.sequence == command.sequence()) {
            existing.requestIds.add(command.requestId());
            return;
        }
        // Ordered by an earlier orderer: released here once this orderer's voters agree on it.
        Waiting late = new Waiting(last.index(), command.session(), command.sequence(), last.reply(), command.requestId());
        Waiting before = lateWaiting.put(last.index(), late);
        if (before != null) {
            late.requestIds.addAll(before.requestIds);
        }
        waitingBySession.put(command.session(), late);
    }

    private void leave(GroupConfig next) {
        if (divergence != null) {
            out.dump(divergence, lastIndex, encodeState(), lastEntries());
        } else if (halted != null && next.halted() == null) {
            // The group was resumed from another member: this state disagreed, and is kept for diagnosis.
            out.dump("left halted group " + group + " when it was resumed from " + (next.primary() == null ? "?" : next.primary().node())
                    + ": " + halted, lastIndex, encodeState(), lastEntries());
        }
        leave(new Reply.NotPrimary(next.epoch(), next.primary() == null ? "" : next.primary().node()));
    }

    /**
     * This member crashed outside its service (an injected fault, a broken invariant): it reports
     * it and stops as when its service crashed. Nothing happens if it already left its group.
     */
    public void crash(String reason) {
        if (!removed && config != null) {
            crash(reason, null);
        }
    }

    /**
     * The service threw an {@link Error} or passed the runtime's watchdog: this member's state is no
     * longer trusted. It dumps that state, reports the crash (with the command that caused it when
     * it was the orderer running a client command) and acts on nothing more; the controller has it
     * rebuilt.
     */
    private void crash(String reason, QuarantinedCommand poison) {
        crashed = reason;
        byte[] state;
        try {
            state = encodeState();
        } catch (RuntimeException | Error e) {
            state = new byte[0];
            reason = reason + "; the state could not be encoded: " + e;
        }
        out.dump("member crashed: " + reason, lastIndex, state, lastEntries());
        out.control(new ControlCommand.ReplicaCrashed(group, config.epoch(), identity.node(), identity.incarnation(), identity.sinceEpoch(),
                crashed, poison));
        leave(new Reply.NotPrimary(config.epoch(), ""));
    }

    private void leave(Reply reply) {
        removed = true;
        role = null;
        for (Waiting w : waiting) {
            w.requestIds.forEach(requestId -> out.reply(requestId, reply));
        }
        for (Waiting w : lateWaiting.values()) {
            w.requestIds.forEach(requestId -> out.reply(requestId, reply));
        }
        waiting.clear();
        lateWaiting.clear();
        waitingBySession.clear();
        log.clear();
        peers.clear();
    }

    private List<LogEntry> lastEntries() {
        List<LogEntry> entries = new ArrayList<>();
        if (!log.isEmpty()) {
            for (long index = Math.max(log.firstIndex(), lastIndex - settings.dumpEntriesMax() + 1); index <= log.lastIndex(); index++) {
                entries.add(log.get(index));
            }
        }
        return entries;
    }

    private Reply notPrimary() {
        if (config == null) {
            return new Reply.NotPrimary(0, "");
        }
        ReplicaAssignment primary = config.primary();
        return new Reply.NotPrimary(config.epoch(), primary == null || steppedDown ? "" : primary.node());
    }

    // ---------------------------------------------------------------------------------------------
    // State

    /**
     * The entry whose command the service runs now; the client request it answers ({@link
     * #NO_REQUEST} unless this member orders); whether a crash in it makes it poison. For {@link
     * #hung}. Plain fields: the runtime's watchdog reads them only while this thread waits for it.
     */
    private LogEntry applying;
    private long applyingRequestId = NO_REQUEST;
    private boolean applyingIsPoison;
    private static final long NO_REQUEST = Long.MIN_VALUE;

    /**
     * The service has been running the current command past the runtime's watchdog limit: what this
     * member would report and answer had the command crashed it. Changes nothing; called from the
     * watchdog's thread while this core's thread is stuck in the service (see {@code
     * GuardedService}). Null when the member already left its group. {@code recoveringEpoch}: the
     * epoch to report while it recovers from its log, before its first configuration.
     */
    public io.pairstep.core.ServiceHung hung(String reason, long recoveringEpoch) {
        if (removed || applying == null) {
            return null;
        }
        long epoch = config == null ? recoveringEpoch : config.epoch();
        List<Long> requestIds = new ArrayList<>();
        if (applyingRequestId != NO_REQUEST) {
            requestIds.add(applyingRequestId);
        }
        for (Waiting w : waiting) {
            requestIds.addAll(w.requestIds);
        }
        for (Waiting w : lateWaiting.values()) {
            requestIds.addAll(w.requestIds);
        }
        String why = applyingRequestId != NO_REQUEST ? reason : reason + " at entry " + applying.index();
        QuarantinedCommand poison = applyingIsPoison ? new QuarantinedCommand(applying.session(), applying.sequence(),
                QuarantinedCommand.payloadText(applying.payload()), applying.payload().length, identity.node(), epoch, reason) : null;
        return new io.pairstep.core.ServiceHung(new ControlCommand.ReplicaCrashed(group, epoch, identity.node(),
                identity.incarnation(), identity.sinceEpoch(), why, poison), requestIds, new Reply.NotPrimary(epoch, ""),
                epoch, lastIndex, lastEntries());
    }

    private Reply apply(LogEntry entry) {
        Invariants.check(entry.index() == lastIndex + 1, "%s: applying %d after %d", group, entry.index(), lastIndex);
        Invariants.check(entry.epoch() >= lastEpoch, "%s: entry epoch went back", group);
        lastIndex = entry.index();
        lastEpoch = entry.epoch();
        lastTimestampMillis = Math.max(lastTimestampMillis, entry.timestampMillis());
        boolean selfCheckFailed = false;
        Reply reply;
        SessionTable.Entry last = sessions.get(entry.session());
        if (last != null && entry.sequence() <= last.sequence()) {
            reply = entry.sequence() == last.sequence() ? last.reply()
                    : new Reply.Rejected(Reply.STALE_SEQUENCE, "sequence " + entry.sequence() + " is stale");
        } else if (last == null && entry.sequence() != 1) {
            // Decided in the log, not when the command arrives: a stale orderer does not know the
            // session either, and must not answer for the group.
            reply = new Reply.Rejected(Reply.SESSION_EXPIRED,
                    "session " + Long.toHexString(entry.session()) + " is unknown or expired; start a new session");
        } else {
            context.moveTo(entry.index(), entry.timestampMillis());
            applying = entry;
            QuarantinedCommand poison = quarantined(entry);
            if (poison != null) {
                // A command in the log that the group quarantined after it was ordered (the orderer's
                // self-check failed on it, and a member that ran it crashed): never run again. Every
                // member that reaches it skips it alike and records the same refusal, so their states
                // stay identical and a retry gets that refusal.
                reply = poisonReply(poison);
            } else if (failNextSelfCheck) {
                failNextSelfCheck = false;
                selfCheckFailed = true;
                reply = new Reply.ApplicationError("java.lang.IllegalStateException: injected self-check failure");
            } else {
                try {
                    reply = new Reply.Ok(service.apply(entry.payload(), context));
                } catch (MalformedCommandException e) {
                    reply = new Reply.ApplicationError(truncate(MalformedCommandException.REPLY_PREFIX + e.getMessage()));
                } catch (ApplicationException e) {
                    reply = new Reply.ApplicationError(truncate(e.getMessage()));
                } catch (RuntimeException e) {
                    // Expected errors are ApplicationExceptions: anything else is this member's self-check failing.
                    selfCheckFailed = true;
                    reply = new Reply.ApplicationError(truncate(e.getClass().getName() + ": " + e.getMessage()));
                } catch (Error e) {
                    // StackOverflowError, OutOfMemoryError, or the runtime's watchdog: the service may have
                    // stopped half way through a change, so this member's state is not to be trusted any more.
                    throw new ServiceCrashed(truncate(e.toString()));
                }
            }
            if (divergeNextOutput) {
                divergeNextOutput = false;
                reply = perturbed(reply);
            }
            sessions.record(entry.session(), entry.sequence(), entry.index(), reply);
        }
        long stateDigest = 0;
        if (entry.index() % settings.stateDigestIntervalEntries() == 0) {
            byte[] state = encodeState();
            stateDigest = Digests.of(state);
            boundaryStates.put(entry.index(), state);
        }
        votes.add(new Vote(entry.index(), entry.epoch(), Digests.of(reply), stateDigest, selfCheckFailed));
        return reply;
    }

    /** The group's quarantine of this entry's command, or null. */
    private QuarantinedCommand quarantined(LogEntry entry) {
        if (config != null) {
            return config.quarantined(entry.session(), entry.sequence());
        }
        for (QuarantinedCommand command : recoveryQuarantine) {
            if (command.session() == entry.session() && command.sequence() == entry.sequence()) {
                return command;
            }
        }
        return null;
    }

    /** The same text on every member, since it comes from the controller's record. */
    private static Reply poisonReply(QuarantinedCommand poison) {
        return new Reply.Rejected(Reply.POISON, "the command is quarantined as poison: it crashed the member on "
                + poison.node() + " in epoch " + poison.epoch() + " (" + poison.reason() + ")");
    }

    /** The command of {@code entry} as poison that crashed this member now. */
    private QuarantinedCommand poisonAt(LogEntry entry, String reason) {
        return new QuarantinedCommand(entry.session(), entry.sequence(), QuarantinedCommand.payloadText(entry.payload()),
                entry.payload().length, identity.node(), config.epoch(), reason);
    }

    private static Reply perturbed(Reply reply) {
        if (reply instanceof Reply.Ok ok) {
            byte[] body = ok.body().length == 0 ? new byte[1] : Arrays.copyOf(ok.body(), ok.body().length);
            body[body.length - 1] ^= 1;
            return new Reply.Ok(body);
        }
        return new Reply.ApplicationError("diverged: " + reply);
    }

    private static String truncate(String message) {
        String text = message == null ? "" : message;
        return text.length() <= ERROR_MESSAGE_LENGTH_MAX ? text : text.substring(0, ERROR_MESSAGE_LENGTH_MAX);
    }

    private void restore(StateCodec.State state) {
        service.restore(state.service());
        sessions = state.sessions();
        lastIndex = state.index();
        lastEpoch = state.epoch();
        lastTimestampMillis = state.timestampMillis();
        lastSnapshotIndex = state.index();
        votes.resetTo(state.index());
    }

    private void maybeSnapshot() {
        if (lastIndex - lastSnapshotIndex >= settings.snapshotIntervalEntries()) {
            lastSnapshotIndex = lastIndex;
            out.saveSnapshot(lastIndex, encodeState());
        }
    }

    /** The whole state of this member as of {@link #lastIndex()}. */
    public byte[] encodeState() {
        return StateCodec.encode(lastIndex, lastEpoch, lastTimestampMillis, sessions, service.snapshot());
    }

    // ---------------------------------------------------------------------------------------------
    // Observation

    public GroupId group() {
        return group;
    }

    public ReplicaAssignment identity() {
        return identity;
    }

    /** PRIMARY for the orderer, BACKUP for the other members, null before the first configuration and after removal. */
    public Role role() {
        return role;
    }

    public boolean removed() {
        return removed;
    }

    /** Why this member crashed, or null when it did not. A crashed member is also {@link #removed()}. */
    public String crashed() {
        return crashed;
    }

    public long epoch() {
        return config == null ? 0 : config.epoch();
    }

    public long lastIndex() {
        return lastIndex;
    }

    public long durableIndex() {
        return durableIndex;
    }

    /** The orderer's released index; another member's agreed index as its orderer last told it. */
    public long commitIndex() {
        return commitIndex;
    }

    public boolean awaitingSnapshot() {
        return awaitingSnapshot;
    }

    /** Why the group halted, or null while it releases results. */
    public String halted() {
        return halted;
    }

    /**
     * True for an orderer that decided every entry it ordered and has no member waiting to be
     * removed as divergent: a fault injected now meets a group with nothing pending.
     */
    public boolean quiescent() {
        return role == Role.PRIMARY && commitIndex == lastIndex && !steppedDown && halted == null
                && peers.values().stream().allMatch(peer -> peer.divergence == null);
    }

    /** True once this orderer found itself divergent; it releases nothing until it is replaced. */
    public boolean steppedDown() {
        return steppedDown;
    }

    /**
     * When the last idle state check that every voter passed at the current last index started (each
     * state it compared was taken after that time, by the orderer's clock), or {@link Long#MIN_VALUE}
     * when there is none since the last change of members or a member found divergent still waits
     * to be removed.
     */
    public long stateCheckedNanos() {
        boolean allAgree = peers.values().stream().noneMatch(peer -> peer.divergence != null);
        return stateCheckedIndex == lastIndex && allAgree ? stateCheckedNanos : Long.MIN_VALUE;
    }

    /** Checks the member's invariants; the simulator calls it after every step. */
    public void checkInvariants() {
        Invariants.check(durableIndex <= lastIndex, "%s: durable %d beyond last %d", group, durableIndex, lastIndex);
        if (role == Role.PRIMARY) {
            Invariants.check(commitIndex <= durableIndex, "%s: commit %d beyond durable %d", group, commitIndex, durableIndex);
            Invariants.check(waiting.isEmpty() || waiting.peekFirst().index > commitIndex, "%s: unreleased agreed entry", group);
            for (Peer peer : peers.values()) {
                Invariants.check(peer.agreedIndex <= commitIndex || peer.agreedIndex <= peer.voteFloor,
                        "%s: %s agreed beyond the released index", group, peer.node());
            }
        }
        if (removed) {
            Invariants.check(waiting.isEmpty() && lateWaiting.isEmpty(), "%s: removed member holds waiters", group);
        }
    }
}
