package io.pairstep.core.replica;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Service;
import io.pairstep.core.GroupId;
import io.pairstep.core.Invariants;
import io.pairstep.core.ServiceCrashed;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.QuarantinedCommand;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.replica.PeerMessage.Append;
import io.pairstep.core.replica.PeerMessage.AppendAck;
import io.pairstep.core.replica.PeerMessage.InstallSnapshot;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.TreeMap;

/**
 * One replica of a group in mode {@code pair} or {@code none}: the process-pair protocol as a pure
 * state machine. Inputs are configurations from the controller, client commands, peer messages,
 * storage completions and clock ticks; everything it decides goes to its {@link ReplicaOutput}. It
 * reads no clock, starts no thread and touches no socket, so the simulator can drive it.
 *
 * <p>The primary orders each command, applies it at once to compute the result, persists it and
 * streams it to the backup. It releases the result only when the entry is durable locally and,
 * when the group has an in-sync backup, durable on the backup too. The backup applies the stream
 * as it arrives, so it is warm when it takes over, and acknowledges what is durable.
 *
 * <p>Fencing: every message carries the sender's epoch and a replica ignores any other epoch than
 * its own. A primary that was replaced never again collects an acknowledgement, so it never
 * releases another result.
 *
 * <p>Hand-over (a planned move: an upgrade step, spreading load, a drain): a primary whose configuration asks for it orders nothing more,
 * holds the commands that arrive, and once its backup acknowledged every entry reports {@link
 * ControlCommand.HandedOver}. In the next configuration the backup is primary and this replica, the
 * same instance with the same state, is its backup; the held commands are answered NotPrimary, so
 * their clients ask the new primary. The two then hold the same log, and nothing was released that
 * the new primary does not hold.
 */
public final class ReplicaCore {

    /** Timing and limits of one replica. */
    public record Settings(
            long heartbeatIntervalNanos,
            long suspectTimeoutNanos,
            long retransmitNanos,
            long backupTimeoutNanos,
            int appendEntriesMax,
            int sessionCapacity,
            long snapshotIntervalEntries,
            int unacknowledgedEntriesMax) {

        public static Settings defaults() {
            return new Settings(20_000_000L, 300_000_000L, 100_000_000L, 1_000_000_000L, 1024, 100_000, 100_000, 1_000_000);
        }
    }

    /** A backup as the primary tracks it. */
    private static final class Peer {
        ReplicaAssignment assignment;
        long durableIndex;
        long nextIndex;
        boolean required;
        boolean snapshotPending;
        long snapshotIndex = -1;
        /** False from sending a snapshot until the backup acknowledges holding it. */
        boolean snapshotAcknowledged = true;
        long lastSentNanos;
        long lastProgressNanos;
        long lastRetransmitNanos;
        /**
         * True until the first acknowledgement from a backup that was in sync when this primary
         * took it on (in a new group, or the old primary after a hand-over): its position is not
         * known yet, so nothing is resent and no snapshot replaces its state meanwhile.
         */
        boolean awaitingFirstAck;
        boolean caughtUpReported;
        boolean failureReported;

        Peer(ReplicaAssignment assignment, long nowNanos) {
            this.assignment = assignment;
            this.lastProgressNanos = nowNanos;
        }
    }

    /** An entry not yet committed that clients wait for. */
    private static final class Waiting {
        final long index;
        final long session;
        final long sequence;
        final Reply reply;
        long requestId;
        List<Long> moreRequestIds;

        Waiting(long index, long session, long sequence, Reply reply, long requestId) {
            this.index = index;
            this.session = session;
            this.sequence = sequence;
            this.reply = reply;
            this.requestId = requestId;
        }

        void add(long otherRequestId) {
            if (moreRequestIds == null) {
                moreRequestIds = new ArrayList<>(2);
            }
            moreRequestIds.add(otherRequestId);
        }
    }

    private static final int ERROR_MESSAGE_LENGTH_MAX = 1000;

    private final GroupId group;
    private final ReplicaAssignment identity;
    private final Service service;
    private final Settings settings;
    private final ReplicaOutput out;
    private final ServiceContext context;
    private SessionTable sessions;

    private GroupConfig config;
    private Role role;
    private boolean removed;
    /** Why this replica crashed, or null: a crashed replica acts on nothing more and waits to be rebuilt. */
    private String crashed;
    private boolean awaitingSnapshot;

