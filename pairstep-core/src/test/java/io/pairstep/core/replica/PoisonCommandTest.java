package io.pairstep.core.replica;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.api.Context;
import io.pairstep.api.Service;
import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.QuarantinedCommand;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A replica whose service crashes reports the command as poison; a quarantined command is refused, never run. */
class PoisonCommandTest {

    private static final GroupId GROUP = new GroupId("svc", 0);
    private static final ReplicaAssignment PRIMARY = new ReplicaAssignment("n1", 1, Role.PRIMARY, ReplicaState.OK, 1);
    private static final ReplicaAssignment BACKUP = new ReplicaAssignment("n2", 1, Role.BACKUP, ReplicaState.OK, 1);

    /** Counts applied commands; "crash" throws StackOverflowError after changing its state, as a real overflow may. */
    static final class Counter implements Service {
        long applied;

        @Override
        public byte[] apply(byte[] command, Context context) {
            applied++;
            if (new String(command, StandardCharsets.UTF_8).equals("crash")) {
                throw new StackOverflowError();
            }
            return Long.toString(applied).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] snapshot() {
            return Long.toString(applied).getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public void restore(byte[] snapshot) {
            applied = snapshot.length == 0 ? 0 : Long.parseLong(new String(snapshot, StandardCharsets.UTF_8));
        }
    }

    static final class Recorder implements ReplicaOutput {
        final List<LogEntry> persisted = new ArrayList<>();
        final List<PeerMessage> sent = new ArrayList<>();
        final List<Reply> replies = new ArrayList<>();
        final List<ControlCommand> control = new ArrayList<>();

        @Override
        public void persist(LogEntry entry) {
            persisted.add(entry);
        }

        @Override
        public void installSnapshot(long index, byte[] state) {}

        @Override
        public void saveSnapshot(long index, byte[] state) {}

        @Override
        public void send(String node, PeerMessage message) {
            sent.add(message);
        }

        @Override
        public void reply(long requestId, Reply reply) {
            replies.add(reply);
        }

        @Override
        public void control(ControlCommand command) {
            control.add(command);
        }

        @Override
        public void suspect(String node, boolean connectionClosed, String reason) {}
    }

    private static ClientCommand command(long requestId, long sequence, String payload) {
        return new ClientCommand(requestId, 42, sequence, payload.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void aPrimaryWhoseServiceCrashesReportsTheCommandAsPoisonAndActsOnNothingMore() {
        Recorder out = new Recorder();
        ReplicaCore core = new ReplicaCore(GROUP, PRIMARY, new Counter(), ReplicaCore.Settings.defaults(), out);
        core.configure(new GroupConfig(GROUP, Mode.PAIR, 1, List.of(PRIMARY, BACKUP)), 0);
        core.onClientCommand(command(1, 1, "fine"), 1000);
        core.onClientCommand(command(2, 2, "crash"), 1000);

        assertThat(core.crashed()).contains("StackOverflowError");
        assertThat(core.removed()).isTrue();
        assertThat(out.persisted).as("the poison is neither persisted nor sent").extracting(LogEntry::sequence).containsExactly(1L);
        ControlCommand.ReplicaCrashed crash = (ControlCommand.ReplicaCrashed) out.control.getLast();
        assertThat(crash.node()).isEqualTo("n1");
        assertThat(crash.epoch()).isEqualTo(1);
        assertThat(crash.sinceEpoch()).isEqualTo(1);
        assertThat(crash.poison().session()).isEqualTo(42);
        assertThat(crash.poison().sequence()).isEqualTo(2);
        assertThat(crash.poison().payload()).isEqualTo("crash");
        assertThat(crash.poison().reason()).contains("StackOverflowError");
        assertThat(out.replies).as("the clients of both commands are told to ask again")
                .containsExactly(new Reply.NotPrimary(1, ""), new Reply.NotPrimary(1, ""));

        core.onClientCommand(command(3, 3, "fine"), 1000);
        assertThat(out.replies.getLast()).isInstanceOf(Reply.NotPrimary.class);
        core.checkInvariants();
    }

    @Test
    void aBackupWhoseServiceCrashesOnAnEntryReportsItselfWithoutAPoison() {
        Recorder out = new Recorder();
        ReplicaCore core = new ReplicaCore(GROUP, BACKUP, new Counter(), ReplicaCore.Settings.defaults(), out);
        core.configure(new GroupConfig(GROUP, Mode.PAIR, 1, List.of(PRIMARY, BACKUP)), 0);
        LogEntry entry = new LogEntry(1, 1, 1000, 42, 1, "crash".getBytes(StandardCharsets.UTF_8));
        core.onMessage("n1", new PeerMessage.Append(GROUP, 1, 0, List.of(entry), 0), 0);

        assertThat(core.crashed()).contains("at entry 1");
        ControlCommand.ReplicaCrashed crash = (ControlCommand.ReplicaCrashed) out.control.getLast();
        assertThat(crash.node()).isEqualTo("n2");
        assertThat(crash.poison()).isNull();
        assertThat(out.persisted).isEmpty();
    }

    @Test
    void aQuarantinedCommandIsRefusedAsPoisonAndNeverRunWhileOthersAreServed() {
        Recorder out = new Recorder();
        Counter service = new Counter();
        ReplicaCore core = new ReplicaCore(GROUP, PRIMARY, service, ReplicaCore.Settings.defaults(), out);
        QuarantinedCommand poison = new QuarantinedCommand(42, 2, "crash", 5, "n2", 3, "java.lang.StackOverflowError");
        core.configure(new GroupConfig(GROUP, Mode.PAIR, 4, List.of(PRIMARY), null, List.of(poison)), 0);
        core.onClientCommand(command(1, 1, "fine"), 1000);
        core.persisted(1);
        assertThat(out.replies).singleElement().isInstanceOf(Reply.Ok.class);
        out.replies.clear();

        core.onClientCommand(command(2, 2, "crash"), 1000);
        core.onClientCommand(command(3, 2, "crash"), 1000);
        assertThat(out.replies).hasSize(2).allSatisfy(reply -> {
            assertThat(reply).isInstanceOf(Reply.Rejected.class);
            assertThat(((Reply.Rejected) reply).code()).isEqualTo(Reply.POISON);
            assertThat(((Reply.Rejected) reply).message()).contains("n2", "StackOverflowError");
        });
        assertThat(service.applied).as("never run").isEqualTo(1);
        assertThat(out.persisted).hasSize(1);

        // The session goes on with its next command, which is ordered and run as usual.
        core.onClientCommand(command(4, 3, "fine"), 1000);
        core.persisted(2);
        assertThat(out.persisted).extracting(LogEntry::sequence).containsExactly(1L, 3L);
        assertThat(out.replies.getLast()).isInstanceOf(Reply.Ok.class);
        assertThat(new String(((Reply.Ok) out.replies.getLast()).body(), StandardCharsets.UTF_8)).isEqualTo("2");
        assertThat(core.crashed()).isNull();
        core.checkInvariants();
    }

    @Test
    void aBusyPrimaryKeepsItsBackupFromSuspectingIt() {
        Recorder out = new Recorder();
        ReplicaCore core = new ReplicaCore(GROUP, PRIMARY, new Counter(), ReplicaCore.Settings.defaults(), out);
        core.configure(new GroupConfig(GROUP, Mode.PAIR, 1, List.of(PRIMARY, BACKUP)), 0);
        out.sent.clear();
        core.keepAlive(5);
        assertThat(out.sent).singleElement().isInstanceOfSatisfying(PeerMessage.Append.class,
                append -> assertThat(append.entries()).isEmpty());
    }
}
