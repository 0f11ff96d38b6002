package io.pairstep.runtime;

import io.pairstep.core.GroupId;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.lockstep.LockstepCore;
import io.pairstep.core.lockstep.LockstepMessage;
import io.pairstep.core.lockstep.LockstepOutput;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.Reply;
import io.pairstep.core.replica.StateCodec;
import io.pairstep.runtime.storage.GroupCommitWriter;
import io.pairstep.runtime.storage.ReplicaLog;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hosts one member of a lockstep group ({@code dmr} or {@code tmr}) on its own thread: the single
 * writer of its {@link LockstepCore}, as {@link ReplicaAgent} is for a pair replica. Other threads
 * hand it inputs through a queue; it drains the queue, ticks the core, flushes what the core
 * decided, and sleeps until more arrives. Entries go to the node's group-commit writer, one
 * submission per drain. A member that leaves with a suspect state writes it to a dump file under
 * {@code DATA/dumps/}.
 */
final class LockstepAgent extends AgentThread implements GroupAgent, LockstepOutput {

    private static final Logger LOG = LoggerFactory.getLogger(LockstepAgent.class);

    /** What the agent needs from its node. */
    interface Host extends ReplicaAgent.Host {
        void sendLockstep(String node, LockstepMessage message);

        /** A member of this node wrote a dump file as it left its group; for the incident's evidence. */
        default void dumped(GroupId group, Path file, String reason) {}
    }

    private final LockstepCore core;
    /** The service as the core runs it: under the watchdog, if the node has one. */
    private final GuardedService service;
    private final Host host;
    private final Path dumps;
    /** The epoch of the last configuration applied; for the dump file. Agent thread only. */
    private long epoch;
    private String configured = "";
    /**
     * The upgrade target whose shadow run this member started, or null; touched only by the node's
     * reconciler (which calls {@link #configure} and {@link #startShadow}), so that a cancel and a
     * new start reach the agent thread in the order they were decided. The whole spec, not only
     * its version: after a shadow run that differed, the next upgrade names the same version.
     */
    private io.pairstep.core.control.ServiceSpec shadowing;

    /**
     * @param watchdogMillis how long one command may run before the member counts as crashed; 0
     *     runs the service on the agent thread with no watchdog
     */
    LockstepAgent(GroupId group, LockstepCore.Settings settings, ReplicaAssignment identity, io.pairstep.api.Service service,
            long watchdogMillis, ReplicaLog log, GroupCommitWriter writer, Path dumps, Host host, ServiceWatchdog watchdog) {
        super(group, log, writer, "pairstep-lockstep-");
        this.host = host;
        this.dumps = dumps;
        this.service = GuardedService.guard(service, group, identity, watchdogMillis, watchdog, now -> core().keepAlive(now),
                this::watchdogExpired);
        this.core = new LockstepCore(group, identity, this.service, settings, this);
    }

    private LockstepCore core() {
        return core;
    }

    @Override
    public ReplicaAssignment identity() {
        return core.identity();
    }

    /** Recovers from the durable log before the first configuration; runs on the caller's thread. */
    @Override
    public void recover(byte[] snapshot, List<LogEntry> tail, GroupConfig config) {
        recoveringEpoch = config.epoch();
        enqueue(() -> {
            core.recover(snapshot, tail, config.quarantined());
            LOG.info("{}: member recovered from disk up to index {}", group, core.lastIndex());
        });
    }

    /** The epoch of the configuration it recovers for; for a crash report while it recovers. */
    private volatile long recoveringEpoch;

    /** See {@link #actForStuckThread}; the dump is evidence for the incident, as a diverged member's is. */
    private void watchdogExpired(String reason) {
        io.pairstep.core.ServiceHung hung = core.hung(reason, recoveringEpoch);
        Path file = actForStuckThread(hung, host, dumps, core.identity().node());
        if (file != null) {
            host.dumped(group, file, "member crashed: " + hung.report().reason());
        }
    }

