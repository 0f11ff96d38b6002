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

    /** Rebuilds the state from the member's durable log before the first configuration; returns its last index. */
    long recover(byte[] snapshot, List<LogEntry> tail);

    void start();

    void stop();

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

    /** What the partition monitors read about this member. */
    PartitionMetrics metrics();

    /**
     * Waits (at most a few seconds: a thread stuck in a service never ends) until the agent's loop
     * has ended and handed its last entries to the writer.
     */
    void awaitStopped() throws InterruptedException;
}
