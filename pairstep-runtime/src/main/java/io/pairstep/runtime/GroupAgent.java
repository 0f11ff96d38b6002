package io.pairstep.runtime;

import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.ReplicaAssignment;
import io.pairstep.core.replica.ClientCommand;
import io.pairstep.core.replica.LogEntry;
import java.util.List;

/**
 * What the node does with the member of a group it hosts, whatever the group's mode: a {@link
 * ReplicaAgent} for {@code pair} and {@code none}, a {@link LockstepAgent} for {@code dmr} and
 * {@code tmr}. Peer traffic differs per mode and goes to the concrete agent.
 */
interface GroupAgent {

    /** This member instance as the controller placed it. */
    ReplicaAssignment identity();

    /**
     * Rebuilds the state from the member's durable log before the first configuration, as the first
     * thing its thread does once started (under the watchdog, as every command). A lockstep member
     * skips the group's quarantined commands on the way: its log may hold one that its own
     * self-check failed on as orderer.
     */
    void recover(byte[] snapshot, List<LogEntry> tail, GroupConfig config);

    void start();

    void stop();

    /**
     * Stops once every input queued so far has run: a last configuration that removes the member
     * is acted on (its clients are answered and redirected) instead of dropped with the thread.
     */
    void stopAfterQueuedInputs();

    /** True once its thread ended, or was abandoned (it acts on nothing more): it hands the disk thread no more work. */
    boolean hasStopped();

    /**
     * The member's service has no upgrade in shadow mode any more: a later upgrade's shadow run starts
     * anew, even to the same version number (an upgrade that did not finish leaves the number free) and jar.
     */
    void shadowPhaseOver();

    void configure(GroupConfig config);

    void clientCommand(ClientCommand command);

    void connectionLost(String node);

    /**
     * Fault injection ({@code fault crash-replica}): the replica crashes as if its service had, and is
     * dumped and rebuilt. Completes with false when it had already left its group.
     */
    java.util.concurrent.CompletableFuture<Boolean> injectCrash();

    /** Fault injection ({@code fault slow}): each command waits {@code millis} before it runs; 0 clears it. */
    void slowDown(long millis);

    /**
     * The member's whole state exactly as of its last applied log position, taken on its own agent
     * thread between two commands, for a quick dump ({@code pairstep dump}). Completes with null
     * when the member has left its group.
     *
     * <p>Why on the agent thread and not from a copy: the service state is only consistent between
     * two commands and only this thread may touch it, and a service has no copy-on-write snapshot
     * in its API. Serializing it there costs the member one snapshot encoding, as its periodic
     * snapshots already do. The dump is asked of a backup or a non-ordering voter, so the primary
     * (the orderer) never pauses; the member's acknowledgements wait only for that encoding.
     */
    java.util.concurrent.CompletableFuture<QuickDump> quickDump();

    /** A consistent state of a member: {@code state} (in {@code StateCodec}) reflects log position {@code index}. */
    record QuickDump(io.pairstep.core.control.Role role, long epoch, long index, byte[] state) {}

    /** What the partition monitors read about this member. */
    PartitionMetrics metrics();

    /**
     * Waits (at most a few seconds: a thread stuck in a service never ends) until the agent's loop
     * has ended and handed its last entries to the writer.
     */
    void awaitStopped() throws InterruptedException;
}
