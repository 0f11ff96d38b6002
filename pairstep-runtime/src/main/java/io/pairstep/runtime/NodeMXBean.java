package io.pairstep.runtime;

/**
 * The node-level figures of {@code GET /metrics} ({@code pairstep_nodes_up} and the others) over
 * JMX, registered as {@code io.pairstep:type=Node,node=ID}. The JVM's own figures (heap, GC,
 * threads, CPU) are in the platform MBeans under {@code java.lang}; each hosted replica has a
 * {@link PartitionMXBean}.
 */
public interface NodeMXBean {

    /** Nodes the controller holds alive. */
    long getNodesUp();

    /** Replica groups (service partitions) in the system. */
    long getGroups();

    /** Replica groups with every replica in place and in sync. */
    long getGroupsFullyProtected();

    /** Version of the controller state this node applied last. */
    long getControllerStateVersion();

    /** True while this node leads the controller. */
    boolean isControllerLeader();
}