    @Override
    public void configure(GroupConfig config) {
        ReplicaAssignment me = config.replicaOn(core.identity().node());
        String now = me == null || !core.identity().sameInstance(me) ? "removed"
                : me.role().name().toLowerCase(Locale.ROOT) + " " + me.state().name().toLowerCase(Locale.ROOT);
        metrics().configured(me == null || !core.identity().sameInstance(me) ? null : me);
        if (!now.equals(configured)) {
            LOG.info("{}: lockstep {} in epoch {}{}", group, now, config.epoch(), configured.isEmpty() ? "" : " (was " + configured + ")");
            configured = now;
        }
        // A shadow runs only on a member in sync other than the orderer. One that stops being one
        // (it orders now, or falls behind) gives its run up for good: commands it ran meanwhile
        // without the shadow would make the shadow's state drift. The controller then has another
        // member run it, or this one anew if it becomes a follower in sync again.
        boolean follower = me != null && core.identity().sameInstance(me) && me.role() == io.pairstep.core.control.Role.BACKUP
                && me.state() == io.pairstep.core.control.ReplicaState.OK;
        service.runsAsBackup(follower);
        if (!follower && shadowing != null) {
            LOG.info("{}: the shadow run of version {} stops here: this member is no longer a follower in sync", group,
                    shadowing.version());
            shadowing = null;
            enqueue(() -> service.shadow(null));
        }
        enqueue(() -> {
            core.configure(config, System.nanoTime());
            epoch = Math.max(epoch, config.epoch());
        });
    }

    @Override
    public void clientCommand(ClientCommand command) {
        enqueue(() -> core.onClientCommand(command, System.currentTimeMillis()));
    }

    void message(String from, LockstepMessage message) {
        enqueue(() -> core.onMessage(from, message, System.nanoTime()));
    }

    @Override
    public void connectionLost(String node) {
        enqueue(() -> core.connectionLost(node, System.nanoTime()));
    }

    /** How many bits are tried before a corruption is given up: a service may refuse most damaged states. */
    static final int CORRUPTION_ATTEMPTS = 256;

