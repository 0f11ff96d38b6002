package io.pairstep.runtime.storage;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * A reusable read buffer over one file at a time, so that scanning or reading many small records
 * costs a few large reads instead of two system calls per record. Larger spans are streamed through
 * it in pieces, which keeps the memory for reading a 64 MiB record at the buffer's fixed size.
 *
 * <p>It caches what it read, which is only safe because segment bytes are never rewritten in place
 * while a window is in use: appends only add bytes past what was read, and whoever truncates or
 * replaces files calls {@link #invalidate()}.
 */
final class ReadWindow {

    static final int CAPACITY_BYTES = 256 * 1024;

    // Direct, because the channel would otherwise copy through a temporary direct buffer of its own.
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(CAPACITY_BYTES);
    private FileChannel cachedChannel;
    private long cachedOffset;
    private int cachedBytes;

    /**
     * Returns the shared buffer with its position and limit framing the requested bytes. The
     * returned buffer stays valid only until the next call.
     *
     * @param lengthBytes at most {@link #CAPACITY_BYTES}
     * @throws EOFException when the file ends before the requested bytes
     */
    ByteBuffer window(FileChannel channel, long offset, int lengthBytes) throws IOException {
        if (lengthBytes > CAPACITY_BYTES) {
            throw new IllegalStateException("a window of " + lengthBytes + " bytes exceeds the buffer of " + CAPACITY_BYTES);
        }
        long end = offset + lengthBytes;
        if (channel != cachedChannel || offset < cachedOffset || end > cachedOffset + cachedBytes) {
            refill(channel, offset, lengthBytes);
        }
        buffer.clear();
        buffer.position((int) (offset - cachedOffset));
        buffer.limit((int) (end - cachedOffset));
        return buffer;
    }

    /** Feeds a span of the file of any length into a checksum. */
    void updateChecksum(FileChannel channel, long offset, int lengthBytes, CRC32C crc) throws IOException {
        int done = 0;
        while (done < lengthBytes) {
            int chunk = Math.min(CAPACITY_BYTES, lengthBytes - done);
            crc.update(window(channel, offset + done, chunk));
            done += chunk;
        }
    }

    /** Copies a span of the file of any length into the target array. */
    void readFully(FileChannel channel, long offset, byte[] target) throws IOException {
        int done = 0;
        while (done < target.length) {
            int chunk = Math.min(CAPACITY_BYTES, target.length - done);
            window(channel, offset + done, chunk).get(target, done, chunk);
            done += chunk;
        }
    }

    /** Forgets cached bytes; needed after the file under the window changed other than by appending. */
    void invalidate() {
        cachedChannel = null;
        cachedBytes = 0;
    }

    private void refill(FileChannel channel, long offset, int lengthBytes) throws IOException {
        invalidate();
        buffer.clear();
        long position = offset;
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, position);
            if (read < 0) {
                break;
            }
            position += read;
        }
        if (buffer.position() < lengthBytes) {
            throw new EOFException("file ended after " + buffer.position() + " of " + lengthBytes
                    + " bytes wanted at offset " + offset);
        }
        cachedChannel = channel;
        cachedOffset = offset;
        cachedBytes = buffer.position();
    }
}
