package io.pairstep.core.control;

import java.util.Locale;

/** What kind of fault an {@link Incident} records; each kind names the component it isolates. */
public enum IncidentKind {
    /** A node's process stopped (killed, crashed, paused or cut off); the component is the node. */
    NODE_DOWN,
    /**
     * A replica was taken out of its group while its node stayed up: it stopped acknowledging its
     * primary, or a lockstep member was outvoted or failed a self-check. The component is the
     * group and the replica's node.
     */
    REPLICA_ISOLATED,
    /** A lockstep group stopped releasing results because its members disagreed; the component is the group. */
    GROUP_HALTED;

    /** The name used in JSON and on the command line, e.g. {@code node-down}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