    private long lastIndex;
    private long lastEpoch;
    private long lastTimestampMillis;
    private long durableIndex;
    private long commitIndex;
    private long lastSnapshotIndex;
    private int installsInFlight;

    private final EntryBuffer unacknowledged = new EntryBuffer();
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private final TreeMap<Long, Waiting> lateWaiting = new TreeMap<>();
    private final HashMap<Long, Waiting> waitingBySession = new HashMap<>();
    private Peer backup;

    /** True while this primary hands its role over: it orders nothing and holds new commands. */
    private boolean handingOver;
    private final ArrayDeque<HeldCommand> held = new ArrayDeque<>();
    private long handedOverReportedNanos = Long.MIN_VALUE / 2;
    /**
     * The node of the backup that the controller made primary when it took this primary's hand-over
     * report, until the configuration that says so arrives; null otherwise. See {@link #handOverCommitted}.
     */
    private String successor;

    private record HeldCommand(ClientCommand command, long nowMillis) {}

    private ReplicaAssignment primaryInstance;
    private long lastHeardFromPrimaryNanos;
    private boolean primaryDisconnected;
    private long lastSuspicionNanos = Long.MIN_VALUE / 2;

    /**
     * @param identity this replica instance as the controller placed it
     * @param service a fresh service instance with empty state
     * @param out where decisions go
     */
    public ReplicaCore(GroupId group, ReplicaAssignment identity, Service service, Settings settings, ReplicaOutput out) {
        this.group = group;
        this.identity = identity;
        this.service = service;
        this.settings = settings;
        this.out = out;
        this.context = new ServiceContext(group);
        this.sessions = new SessionTable(settings.sessionCapacity());
        this.awaitingSnapshot = identity.state() == ReplicaState.SYNCING;
    }

    // ---------------------------------------------------------------------------------------------
    // Inputs

    /**
     * Rebuilds the state from this replica's own durable snapshot and log, before the first
     * configuration. Used by a primary that restarts with nobody able to replace it.
     *
     * @param snapshot a state from {@link StateCodec}, or null
     * @param tail the durable log entries after the snapshot, in order
     */
    public void recover(byte[] snapshot, List<LogEntry> tail) {
        Invariants.check(config == null, "recover after configure");
        if (snapshot != null) {
            restore(StateCodec.decode(snapshot));
        }
        for (LogEntry entry : tail) {
            if (entry.index() > lastIndex) {
                apply(entry);
            }
        }
        durableIndex = lastIndex;
        lastSnapshotIndex = snapshot == null ? 0 : lastSnapshotIndex;
        awaitingSnapshot = false;
    }

    /** A configuration from the controller. Older or equal epochs are ignored. */
    public void configure(GroupConfig next, long nowNanos) {
        if (removed || (config != null && next.epoch() <= config.epoch())) {
            return;
        }
        Invariants.check(next.group().equals(group), "configuration of %s given to %s", next.group(), group);
        ReplicaAssignment me = next.replicaOn(identity.node());
        if (me == null || !identity.sameInstance(me)) {
            leave(next);
            return;
        }
        Role before = role;
        config = next;
        successor = null;
        role = me.role();
        if (role == Role.PRIMARY) {
            Invariants.check(!awaitingSnapshot, "%s: a replica without state became primary", group);
            trackBackup(next.backup(), nowNanos);
            advanceCommit();
            flush(nowNanos);
            boolean wasHandingOver = handingOver;
            handingOver = next.handover() && backup != null;
            if (handingOver && !wasHandingOver) {
                handedOverReportedNanos = Long.MIN_VALUE / 2;
            }
            if (!handingOver && !held.isEmpty()) {
                // The hand-over was called off (the group changed meanwhile): order what waited.
                List<HeldCommand> resumed = new ArrayList<>(held);
                held.clear();
                for (HeldCommand h : resumed) {
                    onClientCommand(h.command(), h.nowMillis());
                }
                flush(nowNanos);
            }
            reportHandedOverIfSo(nowNanos);
        } else {
            if (before == Role.PRIMARY) {
                demote(next);
            }
            ReplicaAssignment primary = next.primary();
            if (primaryInstance != null && !primaryInstance.sameInstance(primary)) {
                Invariants.check(me.state() == ReplicaState.SYNCING, "%s: an in-sync backup saw its primary replaced", group);
                awaitingSnapshot = true;
            }
            primaryInstance = primary;
            heardFromPrimary(nowNanos);
        }
    }

