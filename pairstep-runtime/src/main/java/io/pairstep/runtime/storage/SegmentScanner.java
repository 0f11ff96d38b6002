package io.pairstep.runtime.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.zip.CRC32C;

/**
 * Reads a segment front to back during recovery and finds where its intact records end. It never
 * repairs anything itself; the caller decides whether damage is a torn tail to cut off or real
 * corruption to refuse.
 */
final class SegmentScanner {

    /**
     * What a scan found.
     *
     * @param offsets the offsets of the intact records
     * @param validBytes where the intact prefix ends
     * @param damage why scanning stopped before the end of the file, or null if it did not
     */
    record Result(OffsetIndex offsets, long validBytes, String damage) {}

    private final ReadWindow window = new ReadWindow();
    private final CRC32C crc = new CRC32C();
    /** Payload length of the frame that {@link #checkFrame} last accepted. */
    private int frameLength;

    /** Scans a segment whose first record must carry {@code firstIndex}. */
    Result scan(FileChannel channel, long firstIndex) throws IOException {
        window.invalidate();
        long fileBytes = channel.size();
        OffsetIndex offsets = new OffsetIndex();
        long offset = 0;
        long expectedIndex = firstIndex;
        while (offset < fileBytes) {
            String damage = checkFrame(channel, offset, fileBytes, expectedIndex);
            if (damage != null) {
                return new Result(offsets, offset, damage);
            }
            offsets.add(offset);
            offset += RecordFormat.frameBytes(frameLength);
            expectedIndex++;
        }
        return new Result(offsets, offset, null);
    }

    /** Returns why the frame at this offset is unusable, or null if it is intact. */
    private String checkFrame(FileChannel channel, long offset, long fileBytes, long expectedIndex) throws IOException {
        if (fileBytes - offset < RecordFormat.HEADER_BYTES) {
            return "short frame: only " + (fileBytes - offset) + " bytes left for a " + RecordFormat.HEADER_BYTES + "-byte header";
        }
        ByteBuffer header = window.window(channel, offset, RecordFormat.HEADER_BYTES);
        int length = header.getInt();
        int storedChecksum = header.getInt();
        long storedIndex = header.getLong();
        if (length < 0 || length > RecordFormat.MAX_RECORD_BYTES) {
            return "bad record length " + length;
        }
        if (fileBytes - offset - RecordFormat.HEADER_BYTES < length) {
            return "short frame: a " + length + "-byte record runs past the end of the file";
        }
        RecordFormat.beginChecksum(crc, storedIndex);
        window.updateChecksum(channel, offset + RecordFormat.HEADER_BYTES, length, crc);
        if ((int) crc.getValue() != storedChecksum) {
            return "checksum mismatch in the record expected to be index " + expectedIndex;
        }
        if (storedIndex != expectedIndex) {
            return "found index " + storedIndex + " where index " + expectedIndex + " was expected";
        }
        frameLength = length;
        return null;
    }
}
