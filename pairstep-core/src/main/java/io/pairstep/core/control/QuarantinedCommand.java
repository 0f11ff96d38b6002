package io.pairstep.core.control;

/**
 * A poison command: one that crashed (an {@link Error} such as {@link StackOverflowError}) or hung
 * (past the watchdog limit) the replica that ran it. It is never run again in its group; a retry
 * is refused with {@code POISON}.
 *
 * @param session the client session that sent it
 * @param sequence its sequence number in that session
 * @param payload the command as text (UTF-8, invalid bytes replaced), cut at {@link #PAYLOAD_CHARS_MAX}
 * @param payloadBytes the length of the whole command in bytes
 * @param node the node whose replica it crashed
 * @param epoch the group's epoch when it crashed
 * @param reason what happened, such as {@code java.lang.StackOverflowError}
 */
public record QuarantinedCommand(long session, long sequence, String payload, int payloadBytes, String node, long epoch, String reason) {

    /** Commands are kept for operators to read, not to replay: a long one is cut. */
    public static final int PAYLOAD_CHARS_MAX = 1000;

    /** The payload text cut to {@link #PAYLOAD_CHARS_MAX}. */
    public static String payloadText(byte[] payload) {
        String text = new String(payload, java.nio.charset.StandardCharsets.UTF_8);
        return text.length() <= PAYLOAD_CHARS_MAX ? text : text.substring(0, PAYLOAD_CHARS_MAX);
    }
}
