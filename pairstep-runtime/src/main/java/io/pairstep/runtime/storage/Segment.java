package io.pairstep.runtime.storage;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32C;

/**
 * One file of the log, holding the contiguous records from {@link #firstIndex()} on. Only the last
 * segment of a log is ever written to; earlier ones are immutable until compaction deletes them.
 */
final class Segment implements Closeable {

    private final Path path;
    private final long firstIndex;
    private final FileChannel channel;
    private final OffsetIndex offsets;
    /** Bytes handed to the file channel. */
    private long flushedBytes;
    /** Bytes of all appended records, including those still buffered in the frame writer. */
    private long sizeBytes;

    private Segment(Path path, long firstIndex, FileChannel channel, OffsetIndex offsets, long sizeBytes) {
        this.path = path;
        this.firstIndex = firstIndex;
        this.channel = channel;
        this.offsets = offsets;
        this.flushedBytes = sizeBytes;
        this.sizeBytes = sizeBytes;
    }

    /** Creates a new, empty segment file; fails if one with that first index already exists. */
    static Segment create(Path directory, long firstIndex) throws IOException {
        Path path = directory.resolve(StorageFiles.segmentFileName(firstIndex));
        FileChannel channel = FileChannel.open(path,
                StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
        return new Segment(path, firstIndex, channel, new OffsetIndex(), 0);
    }

    /** Wraps a segment that recovery has scanned and, if needed, truncated to its good prefix. */
    static Segment recovered(Path path, long firstIndex, FileChannel channel, OffsetIndex offsets, long sizeBytes) {
        return new Segment(path, firstIndex, channel, offsets, sizeBytes);
    }

    Path path() {
        return path;
    }

    long firstIndex() {
        return firstIndex;
    }

    /** Returns the index of the last record, or {@code firstIndex() - 1} when the segment is empty. */
    long lastIndex() {
        return firstIndex + offsets.size() - 1;
    }

    boolean isEmpty() {
        return offsets.size() == 0;
    }

    long sizeBytes() {
        return sizeBytes;
    }

    /** Accounts for a record whose frame is about to be written at the current end of the segment. */
    void recordAppended(int payloadBytes) {
        offsets.add(sizeBytes);
        sizeBytes += RecordFormat.frameBytes(payloadBytes);
    }

    /** Writes the buffer's remaining bytes at the end of what was flushed so far. */
    void writeFully(ByteBuffer source) throws IOException {
        if (flushedBytes + source.remaining() > sizeBytes) {
            throw new IllegalStateException("writing " + source.remaining() + " bytes at offset " + flushedBytes
                    + " of " + path + " would pass the end of its appended records at " + sizeBytes);
        }
        while (source.hasRemaining()) {
            flushedBytes += channel.write(source, flushedBytes);
        }
    }

    /** Forces the segment's contents, not its metadata, to stable storage. */
    void force() throws IOException {
        channel.force(false);
    }

    /**
     * Reads one record and verifies it again, because bytes can rot on disk after recovery checked
     * them and a replica must never apply a damaged record.
     */
    byte[] read(long index, ReadWindow window, CRC32C crc) throws IOException {
        if (index < firstIndex || index > lastIndex()) {
            throw new IllegalStateException("index " + index + " is not in segment " + path
                    + " holding [" + firstIndex + ", " + lastIndex() + "]");
        }
        long offset = offsets.get((int) (index - firstIndex));
        ByteBuffer header = window.window(channel, offset, RecordFormat.HEADER_BYTES);
        int length = header.getInt();
        int storedChecksum = header.getInt();
        long storedIndex = header.getLong();
        if (length < 0 || length > RecordFormat.MAX_RECORD_BYTES
                || offset + RecordFormat.frameBytes(length) > flushedBytes) {
            throw LogCorruptedException.at(path, offset, "record " + index + " has an impossible length " + length);
        }
        byte[] record = new byte[length];
        window.readFully(channel, offset + RecordFormat.HEADER_BYTES, record);
        if (RecordFormat.checksum(crc, storedIndex, record) != storedChecksum) {
            throw LogCorruptedException.at(path, offset, "record " + index + " fails its checksum");
        }
        if (storedIndex != index) {
            throw LogCorruptedException.at(path, offset, "record " + index + " is stored as index " + storedIndex);
        }
        return record;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** Closes and removes the file. */
    void delete() throws IOException {
        close();
        Files.deleteIfExists(path);
    }

    @Override
    public String toString() {
        return path.getFileName() + "[" + firstIndex + ".." + lastIndex() + "]";
    }
}
