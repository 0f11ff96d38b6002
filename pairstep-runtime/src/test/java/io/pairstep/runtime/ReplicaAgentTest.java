package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.api.Context;
import io.pairstep.api.Service;
import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.ReplicaCore;
import io.pairstep.core.replica.Reply;
import io.pairstep.runtime.storage.FsyncPolicy;
import io.pairstep.runtime.storage.GroupCommitWriter;
import io.pairstep.runtime.storage.ReplicaLog;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pair replica's agent: removed from its group, it acts on that last configuration before its thread
 * ends; a shadow run starts once per upgrade.
 */
class ReplicaAgentTest {

    private static final GroupId GROUP = new GroupId("kv", 0);

    @TempDir
    Path dir;

    private final Map<Long, Reply> replies = new ConcurrentHashMap<>();
    private final List<Throwable> diskErrors = new CopyOnWriteArrayList<>();
    private GroupCommitWriter writer;
    private ReplicaLog log;

    @AfterEach
    void close() throws Exception {
        if (writer != null) {
            writer.close();
        }
        if (log != null) {
            log.close();
        }
    }

    private static final ReplicaAssignment PRIMARY = new ReplicaAssignment("n1", 1, Role.PRIMARY, ReplicaState.OK, 1);
    private static final ReplicaAssignment BACKUP = new ReplicaAssignment("n2", 1, Role.BACKUP, ReplicaState.OK, 1);

    /** The agent of {@code identity}, started and configured in epoch 1 with n1 as primary and n2 as backup. */
    private ReplicaAgent started(ReplicaAssignment identity) throws Exception {
        writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, diskErrors::add);
        log = ReplicaLog.open(dir.resolve("log"), 1 << 20);
        ReplicaAgent agent = new ReplicaAgent(GROUP, ReplicaCore.Settings.defaults(), identity, new Echo(), 0, log, writer, dir.resolve("dumps"),
                new Recording(), null);
        agent.start();
        agent.configure(config(1, false, PRIMARY, BACKUP));
        return agent;
    }

    private static GroupConfig config(long epoch, boolean handover, ReplicaAssignment... replicas) {
        return new GroupConfig(GROUP, Mode.PAIR, epoch, List.of(replicas), null, List.of(), null, handover, List.of());
    }

    @Test
    void aPrimaryRemovedWhileHandingOverAnswersTheCommandsItHeldWithItsSuccessor() throws Exception {
        ReplicaAgent agent = started(PRIMARY);
        agent.configure(config(2, true, PRIMARY, BACKUP));
        // Handing over: the primary holds new commands until the controller swaps the roles.
        agent.clientCommand(new ClientCommand(7, 100, 1, "x".getBytes(StandardCharsets.UTF_8)));
        agent.onAgentThread(() -> null).join();
        assertThat(replies).as("held, not answered").isEmpty();

        // The node is drained: the backup becomes primary and this replica leaves the group.
        agent.configure(config(3, false, new ReplicaAssignment("n2", 1, Role.PRIMARY, ReplicaState.OK, 1)));
        agent.stopAfterQueuedInputs();
        agent.awaitStopped();

        assertThat(replies.get(7L)).as("redirected to the new primary").isEqualTo(new Reply.NotPrimary(3, "n2"));
        assertThat(diskErrors).isEmpty();
    }

    @Test
    void aShadowRunToTheSameVersionStartsAgainOnlyOnceTheShadowPhaseEnded() throws Exception {
        ReplicaAgent agent = started(BACKUP);
        long[] index = {0};
        Runnable entryFromPrimary = () -> {
            index[0]++;
            agent.peerMessage("n1", new io.pairstep.core.replica.PeerMessage.Append(GROUP, 1, index[0] - 1, List.of(
                    new io.pairstep.core.replica.LogEntry(index[0], 1, 1000, 5, index[0], "c".getBytes(StandardCharsets.UTF_8))), 0));
            agent.onAgentThread(() -> null).join();
        };

        agent.startShadow(2, new Echo(), 1);
        entryFromPrimary.run();
        assertThat(shadowReports).as("one command compared, reported").hasSize(1);

        // The upgrade showed differences and ended; the next one names version 2 again.
        agent.startShadow(2, new Echo(), 1);
        entryFromPrimary.run();
        assertThat(shadowReports).as("the same run is not started twice").hasSize(1);
        agent.shadowPhaseOver();
        agent.startShadow(2, new Echo(), 1);
        entryFromPrimary.run();
        assertThat(shadowReports).as("a new upgrade's shadow run").hasSize(2);
        agent.stop();
        agent.awaitStopped();
    }

    private final List<ControlCommand.ShadowReport> shadowReports = new CopyOnWriteArrayList<>();

    private final class Recording implements ReplicaAgent.Host {
        @Override
        public void sendPeer(String node, PeerMessage message) {}

        @Override
        public void reply(long requestId, Reply reply) {
            replies.put(requestId, reply);
        }

        @Override
        public void propose(ControlCommand command) {
            if (command instanceof ControlCommand.ShadowReport report) {
                shadowReports.add(report);
            }
        }

        @Override
        public void suspect(String node, boolean connectionClosed, String reason) {}
    }

    private static final class Echo implements Service {
        @Override
        public byte[] apply(byte[] command, Context context) {
            return command;
        }

        @Override
        public byte[] snapshot() {
            return new byte[0];
        }

        @Override
        public void restore(byte[] snapshot) {}
    }
}
