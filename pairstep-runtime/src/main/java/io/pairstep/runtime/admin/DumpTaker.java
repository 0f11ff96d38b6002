package io.pairstep.runtime.admin;

import io.pairstep.core.GroupId;

/** Takes a quick dump of this node's member of a group, for the admin API's dump route. */
@FunctionalInterface
public interface DumpTaker {

    /** What came of it: {@code dump} is the text of the dump when {@code code} is null, else {@code status} is an HTTP error. */
    record Outcome(int status, String code, String message, String dump) {
        public static Outcome failed(int status, String code, String message) {
            return new Outcome(status, code, message, null);
        }
    }

    /** @param reason why, as the dump will say (who asked, and why this member was chosen) */
    Outcome take(GroupId group, String reason);

    /** For a node that hosts no members, and for tests. */
    DumpTaker NONE = (group, reason) -> Outcome.failed(404, "NO_MEMBER", "no member of " + group + " here");
}
