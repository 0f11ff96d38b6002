package io.pairstep.core.replica;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ReplicaState;
import io.pairstep.core.control.Role;
import io.pairstep.core.replica.PoisonCommandTest.Counter;
import io.pairstep.core.replica.PoisonCommandTest.Recorder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A pair primary asked to hand over holds new commands, reports once its backup holds every entry,
 * and after the controller swaps the roles stays, state and all, as the new primary's backup.
 */
class HandoverTest {

    private static final GroupId GROUP = new GroupId("svc", 0);
    private static final long MS = 1_000_000L;
    private static final ReplicaAssignment N1 = new ReplicaAssignment("n1", 1, Role.PRIMARY, ReplicaState.OK, 1, 1);
    private static final ReplicaAssignment N2 = new ReplicaAssignment("n2", 1, Role.BACKUP, ReplicaState.OK, 1, 2);

    private final Recorder out1 = new Recorder();
    private final Recorder out2 = new Recorder();
    private final Counter service1 = new Counter();
    private final Counter service2 = new Counter();
    private final ReplicaCore n1 = new ReplicaCore(GROUP, N1, service1, ReplicaCore.Settings.defaults(), out1);
    private final ReplicaCore n2 = new ReplicaCore(GROUP, N2, service2, ReplicaCore.Settings.defaults(), out2);
    private final List<PeerMessage> everythingN2Sent = new ArrayList<>();

    private static ClientCommand command(long requestId, long sequence) {
        return new ClientCommand(requestId, 42, sequence, ("c" + sequence).getBytes(StandardCharsets.UTF_8));
    }

    private static List<String> texts(List<Reply> replies) {
        return replies.stream().map(r -> r instanceof Reply.Ok ok ? new String(ok.body(), StandardCharsets.UTF_8) : r.toString()).toList();
    }

    private static GroupConfig config(long epoch, boolean handover, ReplicaAssignment... replicas) {
        return new GroupConfig(GROUP, Mode.PAIR, epoch, List.of(replicas), null, List.of(), null, handover, List.of());
    }

    private void configureBoth(GroupConfig config, long now) {
        n1.configure(config, now);
        n2.configure(config, now);
    }

    /** Delivers messages both ways and completes every write, until nothing moves. */
    private void exchange(long now) {
        for (boolean moved = true; moved; ) {
            moved = false;
            if (!out1.persisted.isEmpty()) {
                n1.persisted(out1.persisted.getLast().index());
                out1.persisted.clear();
                moved = true;
            }
            if (!out2.persisted.isEmpty()) {
                n2.persisted(out2.persisted.getLast().index());
                out2.persisted.clear();
                moved = true;
            }
            List<PeerMessage> to2 = List.copyOf(out1.sent);
            out1.sent.clear();
            to2.forEach(m -> n2.onMessage("n1", m, now));
            List<PeerMessage> to1 = List.copyOf(out2.sent);
            everythingN2Sent.addAll(to1);
            out2.sent.clear();
            to1.forEach(m -> n1.onMessage("n2", m, now));
            moved |= !to1.isEmpty() || !to2.isEmpty();
        }
        n1.checkInvariants();
        n2.checkInvariants();
    }

