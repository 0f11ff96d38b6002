package io.pairstep.runtime;

import io.pairstep.core.GroupId;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.ReplicaCore;
import io.pairstep.core.replica.ReplicaOutput;
import io.pairstep.core.replica.Reply;
import io.pairstep.runtime.storage.GroupCommitWriter;
import io.pairstep.runtime.storage.ReplicaLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosts one replica on its own thread: the single writer of its {@link ReplicaCore}. Other threads
 * hand it inputs through a queue; it drains the queue, ticks the core, flushes what the core
 * decided, and sleeps until more arrives. Entries to persist are gathered over one drain and go to
 * the node's group-commit writer as one submission.
 */
final class ReplicaAgent extends AgentThread implements GroupAgent, ReplicaOutput {

    private static final Logger LOG = LoggerFactory.getLogger(ReplicaAgent.class);

    /** What the agent needs from its node. */
    interface Host {
        void sendPeer(String node, PeerMessage message);

        void reply(long requestId, Reply reply);

        void propose(ControlCommand command);

        /** Proposes {@code command} and hands the controller's answer to {@code answered}, if one comes. */
        default void propose(ControlCommand command, java.util.function.Consumer<io.pairstep.core.control.ControlResult> answered) {
            propose(command);
        }

        void suspect(String node, boolean connectionClosed, String reason);
    }

    private final ReplicaCore core;
    private final Host host;
    /** The service as the core runs it: under the watchdog, if the node has one. */
    private final GuardedService service;
    /** The upgrade version whose shadow run this replica started, or 0. */
    private volatile long shadowVersion;
    private final Path dumps;
    /** True once the crash of the core was handled; agent thread only. */
    private boolean crashHandled;
    /** The role and state of the last configuration given, for the log; touched only by the node's reconciler. */
    private String configured = "";

    /**
     * @param watchdogMillis how long one command may run before the replica counts as crashed; 0
     *     runs the service on the agent thread with no watchdog
     * @param dumps where the state of a crashed replica is written
     */
    ReplicaAgent(GroupId group, ReplicaCore.Settings settings, io.pairstep.core.control.ReplicaAssignment identity,
            io.pairstep.api.Service service, long watchdogMillis, ReplicaLog log, GroupCommitWriter writer, Path dumps,
            Host host, ServiceWatchdog watchdog) {
        super(group, log, writer, "pairstep-replica-");
        this.host = host;
        this.dumps = dumps;
        this.service = GuardedService.guard(service, group, identity, watchdogMillis, watchdog, now -> core().keepAlive(now),
                this::watchdogExpired);
        this.core = new ReplicaCore(group, identity, this.service, settings, this);
    }

    ReplicaCore core() {
        return core;
    }

    @Override
    public io.pairstep.core.control.ReplicaAssignment identity() {
        return core.identity();
    }

    /** The epoch of the configuration it recovers for; for a crash report while it recovers. */
    private volatile long recoveringEpoch;

    @Override
    public void recover(byte[] snapshot, List<LogEntry> tail, GroupConfig config) {
        recoveringEpoch = config.epoch();
        enqueue(() -> {
            // A primary runs each command before it persists it: its log never holds a poison command.
            core.recover(snapshot, tail);
            LOG.info("{}: primary recovered from disk up to index {}", group, core.lastIndex());
        });
    }

    /** See {@link #actForStuckThread}. */
    private void watchdogExpired(String reason) {
        actForStuckThread(core.hung(reason, recoveringEpoch), host, dumps, core.identity().node());
    }

    @Override
    public void configure(GroupConfig config) {
        io.pairstep.core.control.ReplicaAssignment me = config.replicaOn(core.identity().node());
        String now = me == null || !core.identity().sameInstance(me) ? "removed" : me.role().name().toLowerCase(java.util.Locale.ROOT)
                + " " + me.state().name().toLowerCase(java.util.Locale.ROOT)
                + (config.handover() && me.role() == io.pairstep.core.control.Role.PRIMARY ? " handing over" : "");
        metrics().configured(me == null || !core.identity().sameInstance(me) ? null : me);
        service.runsAsBackup(me != null && core.identity().sameInstance(me) && me.role() == io.pairstep.core.control.Role.BACKUP);
        if (!now.equals(configured)) {
            LOG.info("{}: {} in epoch {}{}", group, now, config.epoch(), configured.isEmpty() ? "" : " (was " + configured + ")");
            configured = now;
        }
        enqueue(() -> core.configure(config, System.nanoTime()));
    }

    @Override
    public void clientCommand(ClientCommand command) {
        enqueue(() -> core.onClientCommand(command, System.currentTimeMillis()));
    }

    void peerMessage(String from, PeerMessage message) {
        enqueue(() -> core.onMessage(from, message, System.nanoTime()));
    }

    @Override
    public void connectionLost(String node) {
        enqueue(() -> core.connectionLost(node, System.nanoTime()));
    }

    // ---------------------------------------------------------------------------------------------
    // The core on its thread

