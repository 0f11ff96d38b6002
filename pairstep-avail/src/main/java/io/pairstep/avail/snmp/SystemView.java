package io.pairstep.avail.snmp;

import java.util.List;

/**
 * The state of the system as the SNMP agent shows it ({@code pairstepState} of PAIRSTEP-MIB): what
 * the runtime reads from its latest controller state, in the MIB's terms.
 *
 * @param nodes every node, in order of id
 * @param groups every replica group, in order of service and partition
 */
public record SystemView(List<Node> nodes, List<Group> groups) {

    /** Nothing known yet (a node that has not applied a controller state). */
    public static final SystemView EMPTY = new SystemView(List.of(), List.of());

    /** The health of a group, with its MIB value. */
    public enum Health {
        OK(1), DEGRADED(2), HALTED(3);

        private final int mibValue;

        Health(int mibValue) {
            this.mibValue = mibValue;
        }

        public int mibValue() {
            return mibValue;
        }
    }

    /** One node: its id, whether the controller holds it alive, and the replicas it hosts. */
    public record Node(String id, boolean up, int replicas, int primaries) {}

    /**
     * One replica group.
     *
     * @param name {@code service/partition}
     * @param primary the node of its primary (orderer), or the empty string
     */
    public record Group(String name, String mode, Health health, String primary) {}

    public SystemView {
        nodes = List.copyOf(nodes);
        groups = List.copyOf(groups);
    }
}
