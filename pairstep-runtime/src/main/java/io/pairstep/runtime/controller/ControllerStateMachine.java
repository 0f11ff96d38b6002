package io.pairstep.runtime.controller;

import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis state machine of the controller: a {@link ControllerState} that every controller
 * replica builds by applying the committed log, plus snapshots of it in the Ratis state machine
 * directory ({@code snapshot.TERM_INDEX}, holding {@link ControlJson#encodeState}, with an MD5 file).
 *
 * <p>Entries are applied by Ratis' single state machine updater thread. The state is guarded by
 * {@link #lock} so that {@link #copyState} and snapshots see a state and its applied index that
 * belong together. Everything the outside world hears goes through {@link Events}, whose methods
 * must not block.
 */
final class ControllerStateMachine extends BaseStateMachine {

    private static final Logger LOG = LoggerFactory.getLogger(ControllerStateMachine.class);

    /** What the state machine tells its server. Called on Ratis threads; must only hand off. */
    interface Events {
        /** The state changed; called with the state lock held, so calls come in state order. */
        void stateChanged(ControllerState copy);

        /** A leader was elected; {@code leader} may be this server. */
        void leaderChanged(RaftPeerId leader);

        /** This server stopped being the leader, or is shutting down. */
        void leadershipLost();

        /** The group committed a new configuration (voters and listeners), or replayed one at start. */
        void configurationChanged(org.apache.ratis.proto.RaftProtos.RaftConfigurationProto conf);
    }

    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final Object lock = new Object();
    private final Events events;
    private ControllerState state = new ControllerState();

    ControllerStateMachine(Events events) {
        this.events = events;
    }

    /** Runs {@code action} on a copy of the current state while no command can be applied. */
    <T> T copyState(Function<ControllerState, T> action) {
        synchronized (lock) {
            return action.apply(state.copy());
        }
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        super.initialize(server, groupId, raftStorage);
        // The life cycle matters to Ratis: it pauses the state machine before it installs a
        // snapshot from the leader, and reloads only a paused one (a replica whose log start the
        // leader has compacted away, such as a new listener, joins that way).
        getLifeCycle().startAndTransition(() -> {
            storage.init(raftStorage);
            load(storage.getLatestSnapshot());
        }, IOException.class);
    }

    /** Ratis is about to install a snapshot from the leader: no entry is applied until {@link #reinitialize}. */
    @Override
    public void pause() {
        org.apache.ratis.util.LifeCycle lifeCycle = getLifeCycle();
        if (lifeCycle.getCurrentState() == org.apache.ratis.util.LifeCycle.State.RUNNING) {
            lifeCycle.transition(org.apache.ratis.util.LifeCycle.State.PAUSING);
            lifeCycle.transition(org.apache.ratis.util.LifeCycle.State.PAUSED);
        }
    }

    /** Called after a snapshot was installed from the leader: the state jumps to it. */
    @Override
    public void reinitialize() throws IOException {
        org.apache.ratis.util.LifeCycle lifeCycle = getLifeCycle();
        if (lifeCycle.getCurrentState() == org.apache.ratis.util.LifeCycle.State.PAUSED) {
            lifeCycle.transition(org.apache.ratis.util.LifeCycle.State.STARTING);
        }
        load(storage.loadLatestSnapshot());
        if (lifeCycle.getCurrentState() == org.apache.ratis.util.LifeCycle.State.STARTING) {
            lifeCycle.transition(org.apache.ratis.util.LifeCycle.State.RUNNING);
        }
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) {
            return;
        }
        Path path = snapshot.getFile().getPath();
        MD5Hash md5 = snapshot.getFile().getFileDigest();
        if (md5 != null) {
            MD5FileUtil.verifySavedMD5(path.toFile(), md5);
        }
        TermIndex termIndex = SimpleStateMachineStorage.getTermIndexFromSnapshotFile(path.toFile());
        ControllerState loaded;
        try {
            loaded = ControlJson.decodeState(Files.readAllBytes(path));
        } catch (IllegalArgumentException e) {
            throw new IOException("unreadable controller snapshot " + path + ": " + e.getMessage(), e);
        }
        synchronized (lock) {
            state = loaded;
            setLastAppliedTermIndex(termIndex);
            events.stateChanged(state.copy());
        }
        LOG.info("{}: loaded controller snapshot {} (state version {})", getId(), termIndex, loaded.version());
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        byte[] data = entry.getStateMachineLogEntry().getLogData().toByteArray();
        ControlResult result;
        synchronized (lock) {
            ControlCommand command = null;
            String problem = null;
            try {
                command = ControlJson.decodeCommand(data);
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
                LOG.warn("{}: refusing undecodable controller log entry {}: {}", getId(), entry.getIndex(), problem);
            }
            // Every replica refuses the same bytes the same way, so the replicas stay identical. An
            // invariant violation in apply propagates: this replica's state can no longer be trusted.
            result = command != null ? state.apply(command) : new ControlResult(false, false, "undecodable command: " + problem);
            updateLastAppliedTermIndex(entry.getTerm(), entry.getIndex());
            if (result.changed()) {
                events.stateChanged(state.copy());
            }
        }
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(ControlJson.encodeResult(result))));
    }

    /** Refuses, before it reaches the log, a request that is not a control command. */
    @Override
    public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
        try {
            ControlJson.decodeCommand(request.getMessage().getContent().toByteArray());
        } catch (IllegalArgumentException e) {
            throw new IOException(e.getMessage(), e);
        }
        return super.startTransaction(request);
    }

    /** The query that returns only the state's version, in decimal: a cheap proof that the leader answers. */
    static final String VERSION_QUERY = "version";

    /**
     * A read-only query: {@link #VERSION_QUERY} returns the state's version; any other the whole
     * current state, as {@link ControlJson#encodeState}.
     */
    @Override
    public CompletableFuture<Message> query(Message request) {
        if (request.getContent().toStringUtf8().equals(VERSION_QUERY)) {
            return CompletableFuture.completedFuture(Message.valueOf(Long.toString(copyState(ControllerState::version))));
        }
        byte[] bytes = copyState(ControlJson::encodeState);
        return CompletableFuture.completedFuture(Message.valueOf(UnsafeByteOperations.unsafeWrap(bytes)));
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex applied;
        byte[] bytes;
        synchronized (lock) {
            applied = getLastAppliedTermIndex();
            if (applied == null || applied.getIndex() < 0) {
                return RaftLog.INVALID_LOG_INDEX;
            }
            bytes = ControlJson.encodeState(state);
        }
        File file = storage.getSnapshotFile(applied.getTerm(), applied.getIndex());
        Path target = file.toPath();
        // Not matching Ratis' snapshot file pattern, so that a half-written file is never taken for a snapshot.
        Path temporary = target.resolveSibling("tmp-" + target.getFileName());
        Files.write(temporary, bytes, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.SYNC);
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        MD5Hash md5 = MD5FileUtil.computeAndSaveMd5ForFile(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(target, md5), applied));
        LOG.debug("{}: took controller snapshot at {}", getId(), applied);
        return applied.getIndex();
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        events.leaderChanged(newLeaderId);
    }

    @Override
    public void notifyConfigurationChanged(long term, long index, org.apache.ratis.proto.RaftProtos.RaftConfigurationProto conf) {
        events.configurationChanged(conf);
    }

    @Override
    public void notifyNotLeader(Collection<TransactionContext> pendingEntries) {
        events.leadershipLost();
    }

    @Override
    public void notifyServerShutdown(RoleInfoProto roleInfo, boolean allServer) {
        events.leadershipLost();
    }
}
