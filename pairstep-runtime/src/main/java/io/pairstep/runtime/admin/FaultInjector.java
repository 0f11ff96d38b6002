package io.pairstep.runtime.admin;

import io.pairstep.core.GroupId;

/** Damages a replica or lockstep member hosted on this node, for the admin API's fault routes. */
@FunctionalInterface
public interface FaultInjector {

    /** A fault the admin API can inject. */
    enum Kind {
        /** Flip one bit of the member's service state. */
        CORRUPT,
        /** The member's next output differs from what its service computed. */
        DIVERGE,
        /**
         * The member's next command fails as if its service threw an unexpected error there only:
         * the member's own self-check reports it, which settles a DMR disagreement.
         */
        SELF_CHECK,
        /** The replica (pair, none) or member (dmr, tmr) crashes; its node stays up. It is dumped and rebuilt. */
        CRASH_REPLICA,
        /** Each command of the replica or member waits the given milliseconds before it runs; 0 clears it. */
        SLOW;

        /** True for the faults that only lockstep members take. */
        public boolean lockstepOnly() {
            return this == CORRUPT || this == DIVERGE || this == SELF_CHECK;
        }

        /** The name in the route and the CLI: corrupt, diverge, self-check, crash-replica, slow. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }

        /** The kind of a label, or null. */
        public static Kind parse(String label) {
            for (Kind kind : values()) {
                if (kind.label().equals(label)) {
                    return kind;
                }
            }
            return null;
        }
    }

    /** What came of it: {@code status} is an HTTP status, {@code code} null when it was injected. */
    record Outcome(int status, String code, String message) {
        public static Outcome injected(String message) {
            return new Outcome(202, null, message);
        }
    }

    /**
     * @param parameter what the fault needs: for {@code corrupt} the seed choosing the bit, for
     *     {@code slow} the delay in milliseconds; ignored by the others
     */
    Outcome inject(Kind kind, GroupId group, long parameter);

    /** For a node without lockstep members, and for tests. */
    FaultInjector NONE = (kind, group, seed) -> new Outcome(404, "NO_MEMBER", "no member of " + group + " here");
}