    @Test
    void theOldPrimaryHoldsCommandsReportsThenServesAsBackupWithItsOwnState() {
        configureBoth(config(1, false, N1, N2), 0);
        n1.onClientCommand(command(1, 1), 1000);
        n1.onClientCommand(command(2, 2), 1000);
        n1.flush(0);
        exchange(0);
        assertThat(texts(out1.replies)).containsExactly("1", "2");
        // A third command is in flight when the controller asks for the hand-over.
        n1.onClientCommand(command(3, 3), 1000);
        n1.flush(0);
        out1.sent.clear(); // lost on the way
        configureBoth(config(2, true, N1, N2), MS);
        n1.onClientCommand(command(4, 4), 1000);
        assertThat(n1.lastIndex()).as("nothing is ordered while handing over").isEqualTo(3);
        exchange(MS);
        assertThat(out1.control).as("the backup does not hold entry 3 yet").isEmpty();

        n1.tick(200 * MS); // retransmits entry 3 in the new epoch
        exchange(200 * MS);
        assertThat(out1.control).containsExactly(new ControlCommand.HandedOver(GROUP, 2, "n1", 1, 3));
        assertThat(out1.replies).as("entry 3 was released; command 4 waits").hasSize(3);

        // The controller swaps the roles and keeps both instances.
        ReplicaAssignment newPrimary = new ReplicaAssignment("n2", 1, Role.PRIMARY, ReplicaState.OK, 1, 2);
        ReplicaAssignment oldPrimary = new ReplicaAssignment("n1", 1, Role.BACKUP, ReplicaState.OK, 1, 1);
        configureBoth(config(3, false, newPrimary, oldPrimary), 300 * MS);
        assertThat(n1.role()).isEqualTo(Role.BACKUP);
        assertThat(n2.role()).isEqualTo(Role.PRIMARY);
        assertThat(out1.replies.getLast()).as("the held command's client asks the new primary").isEqualTo(new Reply.NotPrimary(3, "n2"));

        n2.tick(300 * MS);
        exchange(300 * MS);
        n2.onClientCommand(command(5, 4), 1000);
        n2.flush(300 * MS);
        exchange(300 * MS);
        assertThat(texts(out2.replies)).containsExactly("4");
        assertThat(n1.lastIndex()).isEqualTo(4);
        assertThat(service1.applied).as("the old primary ran every command once, as the backup").isEqualTo(4);
        assertThat(service2.applied).isEqualTo(4);
        n2.tick(900 * MS); // long past a retransmission: nothing to resend, no snapshot
        exchange(900 * MS);
        assertThat(everythingN2Sent).as("no snapshot replaces the old primary's state").noneMatch(m -> m instanceof PeerMessage.InstallSnapshot);
    }

    @Test
    void onceTheControllerTookTheReportHeldAndNewCommandsGoToTheSuccessorAtOnce() {
        configureBoth(config(1, false, N1, N2), 0);
        configureBoth(config(2, true, N1, N2), 0);
        n1.onClientCommand(command(1, 1), 1000);
        exchange(0);
        assertThat(out1.control).containsExactly(new ControlCommand.HandedOver(GROUP, 2, "n1", 1, 0));
        assertThat(out1.replies).as("held").isEmpty();

        n1.handOverCommitted(1);
        assertThat(out1.replies).as("a stale answer changes nothing").isEmpty();
        // The controller took the report; this node has not applied the swap yet.
        n1.handOverCommitted(2);
        assertThat(out1.replies).containsExactly(new Reply.NotPrimary(3, "n2"));
        n1.onClientCommand(command(2, 2), 1000);
        assertThat(out1.replies).hasSize(2).last().isEqualTo(new Reply.NotPrimary(3, "n2"));
        assertThat(n1.lastIndex()).as("nothing ordered").isZero();

        ReplicaAssignment newPrimary = new ReplicaAssignment("n2", 1, Role.PRIMARY, ReplicaState.OK, 1, 2);
        ReplicaAssignment oldPrimary = new ReplicaAssignment("n1", 1, Role.BACKUP, ReplicaState.OK, 1, 1);
        configureBoth(config(3, false, newPrimary, oldPrimary), MS);
        n2.onClientCommand(command(3, 1), 1000);
        n2.flush(MS);
        exchange(MS);
        assertThat(texts(out2.replies)).containsExactly("1");
        assertThat(service1.applied).as("the redirected command ran once, at the new primary, and here as its backup").isEqualTo(1);
    }

    @Test
    void aHandOverCalledOffOrdersTheHeldCommands() {
        configureBoth(config(1, false, N1, N2), 0);
        configureBoth(config(2, true, N1, N2), 0);
        n1.onClientCommand(command(1, 1), 1000);
        assertThat(n1.lastIndex()).isZero();
        // The backup failed meanwhile: the next configuration has none, and asks for no hand-over.
        n1.configure(config(3, false, N1), MS);
        assertThat(n1.lastIndex()).isEqualTo(1);
        exchange(MS);
        assertThat(texts(out1.replies)).containsExactly("1");
    }
}
