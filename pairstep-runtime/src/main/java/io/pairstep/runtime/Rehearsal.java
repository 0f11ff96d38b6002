package io.pairstep.runtime;

import io.pairstep.core.GroupId;
import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.ReplicaCore;
import io.pairstep.core.replica.ReplicaOutput;
import io.pairstep.core.replica.Reply;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.FrameCodec;
import io.pairstep.core.wire.MalformedFrameException;
import io.pairstep.examples.Examples;
import io.pairstep.runtime.controller.ControlJson;
import io.pairstep.runtime.events.EventDiff;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A takeover rehearsed in memory when a node starts, on a throwaway group that nothing else sees.
 *
 * <p>A backup runs the primary's code for the first time at the moment it takes over. In a fresh
 * JVM that code is interpreted, and each of its lambdas, string concatenations and pattern
 * switches links itself on first use. In the takeover benchmark the first kill of every run
 * stalled clients about twice as long as the others, and the class-loading log of the node that
 * took over shows that burst of linking right after the kill. Here the same code runs once before
 * it matters: the controller state through a deploy, a node loss and a catch-up, with every command
 * through its JSON form; a pair of replica cores with a kv service, every message and reply
 * through its wire form; then the takeover, the snapshot that seeds the new backup, and more
 * commands on the new primary.
 */
final class Rehearsal {

    private static final String SERVICE = "pairstep-rehearsal";
    private static final int COMMANDS_PER_PHASE = 2_000;

    private final ControllerState controller = new ControllerState();
    private final Map<String, ReplicaCore> replicas = new TreeMap<>();
    private final ArrayDeque<Runnable> deliveries = new ArrayDeque<>();
    private long requestIds;
    private long answered;

    private Rehearsal() {}

    /** Runs the rehearsal; returns the number of commands answered with a result. */
    static long run() {
        Rehearsal rehearsal = new Rehearsal();
        rehearsal.rehearse();
        return rehearsal.answered;
    }

    /** Commands per phase; two phases, before and after the takeover. */
    static int commandsPerPhase() {
        return COMMANDS_PER_PHASE;
    }

    /** A frame through its wire form and back, as between two nodes. */
    private static Frame wire(Frame frame) {
        try {
            return FrameCodec.fromBytes(FrameCodec.toBytes(frame));
        } catch (MalformedFrameException e) {
            throw new IllegalStateException("the codec cannot read its own " + frame.getClass().getSimpleName(), e);
        }
    }

    private void rehearse() {
        control(new ControlCommand.Bootstrap(SERVICE));
        for (String node : List.of("a", "b", "c")) {
            control(new ControlCommand.RegisterNode(node, node + ":http", node + ":rpc", 1, 1));
        }
        control(new ControlCommand.ControllerLeader("c"));
        control(new ControlCommand.Deploy(new ServiceSpec(SERVICE, 1, Mode.PAIR, 1, "example:kv", "", "")));
        GroupId group = new GroupId(SERVICE, 0);
        GroupConfig first = controller.groups().get(group);
        configureAll(first);
        long session = 0x5EED;
        long sequence = 0;
        sequence = call(first.primary().node(), session, sequence);

        // The primary's node dies: its backup takes over and a new backup is seeded by a snapshot.
        control(new ControlCommand.NodeDown(first.primary().node(), 1, "rehearsal"));
        replicas.remove(first.primary().node());
        GroupConfig second = controller.groups().get(group);
        configureAll(second);
        call(second.primary().node(), session, sequence);
    }

    private void configureAll(GroupConfig config) {
        for (ReplicaAssignment assignment : config.replicas()) {
            replicas.computeIfAbsent(assignment.node(),
                    node -> new ReplicaCore(config.group(), assignment, Examples.create("kv"), ReplicaCore.Settings.defaults(), new Output(node)));
        }
        for (ReplicaCore core : replicas.values()) {
            core.configure(config, System.nanoTime());
        }
        drain();
    }

    /** Sends the phase's commands to the primary, a few at a time, through the client wire form. */
    private long call(String primary, long session, long sequence) {
        for (int i = 0; i < COMMANDS_PER_PHASE; i++) {
            byte[] payload = ("{\"op\":\"put\",\"key\":\"k" + (i % 64) + "\",\"value\":" + i + "}").getBytes(StandardCharsets.UTF_8);
            Frame.ClientRequest request = (Frame.ClientRequest) wire(new Frame.ClientRequest(++requestIds, SERVICE, 0, session, ++sequence, payload));
            replicas.get(primary).onClientCommand(
                    new ClientCommand(request.requestId(), request.session(), request.sequence(), request.payload()), System.currentTimeMillis());
            if (i % 8 == 7) {
                flushAll();
            }
        }
        flushAll();
        return sequence;
    }

    private void flushAll() {
        for (int round = 0; round < 4; round++) {
            for (ReplicaCore core : replicas.values()) {
                core.flush(System.nanoTime());
            }
            drain();
        }
    }

    private void drain() {
        for (Runnable delivery; (delivery = deliveries.poll()) != null; ) {
            delivery.run();
        }
    }

    private void control(ControlCommand command) {
        ControllerState before = controller.copy();
        controller.apply(ControlJson.decodeCommand(ControlJson.encodeCommand(command)));
        EventDiff.between(before, controller);
        ControlJson.decodeState(ControlJson.encodeState(controller));
    }

    /** One replica's outputs: its disk is instant, its network is a queue drained between steps. */
    private final class Output implements ReplicaOutput {
        private final String node;

        Output(String node) {
            this.node = node;
        }

        private ReplicaCore self() {
            return replicas.get(node);
        }

        @Override
        public void persist(LogEntry entry) {
            LogEntryCodec.decode(LogEntryCodec.encode(entry));
            deliveries.add(() -> {
                if (self() != null) {
                    self().persisted(entry.index());
                }
            });
        }

        @Override
        public void installSnapshot(long index, byte[] state) {
            deliveries.add(() -> {
                if (self() != null) {
                    self().snapshotInstalled(index);
                }
            });
        }

        @Override
        public void saveSnapshot(long index, byte[] state) {}

        @Override
        public void send(String to, PeerMessage message) {
            Frame.Peer frame = (Frame.Peer) wire(new Frame.Peer(message));
            deliveries.add(() -> {
                ReplicaCore target = replicas.get(to);
                if (target != null) {
                    target.onMessage(node, frame.message(), System.nanoTime());
                }
            });
        }

        @Override
        public void reply(long requestId, Reply reply) {
            Frame.ClientResponse response = (Frame.ClientResponse) wire(new Frame.ClientResponse(requestId, reply));
            if (response.reply() instanceof Reply.Ok) {
                answered++;
            }
        }

        @Override
        public void control(ControlCommand command) {
            deliveries.add(() -> {
                Rehearsal.this.control(command);
                GroupConfig config = controller.groups().get(new GroupId(SERVICE, 0));
                for (ReplicaCore core : new ArrayList<>(replicas.values())) {
                    core.configure(config, System.nanoTime());
                }
            });
        }

        @Override
        public void suspect(String suspect, boolean connectionClosed, String reason) {}
    }
}
