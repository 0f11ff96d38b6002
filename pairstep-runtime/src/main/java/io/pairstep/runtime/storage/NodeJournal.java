package io.pairstep.runtime.storage;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * One write-ahead journal for all the replica logs of a node, so that a round of group commit costs
 * one {@code fdatasync} however many replicas the node hosts.
 *
 * <p>Every record appended to a {@link ReplicaLog} through the {@link GroupCommitWriter} is also
 * appended here, tagged with the log's {@linkplain ReplicaLog#journalId() journal id}. A round then
 * forces the journal alone; the replica logs stay in the operating system (or in their write
 * buffers) until a checkpoint forces them. After a crash, {@link #recover} appends to each log the
 * records the journal holds beyond the log's own end, before anything opens the logs.
 *
 * <p>Records are framed as {@code [length int][crc32c int][segment long][log id long][index
 * long][payload]}; the checksum covers the segment, the id, the index and the payload. A journal is a
 * sequence of segment files named after a sequence number ({@code 00000000000000000001.journal});
 * the active one grows until a checkpoint, which forces every log written since the segment began,
 * starts the next segment and keeps the old one as the spare ({@value #SPARE_NAME}). So only
 * records the logs may not have are ever in the journal.
 *
 * <p>Why a spare: a {@code fdatasync} that extends a file also writes its inode, one more write to
 * wait for; overwriting blocks the file already has does not (on the benchmark machine's ext4, 115-141
 * us against 198-372 us for a 2 KiB write). So the next segment is the spare, renamed, and is
 * overwritten from its start. What it held before stays behind the new records; every record names
 * its segment, and reading stops at the first that names an earlier one.
 *
 * <p>A log that is reset gets a new journal id (see {@link ReplicaLog#reset}), so records of its old
 * state are never replayed onto the new one; records of a log whose directory is gone match no id
 * and are skipped.
 *
 * <p>Not thread-safe: the disk thread owns it.
 */
public final class NodeJournal implements AutoCloseable {

    /**
     * The size past which the disk thread checkpoints and starts a new segment. A checkpoint forces
     * every log's unforced records at once (about this many bytes in all), which holds up the disk
     * thread for as long: 16 MiB took 10 ms on the benchmark machine's disk
     * (`dd bs=1M count=16 conv=fdatasync`), 64 MiB 60 ms.
     */
    public static final long DEFAULT_CHECKPOINT_BYTES = 16L * 1024 * 1024;

    static final String SUFFIX = ".journal";
    static final String ID_FILE_NAME = "journal.id";
    /** The segment a checkpoint retired, overwritten as the next one; not a segment for {@link #recover}. */
    static final String SPARE_NAME = "spare.journal-recycled";
    static final int HEADER_BYTES = Integer.BYTES + Integer.BYTES + Long.BYTES + Long.BYTES + Long.BYTES;
    private static final Pattern SEGMENT_NAME = Pattern.compile("(\\d{1,20})\\" + SUFFIX);
    private static final int BUFFER_BYTES = 256 * 1024;

    private final Path directory;
    private final long checkpointBytes;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(BUFFER_BYTES);
    private final CRC32C crc = new CRC32C();
    private long sequence;
    private FileChannel active;
    private Path activePath;
    private long activeBytes;
    private boolean unforced;

    private NodeJournal(Path directory, long checkpointBytes) {
        this.directory = directory;
        this.checkpointBytes = checkpointBytes;
    }

    /**
     * Starts a new journal in a directory that {@link #recover} has emptied (or that never existed).
     *
     * @param checkpointBytes the size of the active segment past which {@link #checkpointDue()} says so
     * @throws IOException when the directory still holds journal segments: they were not recovered
     */
    public static NodeJournal create(Path directory, long checkpointBytes) throws IOException {
        Objects.requireNonNull(directory, "directory");
        if (checkpointBytes <= 0) {
            throw new IllegalArgumentException("checkpointBytes must be positive, was " + checkpointBytes);
        }
        Files.createDirectories(directory);
        List<StorageFiles.IndexedFile> left = segments(directory);
        if (!left.isEmpty()) {
            throw new IOException("the journal in " + directory + " still holds " + left.size()
                    + " segment(s) that were not recovered into the replica logs; run NodeJournal.recover first");
        }
        // A spare of an earlier run holds records of segments whose numbers this run uses again.
        Files.deleteIfExists(directory.resolve(SPARE_NAME));
        NodeJournal journal = new NodeJournal(directory.toAbsolutePath(), checkpointBytes);
        journal.startSegment(1);
        return journal;
    }

    /** Appends one record for a log; buffered until the next {@link #sync()}. */
    public void append(long logId, long index, byte[] payload) throws IOException {
        crc.reset();
        updateLong(crc, sequence);
        updateLong(crc, logId);
        updateLong(crc, index);
        crc.update(payload, 0, payload.length);
        if (buffer.remaining() < HEADER_BYTES) {
            flush();
        }
        buffer.putInt(payload.length).putInt((int) crc.getValue()).putLong(sequence).putLong(logId).putLong(index);
        int copied = 0;
        while (copied < payload.length) {
            if (!buffer.hasRemaining()) {
                flush();
            }
            int chunk = Math.min(buffer.remaining(), payload.length - copied);
            buffer.put(payload, copied, chunk);
            copied += chunk;
        }
        activeBytes += HEADER_BYTES + payload.length;
        unforced = true;
    }

    /** Forces everything appended so far to stable storage; does nothing when nothing is new. */
    public void sync() throws IOException {
        if (!unforced) {
            return;
        }
        flush();
        active.force(false);
        unforced = false;
    }

    /** Whether the active segment has grown past the checkpoint size. */
    public boolean checkpointDue() {
        return activeBytes >= checkpointBytes;
    }

    /**
     * Starts a new segment and keeps the old one as the spare. The caller must first have forced
     * every log that had records appended since the active segment began: after this, the journal
     * no longer holds them.
     */
    public void checkpoint() throws IOException {
        sync();
        Path old = activePath;
        FileChannel oldChannel = active;
        startSegment(sequence + 1);
        oldChannel.close();
        Files.move(old, directory.resolve(SPARE_NAME), StandardCopyOption.ATOMIC_MOVE);
        StorageFiles.syncDirectory(directory);
    }

    /** Returns the size of the active segment in bytes. */
    public long activeBytes() {
        return activeBytes;
    }

    private void startSegment(long nextSequence) throws IOException {
        Path path = directory.resolve(segmentName(nextSequence));
        Path spare = directory.resolve(SPARE_NAME);
        if (Files.exists(spare)) {
            Files.move(spare, path, StandardCopyOption.ATOMIC_MOVE);
            active = FileChannel.open(path, StandardOpenOption.WRITE);
        } else {
            active = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
        activePath = path;
        sequence = nextSequence;
        activeBytes = 0;
        // The new name must be durable before anything relies on records written into it.
        StorageFiles.syncDirectory(directory);
    }

    private void flush() throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            active.write(buffer);
        }
        buffer.clear();
    }

    /** Syncs what was appended and closes the active segment; the segment stays for {@link #recover}. */
    @Override
    public void close() throws IOException {
        if (active != null && active.isOpen()) {
            try {
                sync();
            } finally {
                active.close();
            }
        }
    }

    /** What {@link #recover} did. */
    public record Recovery(int segments, long records, long replayed, long skippedUnknownLog, List<String> tornTails) {

        @Override
        public String toString() {
            return segments + " journal segment(s), " + records + " record(s): " + replayed
                    + " appended to replica logs, " + skippedUnknownLog + " for logs that no longer exist"
                    + (tornTails.isEmpty() ? "" : "; cut off: " + String.join("; ", tornTails));
        }
    }

    /**
     * Brings every replica log under {@code replicasRoot} up to what the journal holds for it, forces
     * the logs, and then deletes the journal's segments. Call it before anything opens the logs.
     *
     * <p>A record at or below its log's last index is already there; the next one is appended; one
     * beyond it means the log lost records that the journal no longer holds, which recovery must not
     * paper over: it refuses with a {@link LogCorruptedException} and leaves the journal in place.
     * Reading a segment stops at its first damaged record (a write the crash interrupted); the
     * records in front of it are applied.
     *
     * @param logSegmentBytes the segment size to open the logs with
     */
    public static Recovery recover(Path journalDirectory, Path replicasRoot, long logSegmentBytes) throws IOException {
        List<StorageFiles.IndexedFile> files = Files.isDirectory(journalDirectory) ? segments(journalDirectory) : List.of();
        if (files.isEmpty()) {
            return new Recovery(0, 0, 0, 0, List.of());
        }
        Map<Long, Path> directories = logDirectories(replicasRoot);
        Map<Long, ReplicaLog> opened = new LinkedHashMap<>();
        long records = 0;
        long replayed = 0;
        long skipped = 0;
        List<String> torn = new ArrayList<>();
        IOException problem = null;
        try {
            for (StorageFiles.IndexedFile file : files) {
                try (JournalReader reader = new JournalReader(file.path(), file.index())) {
                    JournalRecord record;
                    while ((record = reader.next()) != null) {
                        records++;
                        Path logDirectory = directories.get(record.logId());
                        if (logDirectory == null) {
                            skipped++;
                            continue;
                        }
                        ReplicaLog log = opened.get(record.logId());
                        if (log == null) {
                            log = ReplicaLog.open(logDirectory, logSegmentBytes);
                            opened.put(record.logId(), log);
                        }
                        if (record.index() <= log.lastIndex()) {
                            continue;
                        }
                        if (record.index() != log.lastIndex() + 1) {
                            throw new LogCorruptedException("the replica log in " + logDirectory + " ends at index "
                                    + log.lastIndex() + " but the node journal " + file.path() + " continues it only at index "
                                    + record.index() + ": acknowledged records in between are missing; the journal is kept");
                        }
                        log.append(record.index(), record.payload());
                        replayed++;
                    }
                    if (reader.tornAt() >= 0) {
                        torn.add(file.path().getFileName() + " at byte " + reader.tornAt());
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            problem = e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
        for (ReplicaLog log : opened.values()) {
            try {
                log.close();
            } catch (IOException e) {
                problem = problem == null ? e : addSuppressed(problem, e);
            }
        }
        if (problem != null) {
            throw problem;
        }
        // Every log now holds what the journal held for it, forced by its close.
        for (StorageFiles.IndexedFile file : files) {
            Files.deleteIfExists(file.path());
        }
        StorageFiles.syncDirectory(journalDirectory);
        return new Recovery(files.size(), records, replayed, skipped, List.copyOf(torn));
    }

    /**
     * Deletes the journal's segments once every log they cover has been forced and closed, as after
     * a clean stop: they hold nothing the logs lack. Call it only when the writer is closed.
     */
    public static void discard(Path journalDirectory) throws IOException {
        if (!Files.isDirectory(journalDirectory)) {
            return;
        }
        for (StorageFiles.IndexedFile file : segments(journalDirectory)) {
            Files.deleteIfExists(file.path());
        }
        Files.deleteIfExists(journalDirectory.resolve(SPARE_NAME));
        StorageFiles.syncDirectory(journalDirectory);
    }

    private static IOException addSuppressed(IOException first, IOException next) {
        first.addSuppressed(next);
        return first;
    }

    /** Finds every replica log directory below the root by its journal id file. */
    static Map<Long, Path> logDirectories(Path root) throws IOException {
        Map<Long, Path> result = new HashMap<>();
        if (!Files.isDirectory(root)) {
            return result;
        }
        try (Stream<Path> files = Files.walk(root, 4)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                if (file.getFileName().toString().equals(ID_FILE_NAME)) {
                    Path other = result.put(ReplicaLog.readJournalId(file), file.getParent());
                    if (other != null) {
                        // A copied replica directory: the journal cannot tell which of them its records belong to.
                        throw new LogCorruptedException("the replica logs in " + other + " and " + file.getParent()
                                + " have the same journal id; a copy of a replica directory needs an id of its own: delete the copy's "
                                + ID_FILE_NAME + " only if the node journal holds nothing for it");
                    }
                }
            }
        }
        return result;
    }

    static List<StorageFiles.IndexedFile> segments(Path directory) throws IOException {
        List<StorageFiles.IndexedFile> result = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Matcher matcher = SEGMENT_NAME.matcher(file.getFileName().toString());
                if (matcher.matches()) {
                    result.add(new StorageFiles.IndexedFile(file, Long.parseLong(matcher.group(1))));
                }
            }
        }
        result.sort((a, b) -> Long.compare(a.index(), b.index()));
        return result;
    }

    static String segmentName(long sequence) {
        return String.format("%020d%s", sequence, SUFFIX);
    }

    private static void updateLong(CRC32C crc, long value) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            crc.update((int) (value >>> shift));
        }
    }

    record JournalRecord(long logId, long index, byte[] payload) {}

    /**
     * Reads one segment's records in order. Stops at the first record of an earlier segment (what a
     * recycled file held before) and at the first that is incomplete or damaged.
     */
    static final class JournalReader implements AutoCloseable {

        private final DataInputStream in;
        private final long sequence;
        private final long size;
        private final CRC32C crc = new CRC32C();
        private long offset;
        private long tornAt = -1;

        JournalReader(Path path, long sequence) throws IOException {
            this.sequence = sequence;
            this.size = Files.size(path);
            this.in = new DataInputStream(new BufferedInputStream(Files.newInputStream(path), 1 << 16));
        }

        /** Returns the next intact record, or null at the end or at the first damaged one. */
        JournalRecord next() throws IOException {
            if (tornAt >= 0 || offset == size) {
                return null;
            }
            if (size - offset < HEADER_BYTES) {
                tornAt = offset;
                return null;
            }
            int length = in.readInt();
            int checksum = in.readInt();
            long segment = in.readLong();
            long logId = in.readLong();
            long index = in.readLong();
            if (segment > 0 && segment < sequence) {
                // The recycled file's old contents: the records written into this segment end here.
                offset = size;
                return null;
            }
            if (segment != sequence || length < 0 || length > RecordFormat.MAX_RECORD_BYTES || size - offset - HEADER_BYTES < length) {
                tornAt = offset;
                return null;
            }
            byte[] payload = new byte[length];
            in.readFully(payload);
            crc.reset();
            updateLong(crc, segment);
            updateLong(crc, logId);
            updateLong(crc, index);
            crc.update(payload, 0, length);
            if ((int) crc.getValue() != checksum) {
                tornAt = offset;
                return null;
            }
            offset += HEADER_BYTES + length;
            return new JournalRecord(logId, index, payload);
        }

        /** The offset of the first damaged or partial record, or -1 when the segment ended cleanly. */
        long tornAt() {
            return tornAt;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