    /**
     * A client command.
     *
     * @param nowMillis wall-clock time from the runtime; becomes the command's timestamp if later
     *     than the last one
     */
    public void onClientCommand(ClientCommand command, long nowMillis) {
        if (role != Role.PRIMARY) {
            out.reply(command.requestId(), notPrimary());
            return;
        }
        if (handingOver) {
            if (successor != null) {
                out.reply(command.requestId(), new Reply.NotPrimary(config.epoch() + 1, successor));
            } else {
                held.addLast(new HeldCommand(command, nowMillis));
            }
            return;
        }
        SessionTable.Entry last = sessions.get(command.session());
        if (last != null && command.sequence() <= last.sequence()) {
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
        QuarantinedCommand poison = config.quarantined(command.session(), command.sequence());
        if (poison != null) {
            // Never run again: it crashed a replica once, and the next run could crash this one.
            out.reply(command.requestId(), new Reply.Rejected(Reply.POISON, "the command is quarantined as poison: it crashed the replica on "
                    + poison.node() + " in epoch " + poison.epoch() + " (" + poison.reason() + ")"));
            return;
        }
        long timestampMillis = Math.max(lastTimestampMillis, nowMillis);
        LogEntry entry = new LogEntry(lastIndex + 1, config.epoch(), timestampMillis, command.session(), command.sequence(), command.payload());
        Reply reply;
        applyingRequestId = command.requestId();
        try {
            reply = apply(entry);
        } catch (ServiceCrashed e) {
            applyingRequestId = NO_REQUEST;
            // The entry is neither persisted nor sent: only this replica's state saw it.
            crash(e.reason(), new QuarantinedCommand(command.session(), command.sequence(), QuarantinedCommand.payloadText(command.payload()),
                    command.payload().length, identity.node(), config.epoch(), e.reason()));
            // Its client asks again, and meets the quarantine at the replica that takes over.
            out.reply(command.requestId(), new Reply.NotPrimary(config.epoch(), ""));
            return;
        }
        applyingRequestId = NO_REQUEST;
        out.persist(entry);
        if (backup != null) {
            unacknowledged.add(entry);
        }
        Waiting entryWaiting = new Waiting(entry.index(), command.session(), command.sequence(), reply, command.requestId());
        waiting.addLast(entryWaiting);
        waitingBySession.put(command.session(), entryWaiting);
        maybeSnapshot();
    }

    /** A message from the replica of this group on {@code from}. */
    public void onMessage(String from, PeerMessage message, long nowNanos) {
        if (removed || config == null || message.epoch() != config.epoch()) {
            return;
        }
        switch (message) {
            case Append append -> onAppend(from, append, nowNanos);
            case AppendAck ack -> onAck(from, ack, nowNanos);
            case InstallSnapshot install -> onInstallSnapshot(from, install, nowNanos);
        }
    }

    /** The log is durable up to {@code index}: every entry given to {@link ReplicaOutput#persist} so far up to it. */
    public void persisted(long index) {
        if (installsInFlight > 0 || removed) {
            // Completions of writes made before a snapshot install belong to the replaced state.
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
            acknowledge();
        }
    }

    /** The snapshot given to {@link ReplicaOutput#installSnapshot} for {@code index} is durable. */
    public void snapshotInstalled(long index) {
        Invariants.check(installsInFlight > 0, "%s: snapshot installed without a request", group);
        installsInFlight--;
        if (installsInFlight == 0 && !removed) {
            durableIndex = index;
            if (role == Role.BACKUP) {
                acknowledge();
            }
        }
    }

    /** The runtime's connection to {@code node} broke. */
    public void connectionLost(String node, long nowNanos) {
        if (role == Role.BACKUP && primaryInstance != null && primaryInstance.node().equals(node)) {
            primaryDisconnected = true;
            reportSuspicion(nowNanos);
        } else if (role == Role.PRIMARY && backup != null && backup.assignment.node().equals(node)) {
            reportBackupFailure("connection to backup closed");
        }
    }

    /** Time passes. Drives heartbeats, retransmission and failure suspicion. */
    public void tick(long nowNanos) {
        if (removed || config == null) {
            return;
        }
        if (role == Role.BACKUP) {
            boolean silent = nowNanos - lastHeardFromPrimaryNanos > settings.suspectTimeoutNanos();
            // Repeated while it lasts: a controller leader elected meanwhile has heard nothing yet.
            if ((primaryDisconnected || silent) && nowNanos - lastSuspicionNanos >= 2 * settings.heartbeatIntervalNanos()) {
                reportSuspicion(nowNanos);
            }
            return;
        }
        if (backup == null) {
            return;
        }
        reportHandedOverIfSo(nowNanos);
        boolean behind = backup.durableIndex < lastIndex || backup.snapshotPending || !backup.snapshotAcknowledged;
        if (!behind) {
            // Silence while there is nothing to acknowledge is no failure: the clock starts when work does.
            backup.lastProgressNanos = nowNanos;
        }
        if (behind && nowNanos - backup.lastProgressNanos > settings.backupTimeoutNanos()) {
            reportBackupFailure("no acknowledgement for " + (nowNanos - backup.lastProgressNanos) / 1_000_000 + " ms");
        }
        long retransmitNanos = backup.snapshotAcknowledged ? settings.retransmitNanos() : settings.backupTimeoutNanos() / 4;
        if (behind && nowNanos - Math.max(backup.lastProgressNanos, backup.lastRetransmitNanos) >= retransmitNanos) {
            // Nothing acknowledged for a while: whatever was in flight may be lost. Send it again.
            backup.lastRetransmitNanos = nowNanos;
            rewind(backup);
            flush(nowNanos);
        }
        if (nowNanos - backup.lastSentNanos >= settings.heartbeatIntervalNanos()) {
            send(backup, new Append(group, config.epoch(), backup.nextIndex - 1, List.of(), commitIndex), nowNanos);
        }
    }

    /**
     * The service is still running a command: a primary tells its backup it is alive, so that a
     * long command is judged by the watchdog rather than taken for a dead primary. The runtime's
     * watchdog calls it from its own thread while this core's thread is inside a service call and
     * waits for it, so it only sends a heartbeat and changes nothing else.
     */
    public void keepAlive(long nowNanos) {
        if (role == Role.PRIMARY && backup != null && !backup.snapshotPending && backup.snapshotAcknowledged) {
            send(backup, new Append(group, config.epoch(), backup.nextIndex - 1, List.of(), commitIndex), nowNanos);
        }
    }

    /** Sends what accumulated for the backup. The runtime calls it after a batch of inputs. */
    public void flush(long nowNanos) {
        if (role != Role.PRIMARY || backup == null) {
            return;
        }
        if (backup.snapshotPending) {
            sendSnapshot(nowNanos);
        }
        while (backup.nextIndex <= lastIndex) {
            int count = (int) Math.min(settings.appendEntriesMax(), lastIndex - backup.nextIndex + 1);
            List<LogEntry> entries = new ArrayList<>(count);
            for (long index = backup.nextIndex; index < backup.nextIndex + count; index++) {
                entries.add(unacknowledged.get(index));
            }
            send(backup, new Append(group, config.epoch(), backup.nextIndex - 1, entries, commitIndex), nowNanos);
            backup.nextIndex += count;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Backup

    private void onAppend(String from, Append append, long nowNanos) {
        if (role != Role.BACKUP || !from.equals(primaryInstance.node())) {
            return;
        }
        heardFromPrimary(nowNanos);
        if (awaitingSnapshot) {
            return;
        }
        if (append.previousIndex() > lastIndex) {
            if (installsInFlight == 0) {
                out.send(primaryInstance.node(), new AppendAck(group, config.epoch(), durableIndex, lastIndex + 1, true));
            }
            return;
        }
        boolean appended = false;
        for (LogEntry entry : append.entries()) {
            if (entry.index() <= lastIndex) {
                continue;
            }
            try {
                apply(entry);
            } catch (ServiceCrashed e) {
                // The primary ran this entry fine, so the fault is this replica's, not the command's.
                crash(e.reason() + " at entry " + entry.index(), null);
                return;
            }
            out.persist(entry);
            appended = true;
        }
        if (!appended) {
            acknowledge();
        }
        maybeSnapshot();
    }

    private void onInstallSnapshot(String from, InstallSnapshot install, long nowNanos) {
        if (role != Role.BACKUP || !from.equals(primaryInstance.node())) {
            return;
        }
        heardFromPrimary(nowNanos);
        if (!awaitingSnapshot && install.index() <= lastIndex) {
            // A late or repeated snapshot of the same primary: going back would lose entries the
            // primary already counts as acknowledged here.
            acknowledge();
            return;
        }
        restore(StateCodec.decode(install.state()));
        durableIndex = 0;
        installsInFlight++;
        awaitingSnapshot = false;
        out.installSnapshot(install.index(), install.state());
    }

    private void heardFromPrimary(long nowNanos) {
        lastHeardFromPrimaryNanos = nowNanos;
        primaryDisconnected = false;
    }

    private void reportSuspicion(long nowNanos) {
        lastSuspicionNanos = nowNanos;
        out.suspect(primaryInstance.node(), primaryDisconnected, primaryDisconnected ? "connection to primary closed"
                : "primary silent for " + (nowNanos - lastHeardFromPrimaryNanos) / 1_000_000 + " ms");
    }

    private void acknowledge() {
        if (awaitingSnapshot || installsInFlight > 0 || primaryInstance == null) {
            return;
        }
        out.send(primaryInstance.node(), new AppendAck(group, config.epoch(), durableIndex, lastIndex + 1, false));
    }

    // ---------------------------------------------------------------------------------------------
    // Primary

    private void trackBackup(ReplicaAssignment assignment, long nowNanos) {
        if (assignment == null) {
            backup = null;
            unacknowledged.clear();
            return;
        }
        if (backup != null && backup.assignment.sameInstance(assignment)) {
            backup.assignment = assignment;
            // Once the primary waits for a backup it keeps waiting: that is what made reporting it safe.
            backup.required = backup.required || assignment.state() == ReplicaState.OK;
            backup.caughtUpReported = false;
            backup.failureReported = false;
            return;
        }
        backup = new Peer(assignment, nowNanos);
        backup.required = assignment.state() == ReplicaState.OK;
        backup.awaitingFirstAck = assignment.state() == ReplicaState.OK;
        backup.nextIndex = lastIndex + 1;
        backup.durableIndex = 0;
        unacknowledged.clear();
        // A new syncing backup starts from a snapshot. An in-sync one is only new in a new group,
        // where both replicas are empty; if it is behind, its gap report leads to a snapshot.
        backup.snapshotPending = assignment.state() == ReplicaState.SYNCING;
    }

    private void onAck(String from, AppendAck ack, long nowNanos) {
        if (role != Role.PRIMARY || backup == null || !from.equals(backup.assignment.node())) {
            return;
        }
        Invariants.check(ack.durableIndex() <= lastIndex, "%s: backup acknowledged %d beyond last %d",
                group, ack.durableIndex(), lastIndex);
        backup.awaitingFirstAck = false;
        if (!backup.snapshotAcknowledged && ack.durableIndex() >= backup.snapshotIndex) {
            // An awaiting backup sends nothing before it holds the snapshot: this ack is for it.
            backup.snapshotAcknowledged = true;
            backup.lastProgressNanos = nowNanos;
        }
        if (ack.durableIndex() > backup.durableIndex) {
            backup.durableIndex = ack.durableIndex();
            backup.lastProgressNanos = nowNanos;
            unacknowledged.dropThrough(backup.durableIndex);
            advanceCommit();
        }
        if (ack.gap() && ack.nextIndex() < backup.nextIndex && !backup.snapshotPending && backup.snapshotAcknowledged) {
            // The backup saw a gap: something was lost on the way. Send again from where it is.
            backup.nextIndex = Math.max(ack.nextIndex(), backup.durableIndex + 1);
            if (!unacknowledged.isEmpty() && backup.nextIndex < unacknowledged.firstIndex()
                    || unacknowledged.isEmpty() && backup.nextIndex <= lastIndex) {
                backup.snapshotPending = true;
            }
            flush(nowNanos);
        }
        reportCaughtUpIfSo();
        reportHandedOverIfSo(nowNanos);
    }

    /**
     * While handing over: once the backup holds every entry this primary ordered (so every result
     * was released), tells the controller, and again every retransmission interval until the
     * configuration changes (the report may be lost with a controller leader).
     */
    private void reportHandedOverIfSo(long nowNanos) {
        if (!handingOver || backup == null || !backup.required || backup.durableIndex < lastIndex || durableIndex < lastIndex
                || nowNanos - handedOverReportedNanos < settings.retransmitNanos()) {
            return;
        }
        Invariants.check(waiting.isEmpty() && lateWaiting.isEmpty(), "%s: handed over with results unreleased", group);
        handedOverReportedNanos = nowNanos;
        out.control(new ControlCommand.HandedOver(group, config.epoch(), identity.node(), identity.incarnation(), lastIndex));
    }

    /**
     * The controller took this primary's hand-over report for {@code epoch} (the runtime learns it
     * from the answer to its proposal, before this node applies the configuration that follows): its
     * backup is the primary of a later epoch. The commands held, and any that come until that
     * configuration arrives, are sent there; none of them was ordered here. Stale calls change nothing.
     */
    public void handOverCommitted(long epoch) {
        if (!handingOver || removed || config == null || config.epoch() != epoch || backup == null) {
            return;
        }
        successor = backup.assignment.node();
        Reply redirect = new Reply.NotPrimary(epoch + 1, successor);
        for (HeldCommand h : held) {
            out.reply(h.command().requestId(), redirect);
        }
        held.clear();
    }

    /**
     * The controller swapped roles after this primary handed over: it stays as the new primary's
     * backup with the state it has, which is what the new primary holds too (see {@link
     * ControlCommand.HandedOver}). Commands held meanwhile are answered NotPrimary.
     */
    private void demote(GroupConfig next) {
        Invariants.check(handingOver && durableIndex == lastIndex && waiting.isEmpty() && lateWaiting.isEmpty(),
                "%s: a primary is demoted in place only after handing over", group);
        handingOver = false;
        Reply redirect = notPrimary();
        for (HeldCommand h : held) {
            out.reply(h.command().requestId(), redirect);
        }
        held.clear();
        backup = null;
        unacknowledged.clear();
        primaryInstance = next.primary();
    }

    private void reportCaughtUpIfSo() {
        if (backup.assignment.state() != ReplicaState.SYNCING || backup.caughtUpReported || backup.snapshotPending
                || backup.snapshotIndex < 0 || !backup.snapshotAcknowledged || backup.durableIndex < commitIndex) {
            return;
        }
        // From here on no result is released without this backup, so the controller may mark it in sync.
        backup.required = true;
        backup.caughtUpReported = true;
        out.control(new ControlCommand.ReplicaCaughtUp(group, config.epoch(), backup.assignment.node(), backup.assignment.incarnation()));
    }

    private void reportBackupFailure(String reason) {
        if (backup.failureReported) {
            return;
        }
        backup.failureReported = true;
        out.control(new ControlCommand.ReplicaFailed(group, config.epoch(), identity.node(), backup.assignment.node(), reason));
    }

    private void rewind(Peer peer) {
        if (peer.snapshotPending || peer.awaitingFirstAck) {
            return;
        }
        long from = peer.durableIndex + 1;
        boolean buffered = !unacknowledged.isEmpty() && from >= unacknowledged.firstIndex();
        if (from <= lastIndex && !buffered || !peer.snapshotAcknowledged) {
            peer.snapshotPending = true;
        } else {
            peer.nextIndex = from;
        }
    }

    private void sendSnapshot(long nowNanos) {
        byte[] state = encodeState();
        backup.snapshotPending = false;
        backup.snapshotAcknowledged = false;
        backup.snapshotIndex = lastIndex;
        backup.nextIndex = lastIndex + 1;
        unacknowledged.clear();
        send(backup, new InstallSnapshot(group, config.epoch(), lastIndex, state), nowNanos);
    }

    private void send(Peer peer, PeerMessage message, long nowNanos) {
        peer.lastSentNanos = nowNanos;
        out.send(peer.assignment.node(), message);
    }

    private void advanceCommit() {
        if (role != Role.PRIMARY) {
            return;
        }
        long commit = durableIndex;
        if (backup != null && backup.required) {
            commit = Math.min(commit, backup.durableIndex);
        }
        if (commit <= commitIndex) {
            return;
        }
        commitIndex = commit;
        while (!waiting.isEmpty() && waiting.peekFirst().index <= commit) {
            release(waiting.pollFirst());
        }
        while (!lateWaiting.isEmpty() && lateWaiting.firstKey() <= commit) {
            release(lateWaiting.pollFirstEntry().getValue());
        }
        if (backup != null && unacknowledged.size() > settings.unacknowledgedEntriesMax()) {
            // A backup this far behind is rebuilt from a snapshot rather than held in memory.
            if (backup.required) {
                reportBackupFailure("more than " + settings.unacknowledgedEntriesMax() + " entries unacknowledged");
            } else {
                unacknowledged.clear();
                backup.snapshotPending = true;
            }
        }
    }

    private void release(Waiting released) {
        waitingBySession.remove(released.session, released);
        out.reply(released.requestId, released.reply);
        if (released.moreRequestIds != null) {
            for (long requestId : released.moreRequestIds) {
                out.reply(requestId, released.reply);
            }
        }
    }

    /** A retry of a command that is ordered but not yet committed waits for the same release. */
    private void waitFor(ClientCommand command, SessionTable.Entry last) {
        Waiting existing = waitingBySession.get(command.session());
        if (existing != null && existing.sequence == command.sequence()) {
            existing.add(command.requestId());
            return;
        }
        // Ordered by an earlier primary: nobody here waits for it yet.
        Waiting late = new Waiting(last.index(), command.session(), command.sequence(), last.reply(), command.requestId());
        lateWaiting.put(last.index(), late);
        waitingBySession.put(command.session(), late);
    }

    private void leave(GroupConfig next) {
        leave(new Reply.NotPrimary(next.epoch(), next.primary() == null ? "" : next.primary().node()));
    }

    /**
     * The service threw an {@link Error} or passed the runtime's watchdog: this replica's state is no
     * longer trusted. It reports the crash, with the command that caused it when it was the primary
     * running a client command, and acts on nothing more; the controller has it rebuilt.
     */
    /**
     * This replica crashed outside its service (a broken invariant, an injected fault): it reports
     * it and stops as when its service crashed. Nothing happens if it already left its group.
     */
    public void crash(String reason) {
        if (!removed && config != null) {
            crash(reason, null);
        }
    }

    private void crash(String reason, QuarantinedCommand poison) {
        crashed = reason;
        out.control(new ControlCommand.ReplicaCrashed(group, config.epoch(), identity.node(), identity.incarnation(), identity.sinceEpoch(),
                reason, poison));
        // Its clients ask again elsewhere; what was ordered here and not released is retried exactly once.
        leave(new Reply.NotPrimary(config.epoch(), ""));
    }

    private void leave(Reply reply) {
        removed = true;
        role = null;
        for (Waiting w : waiting) {
            replyAll(w, reply);
        }
        for (Waiting w : lateWaiting.values()) {
            replyAll(w, reply);
        }
        for (HeldCommand h : held) {
            out.reply(h.command().requestId(), reply);
        }
        held.clear();
        handingOver = false;
        waiting.clear();
        lateWaiting.clear();
        waitingBySession.clear();
        unacknowledged.clear();
        backup = null;
    }

    private void replyAll(Waiting w, Reply reply) {
        out.reply(w.requestId, reply);
        if (w.moreRequestIds != null) {
            for (long requestId : w.moreRequestIds) {
                out.reply(requestId, reply);
            }
        }
    }

    private Reply notPrimary() {
        if (config == null) {
            return new Reply.NotPrimary(0, "");
        }
        ReplicaAssignment primary = config.primary();
        return new Reply.NotPrimary(config.epoch(), primary == null ? "" : primary.node());
    }

    // ---------------------------------------------------------------------------------------------
    // State

    /**
     * The entry whose command the service runs now, and the client request it answers ({@link
     * #NO_REQUEST} on a backup); for {@link #hung}. Plain fields: the runtime's watchdog reads them
     * only while this thread waits for it.
     */
    private LogEntry applying;
    private long applyingRequestId = NO_REQUEST;
    private static final long NO_REQUEST = Long.MIN_VALUE;

    /**
     * The service has been running the current command past the runtime's watchdog limit: what this
     * replica would report and answer had the command crashed it. Changes nothing; called from the
     * watchdog's thread while this core's thread is stuck in the service (see {@code
     * GuardedService}). Null when the replica already left its group. {@code recoveringEpoch}: the
     * epoch to report while it recovers from its log, before its first configuration.
     */
    public io.pairstep.core.ServiceHung hung(String reason, long recoveringEpoch) {
        if (removed || applying == null) {
            return null;
        }
        long epoch = config == null ? recoveringEpoch : config.epoch();
        QuarantinedCommand poison = null;
        String why = reason;
        List<Long> requestIds = new ArrayList<>();
        if (applyingRequestId != NO_REQUEST) {
            // The primary runs a client command before anyone else sees it: the command is poison.
            poison = new QuarantinedCommand(applying.session(), applying.sequence(), QuarantinedCommand.payloadText(applying.payload()),
                    applying.payload().length, identity.node(), epoch, reason);
            requestIds.add(applyingRequestId);
        } else {
            why = reason + " at entry " + applying.index();
        }
        for (Waiting w : waiting) {
            addRequestIds(w, requestIds);
        }
        for (Waiting w : lateWaiting.values()) {
            addRequestIds(w, requestIds);
        }
        for (HeldCommand h : held) {
            requestIds.add(h.command().requestId());
        }
        return new io.pairstep.core.ServiceHung(new ControlCommand.ReplicaCrashed(group, epoch, identity.node(),
                identity.incarnation(), identity.sinceEpoch(), why, poison), requestIds, new Reply.NotPrimary(epoch, ""),
                epoch, lastIndex, List.of());
    }

    private static void addRequestIds(Waiting w, List<Long> into) {
        into.add(w.requestId);
        if (w.moreRequestIds != null) {
            into.addAll(w.moreRequestIds);
        }
    }

    private Reply apply(LogEntry entry) {
        Invariants.check(entry.index() == lastIndex + 1, "%s: applying %d after %d", group, entry.index(), lastIndex);
        Invariants.check(entry.epoch() >= lastEpoch, "%s: entry epoch went back", group);
        lastIndex = entry.index();
        lastEpoch = entry.epoch();
        lastTimestampMillis = Math.max(lastTimestampMillis, entry.timestampMillis());
        SessionTable.Entry last = sessions.get(entry.session());
        if (last != null && entry.sequence() <= last.sequence()) {
            // Defence in depth: the primary never orders a duplicate, and a duplicate is never run twice.
            return entry.sequence() == last.sequence() ? last.reply()
                    : new Reply.Rejected(Reply.STALE_SEQUENCE, "sequence " + entry.sequence() + " is stale");
        }
        if (last == null && entry.sequence() != 1) {
            // Decided in the log, not when the command arrives: a stale primary does not know the
            // session either, and must not answer for the group.
            return new Reply.Rejected(Reply.SESSION_EXPIRED,
                    "session " + Long.toHexString(entry.session()) + " is unknown or expired; start a new session");
        }
        context.moveTo(entry.index(), entry.timestampMillis());
        applying = entry;
        Reply reply;
        try {
            reply = new Reply.Ok(service.apply(entry.payload(), context));
        } catch (io.pairstep.api.MalformedCommandException e) {
            reply = new Reply.ApplicationError(truncate(io.pairstep.api.MalformedCommandException.REPLY_PREFIX + e.getMessage()));
        } catch (ApplicationException e) {
            reply = new Reply.ApplicationError(truncate(e.getMessage()));
        } catch (RuntimeException e) {
            reply = new Reply.ApplicationError(truncate(e.getClass().getName() + ": " + e.getMessage()));
        } catch (Error e) {
            // StackOverflowError, OutOfMemoryError, or the runtime's watchdog: the service may have
            // stopped half way through a change, so its state is not to be trusted any more.
            throw new ServiceCrashed(truncate(e.toString()));
        }
        sessions.record(entry.session(), entry.sequence(), entry.index(), reply);
        return reply;
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
    }

    private void maybeSnapshot() {
        if (lastIndex - lastSnapshotIndex >= settings.snapshotIntervalEntries()) {
            lastSnapshotIndex = lastIndex;
            out.saveSnapshot(lastIndex, encodeState());
        }
    }

    /** The whole state of this replica as of {@link #lastIndex()}. */
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

    /** PRIMARY, BACKUP, or null before the first configuration and after removal. */
    public Role role() {
        return role;
    }

    public boolean removed() {
        return removed;
    }

    /** Why this replica crashed, or null when it did not. A crashed replica is also {@link #removed()}. */
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

    public long commitIndex() {
        return commitIndex;
    }

    /** True while this replica waits for a snapshot from its primary. */
    public boolean awaitingSnapshot() {
        return awaitingSnapshot;
    }

    /** Checks the replica's invariants; the simulator calls it after every step. */
    public void checkInvariants() {
        Invariants.check(durableIndex <= lastIndex, "%s: durable %d beyond last %d", group, durableIndex, lastIndex);
        if (role == Role.PRIMARY) {
            Invariants.check(commitIndex <= durableIndex, "%s: commit %d beyond durable %d", group, commitIndex, durableIndex);
            Invariants.check(waiting.isEmpty() || waiting.peekFirst().index > commitIndex, "%s: unreleased committed entry", group);
        }
        if (removed) {
            Invariants.check(waiting.isEmpty() && lateWaiting.isEmpty(), "%s: removed replica holds waiters", group);
        }
        Invariants.check(held.isEmpty() || handingOver && role == Role.PRIMARY, "%s: holds commands without handing over", group);
    }
}
