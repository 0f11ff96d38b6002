package io.pairstep.runtime;

import io.pairstep.core.replica.LogEntry;
import java.nio.ByteBuffer;

/** Log entries as the records of a replica's durable log. */
final class LogEntryCodec {

    private static final int HEADER_BYTES = 5 * Long.BYTES;

    private LogEntryCodec() {}

    static byte[] encode(LogEntry entry) {
        ByteBuffer buffer = ByteBuffer.allocate(HEADER_BYTES + entry.payload().length);
        buffer.putLong(entry.index()).putLong(entry.epoch()).putLong(entry.timestampMillis())
                .putLong(entry.session()).putLong(entry.sequence()).put(entry.payload());
        return buffer.array();
    }

    static LogEntry decode(byte[] record) {
        if (record.length < HEADER_BYTES) {
            throw new IllegalArgumentException("log record of " + record.length + " bytes is shorter than its header");
        }
        ByteBuffer buffer = ByteBuffer.wrap(record);
        long index = buffer.getLong();
        long epoch = buffer.getLong();
        long timestampMillis = buffer.getLong();
        long session = buffer.getLong();
        long sequence = buffer.getLong();
        byte[] payload = new byte[buffer.remaining()];
        buffer.get(payload);
        return new LogEntry(index, epoch, timestampMillis, session, sequence, payload);
    }
}
