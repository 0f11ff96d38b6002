package io.pairstep.core.replica;

/**
 * One ordered command in a partition's log.
 *
 * @param index position in the log, from 1, without gaps
 * @param epoch the epoch of the primary that ordered it
 * @param timestampMillis the command's deterministic time, assigned once by that primary
 * @param session the client session, for exactly-once
 * @param sequence the command's number within its session, from 1
 * @param payload the command bytes as the client sent them
 */
public record LogEntry(long index, long epoch, long timestampMillis, long session, long sequence, byte[] payload) {}
