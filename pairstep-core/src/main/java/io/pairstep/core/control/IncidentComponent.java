package io.pairstep.core.control;

import io.pairstep.core.GroupId;

/**
 * The component an incident isolates: a node ({@code node} only), a replica group ({@code service}
 * and {@code partition}), or one replica of a group (all three, {@code node} being the replica's).
 * Absent parts are null.
 */
public record IncidentComponent(String node, String service, Integer partition) {

    public static IncidentComponent node(String node) {
        return new IncidentComponent(node, null, null);
    }

    public static IncidentComponent group(GroupId group) {
        return new IncidentComponent(null, group.service(), group.partition());
    }

    public static IncidentComponent replica(GroupId group, String node) {
        return new IncidentComponent(node, group.service(), group.partition());
    }

    /** The group, or null for a node. */
    public GroupId group() {
        return service == null || partition == null ? null : new GroupId(service, partition);
    }

    /** Why this is not a component, or null: a node, a group or a replica, with no blank names. */
    String problem() {
        boolean hasNode = node != null && !node.isBlank();
        boolean hasGroup = service != null && !service.isBlank() && partition != null && partition >= 0;
        if ((service != null || partition != null) && !hasGroup) {
            return "an incident's component needs both a service and a partition (>= 0)";
        }
        return hasNode || hasGroup ? null : "an incident's component needs a node, a service and partition, or both";
    }

    /** {@code n2}, {@code kv/0} or {@code kv/0@n2}: the ids the event log and the SNMP traps use. */
    @Override
    public String toString() {
        GroupId group = group();
        return group == null ? node : node == null ? group.toString() : group + "@" + node;
    }
}
