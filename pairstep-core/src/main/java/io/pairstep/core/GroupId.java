package io.pairstep.core;

import java.util.Objects;

/** One partition of one service: the unit of replication, placement and takeover. */
public record GroupId(String service, int partition) implements Comparable<GroupId> {

    public GroupId {
        Objects.requireNonNull(service, "service");
        if (partition < 0) {
            throw new IllegalArgumentException("partition must be >= 0, was " + partition);
        }
    }

    @Override
    public int compareTo(GroupId other) {
        int byService = service.compareTo(other.service);
        return byService != 0 ? byService : Integer.compare(partition, other.partition);
    }

    @Override
    public String toString() {
        return service + "/" + partition;
    }
}
