package io.pairstep.runtime.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Encodes records into frames and batches them in one reusable buffer, so that a burst of small
 * appends becomes a few large writes and costs no allocation per record.
 */
final class FrameWriter {

    private final ByteBuffer buffer;
    private final CRC32C crc = new CRC32C();
    /** The segment that the buffered bytes belong to, or null when the buffer is empty. */
    private Segment bufferedFor;

    FrameWriter(int capacityBytes) {
        // A direct buffer spares the channel a copy into its own temporary direct buffer.
        this.buffer = ByteBuffer.allocateDirect(capacityBytes);
    }

    /** Appends one record's frame to the end of the segment, buffered. */
    void write(Segment segment, long index, byte[] record) throws IOException {
        if (bufferedFor != null && bufferedFor != segment) {
            throw new IllegalStateException("frame writer still holds unflushed bytes for " + bufferedFor
                    + " while asked to write to " + segment);
        }
        int checksum = RecordFormat.checksum(crc, index, record);
        segment.recordAppended(record.length);
        if (buffer.remaining() < RecordFormat.HEADER_BYTES) {
            flush(segment);
        }
        buffer.putInt(record.length).putInt(checksum).putLong(index);
        bufferedFor = segment;
        // Copying through the buffer in pieces, rather than writing a large record directly, keeps
        // the channel from allocating a temporary direct buffer as large as the record.
        int copied = 0;
        while (copied < record.length) {
            if (!buffer.hasRemaining()) {
                flush(segment);
            }
            int chunk = Math.min(buffer.remaining(), record.length - copied);
            buffer.put(record, copied, chunk);
            bufferedFor = segment;
            copied += chunk;
        }
    }

    /** Hands every buffered byte to the segment's file. */
    void flush(Segment segment) throws IOException {
        if (buffer.position() == 0) {
            return;
        }
        if (bufferedFor != segment) {
            throw new IllegalStateException("frame writer holds bytes for " + bufferedFor + ", not for " + segment);
        }
        buffer.flip();
        segment.writeFully(buffer);
        buffer.clear();
        bufferedFor = null;
    }

    /** Drops buffered bytes, for when the segment they belong to is being discarded anyway. */
    void discard() {
        buffer.clear();
        bufferedFor = null;
    }
}