    /**
     * Flips one bit of this member's service state, as a memory fault would. A real service may
     * refuse a damaged state in {@code restore} (kv's JSON does when a bit breaks its syntax): then
     * the next bit chosen from the seed is tried, so that the fault is one the service accepts, the
     * kind that goes unnoticed until the members are compared. A refused {@code restore} must
     * leave the state as it was, as the bundled examples do.
     *
     * @return completes with the seed of the bit flipped, or null when the state is empty, the
     *     member is gone, or the service refused every attempt
     */
    CompletableFuture<Long> injectStateCorruption(long seed) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        enqueue(() -> {
            if (core.removed()) {
                done.complete(null);
                return;
            }
            for (int attempt = 0; attempt < CORRUPTION_ATTEMPTS; attempt++) {
                long candidate = seed + attempt * 0x9E3779B97F4A7C15L;
                try {
                    done.complete(core.injectStateCorruption(candidate) ? candidate : null);
                    return;
                } catch (RuntimeException refused) {
                    LOG.debug("{}: the service refused corruption seed {}: {}", group, candidate, refused.toString());
                }
            }
            done.complete(null);
        });
        return done;
    }

    /** This member's output for its next command will differ from what its service computed. */
    CompletableFuture<Boolean> injectOutputDivergence() {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        enqueue(() -> {
            if (core.removed()) {
                done.complete(false);
                return;
            }
            core.injectOutputDivergence();
            done.complete(true);
        });
        return done;
    }

    /** This member's next command fails as if its service threw there only; its self-check reports it. */
    CompletableFuture<Boolean> injectSelfCheckFailure() {
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        enqueue(() -> {
            if (core.removed()) {
                done.complete(false);
                return;
            }
            core.injectSelfCheckFailure();
            done.complete(true);
        });
        return done;
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
        if (core.crashed() != null) {
            // The core dumped its state and reported the crash; this loop ends after this round, so
            // what is pending still goes to disk, and the controller has the member rebuilt.
            stop();
        }
    }

    @Override
    public void shadowPhaseOver() {
        shadowing = null;
    }

    /**
     * Shadow mode of an upgrade, as {@link ReplicaAgent#startShadow} on a pair backup: from the next
     * command on, {@code newVersion} runs beside this follower's service, starting from its current
     * state, for {@code commands} commands; then its outcome goes to the controller. Once per upgrade
     * target while this member stays a follower in sync; later calls change nothing.
     */

    void startShadow(io.pairstep.core.control.ServiceSpec to, io.pairstep.api.Service newVersion, long commands) {
        if (to.equals(shadowing)) {
            return;
        }
        shadowing = to;
        long toVersion = to.version();
        enqueue(() -> {
            if (core.removed()) {
                return;
            }
            LOG.info("{}: version {} runs in shadow mode beside this member for {} commands", group, toVersion, commands);
            service.shadow(new Shadow(newVersion, service.snapshot(), commands, outcome -> {
                LOG.info("{}: shadow run of version {} ended: {} commands compared, {} differences", group, toVersion, outcome.compared(),
                        outcome.differences().size());
                if (!gone()) {
                    host.propose(new ControlCommand.ShadowReport(group, core.identity().node(), toVersion, outcome.compared(),
                            outcome.differences()));
                }
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
        // A broken invariant: this member stops, the group goes on without it, and it is rebuilt.
        LOG.error("lockstep member {} stopped: {}", group, error.toString(), error);
        try {
            core.crash("member failed: " + error);
        } catch (RuntimeException | Error e) {
            LOG.error("lockstep member {} cannot report its crash: {}", group, e.toString());
        }
    }

    /** Inputs left behind would only complete futures: run them, so that no caller waits for nothing. */
    @Override
    void afterLoop() {
        service.close();
        Runnable input;
        while ((input = pollLeftover()) != null) {
            try {
                input.run();
            } catch (RuntimeException ignored) {
                // the core is gone or broken; its answer does not matter any more
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Outputs, on the agent thread (persist and the snapshots are the base's)

    @Override
    public void send(String node, LockstepMessage message) {
        if (!gone()) {
            host.sendLockstep(node, message);
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
        if (gone()) {
            return;
        }
        if (command instanceof ControlCommand.ReplicaDiverged || command instanceof ControlCommand.GroupHalted
                || command instanceof ControlCommand.RefereeNeeded || command instanceof ControlCommand.ReplicaCrashed) {
            LOG.warn("{}: proposes {}", group, command);
        }
        host.propose(command);
    }

    @Override
    public void suspect(String node, boolean connectionClosed, String reason) {
        if (!gone()) {
            host.suspect(node, connectionClosed, reason);
        }
    }

    @Override
    public void dump(String reason, long index, byte[] state, List<LogEntry> lastEntries) {
        if (gone()) {
            return;
        }
        try {
            Path file = writeDump(dumps, group, core.identity().node(), epoch, reason, index, state, lastEntries);
            LOG.warn("{}: member leaves with a suspect state; dump at index {} written to {}: {}", group, index, file, reason);
            host.dumped(group, file, reason);
        } catch (IOException | RuntimeException e) {
            LOG.error("{}: cannot write the dump at index {} ({}): {}", group, index, reason, e.toString());
        }
    }

    /** Writes a dump of a member leaving its group (its role is then moot), in {@link DumpFormat}. */
    static Path writeDump(Path directory, GroupId group, String node, long epoch, String reason, long index, byte[] state,
            List<LogEntry> lastEntries) throws IOException {
        return DumpFormat.write(directory, new DumpFormat.Header(group, node, null, epoch, index, reason), state, lastEntries);
    }
}
