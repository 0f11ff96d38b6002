package io.pairstep.runtime.storage;

import java.util.zip.CRC32C;

/**
 * The on-disk frame of one log record: {@code [length int][crc32c int][index long][payload]}, all
 * big-endian. The checksum covers the index and the payload, so a record that is intact but sits at
 * the wrong place is still caught by the index check rather than silently applied.
 */
final class RecordFormat {

    /** Bytes in front of every payload: length, checksum and index. */
    static final int HEADER_BYTES = Integer.BYTES + Integer.BYTES + Long.BYTES;

    /**
     * The largest payload accepted. A length field above it can only come from damage, so recovery
     * treats it as such instead of trying to read gigabytes of garbage.
     */
    static final int MAX_RECORD_BYTES = 64 * 1024 * 1024;

    private RecordFormat() {}

    /** Returns the checksum of a record held in an array. */
    static int checksum(CRC32C crc, long index, byte[] payload) {
        beginChecksum(crc, index);
        crc.update(payload, 0, payload.length);
        return (int) crc.getValue();
    }

    /**
     * Resets the checksum and feeds it the index; the caller then feeds the payload and reads the
     * value, which lets a large payload be checked piece by piece.
     */
    static void beginChecksum(CRC32C crc, long index) {
        crc.reset();
        // Feeding the index byte by byte avoids allocating a scratch buffer for every record.
        for (int shift = 56; shift >= 0; shift -= 8) {
            crc.update((int) (index >>> shift));
        }
    }

    /** Returns how many bytes a record of the given payload length occupies on disk. */
    static long frameBytes(int payloadBytes) {
        return (long) HEADER_BYTES + payloadBytes;
    }
}