    @Override
    void tickCore(long nowNanos) {
        core.tick(nowNanos);
    }

    @Override
    void flushCore(long nowNanos) {
        core.flush(nowNanos);
        if (core.crashed() != null && !crashHandled && !gone()) {
            crashHandled = true;
            dumpCrash(core.crashed());
            // This loop ends after this round, so what is pending still goes to disk; the controller
            // has this replica rebuilt as a new instance, on a fresh thread and service.
            stop();
        }
    }

    @Override
    public void shadowPhaseOver() {
        shadowVersion = 0;
    }

    /**
     * Shadow mode of an upgrade: from the next command on, {@code newVersion} runs beside this
     * backup's service, starting from its current state, for {@code commands} commands; then its
     * outcome goes to the controller. Once per upgrade in shadow mode (see {@link #shadowPhaseOver});
     * later calls change nothing.
     */
    void startShadow(long toVersion, io.pairstep.api.Service newVersion, long commands) {
        if (shadowVersion == toVersion) {
            return;
        }
        shadowVersion = toVersion;
        enqueue(() -> {
            LOG.info("{}: version {} runs in shadow mode beside this backup for {} commands", group, toVersion, commands);
            service.shadow(new Shadow(newVersion, service.snapshot(), commands, outcome -> {
                LOG.info("{}: shadow run of version {} ended: {} commands compared, {} differences", group, toVersion, outcome.compared(),
                        outcome.differences().size());
                host.propose(new ControlCommand.ShadowReport(group, core.identity().node(), toVersion, outcome.compared(),
                        outcome.differences()));
            }));
        });
    }

    @Override
    public void slowDown(long millis) {
        service.delay(millis);
    }

    @Override
    public CompletableFuture<QuickDump> quickDump() {
        return onAgentThread(() -> core.removed() ? null : new QuickDump(core.role(), core.epoch(), core.lastIndex(), core.encodeState()));
    }

    @Override
    public CompletableFuture<Boolean> injectCrash() {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        enqueue(() -> {
            boolean present = !core.removed();
            core.crash("injected crash (fault crash-replica)");
            done.complete(present);
        });
        return done;
    }

    /** Writes the state this replica crashed with, for diagnosis, before it is rebuilt. */
    private void dumpCrash(String reason) {
        byte[] state;
        try {
            state = core.encodeState();
        } catch (RuntimeException | Error e) {
            // The service may be broken past snapshotting; the dump then says so.
            state = new byte[0];
            reason = reason + "; the state could not be encoded: " + e;
        }
        try {
            Path file = LockstepAgent.writeDump(dumps, group, core.identity().node(), core.epoch(), "replica crashed: " + reason,
                    core.lastIndex(), state, List.of());
            LOG.warn("{}: replica crashed ({}); its state at index {} is dumped to {}", group, reason, core.lastIndex(), file);
        } catch (IOException | RuntimeException e) {
            LOG.error("{}: replica crashed ({}); cannot write its dump: {}", group, reason, e.toString());
        }
    }

    @Override
    void afterLoop() {
        service.close();
    }

    @Override
    long coreLastIndex() {
        return core.lastIndex();
    }

    @Override
    long coreCommitIndex() {
        return core.commitIndex();
    }

    @Override
    void persistedUpTo(long index) {
        core.persisted(index);
    }

    @Override
    void snapshotInstalledAt(long index) {
        core.snapshotInstalled(index);
    }

    @Override
    void failed(Throwable error) {
        // A broken invariant: this replica stops, its partner takes over, and it is rebuilt.
        LOG.error("replica {} stopped: {}", group, error.toString(), error);
        try {
            core.crash("replica failed: " + error);
        } catch (RuntimeException | Error e) {
            LOG.error("replica {} cannot report its crash: {}", group, e.toString());
        }
        if (!crashHandled) {
            crashHandled = true;
            dumpCrash("replica failed: " + error);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Outputs, on the agent thread (persist and the snapshots are the base's)

    @Override
    public void send(String node, PeerMessage message) {
        if (!gone()) {
            host.sendPeer(node, message);
        }
    }

    @Override
    public void reply(long requestId, Reply reply) {
        if (!gone()) {
            host.reply(requestId, reply);
        }
    }

    @Override
    public void control(ControlCommand command) {
        if (command instanceof ControlCommand.HandedOver handedOver) {
            LOG.info("{}: handed over in epoch {}: the backup holds every entry up to {}", group, handedOver.epoch(), handedOver.index());
            if (!gone()) {
                // Taken: the held commands go to the successor now, not once this node applies the swap.
                host.propose(command, result -> {
                    if (result.changed()) {
                        enqueue(() -> core.handOverCommitted(handedOver.epoch()));
                    }
                });
            }
            return;
        }
        if (!gone()) {
            host.propose(command);
        }
    }

    @Override
    public void suspect(String node, boolean connectionClosed, String reason) {
        if (!gone()) {
            host.suspect(node, connectionClosed, reason);
        }
    }
}
