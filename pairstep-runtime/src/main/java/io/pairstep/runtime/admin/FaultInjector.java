package io.pairstep.runtime.admin;

import io.pairstep.core.GroupId;

/** Damages a member of a lockstep group hosted on this node, for the admin API's fault routes. */
@FunctionalInterface
public interface FaultInjector {

    /** A fault the admin API can inject. */
    enum Kind {
        /** Flip one bit of the member's service state. */
        CORRUPT,
        /** The member's next output differs from what its service computed. */
        DIVERGE
    }

    /** What came of it: {@code status} is an HTTP status, {@code code} null when it was injected. */
    record Outcome(int status, String code, String message) {
        public static Outcome injected(String message) {
            return new Outcome(202, null, message);
        }
    }

    Outcome inject(Kind kind, GroupId group, long seed);

    /** For a node without lockstep members, and for tests. */
    FaultInjector NONE = (kind, group, seed) -> new Outcome(404, "NO_MEMBER", "no member of " + group + " here");
}
