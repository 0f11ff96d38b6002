package io.pairstep.runtime.storage;

import java.util.Locale;

/**
 * How often the {@link GroupCommitWriter} forces appended records to stable storage, and therefore
 * what "durable" means when it reports a submission as done.
 */
public enum FsyncPolicy {

    /**
     * Every batch is forced before its submissions are reported durable. Submissions that arrive
     * while a force is in progress share the next one, which is what makes this affordable.
     */
    ALWAYS,

    /**
     * Logs are forced at most once per interval. Submissions are reported as soon as they are
     * written to the operating system, so a machine crash can lose up to one interval of records
     * that were already reported.
     */
    INTERVAL,

    /**
     * Logs are never forced by the writer. Submissions are reported as soon as they are written to
     * the operating system; only a process crash, not a machine crash, is survived.
     */
    NONE;

    /**
     * Parses a policy from its configuration spelling.
     *
     * @param text one of {@code always}, {@code interval} or {@code none}, in any case
     * @return the matching policy
     * @throws IllegalArgumentException when the text is none of those
     */
    public static FsyncPolicy parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("fsync policy is missing; expected one of always, interval, none");
        }
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "always" -> ALWAYS;
            case "interval" -> INTERVAL;
            case "none" -> NONE;
            default -> throw new IllegalArgumentException(
                    "unknown fsync policy '" + text + "'; expected one of always, interval, none");
        };
    }
}
