package io.pairstep.runtime.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * The durable log and snapshot of one replica, kept in a directory of its own.
 *
 * <p>The log is a sequence of opaque records at contiguous indexes, stored in segment files named
 * after their first index ({@code 00000000000000000001.log}). Each record is framed as
 * {@code [length int][crc32c int][index long][payload]}. A segment is closed off once the next
 * record would take it past {@code segmentSizeBytes} (a single larger record gets a segment to
 * itself), and it is forced to disk before the next one is created, so after a crash only the
 * last segment can have a torn tail. {@link #open} cuts such a tail off and refuses damage anywhere
 * else with a {@link LogCorruptedException}.
 *
 * <p>Snapshots cover a prefix of the log and let it be compacted; see {@link #saveSnapshot} and
 * {@link #reset}.
 *
 * <p>Not thread-safe: every method must be called from one thread at a time, normally the
 * {@link GroupCommitWriter}'s disk thread. The exception is {@link #firstIndex()},
 * {@link #lastIndex()} and {@link #syncedIndex()}, which any thread may read to observe progress.
 *
 * <p>An {@link IOException} while changing the log leaves it in an unknown state (a failed force,
 * for one, may have dropped written pages), so the log then refuses further use and must be
 * reopened, which recovers what actually reached the disk.
 */
public final class ReplicaLog implements AutoCloseable {

    private static final int WRITE_BUFFER_BYTES = 64 * 1024;
    private static final java.security.SecureRandom JOURNAL_IDS = new java.security.SecureRandom();

    private final Path directory;
    private final long segmentSizeBytes;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final SnapshotStore snapshots;
    /** Segments in index order; appends go to the last one. */
    private final List<Segment> segments;
    private final FrameWriter frameWriter = new FrameWriter(WRITE_BUFFER_BYTES);
    private final ReadWindow readWindow = new ReadWindow();
    private final CRC32C readChecksum = new CRC32C();

    private volatile long firstIndex;
    private volatile long lastIndex;
    private volatile long syncedIndex;
    /** The highest index forced to the log's own files; below {@link #syncedIndex} when the node journal holds the rest. */
    private long forcedIndex;
    /** Tags this log's records in the {@link NodeJournal}; a reset changes it. */
    private long journalId;
    /** The snapshot in force, or null when there is none. */
    private StorageFiles.IndexedFile snapshotFile;
    /** Whether segment files were created since the directory was last forced. */
    private boolean directoryDirty;
    private IOException failure;
    private volatile boolean closed;

    private ReplicaLog(Path directory, long segmentSizeBytes, FileChannel lockChannel, FileLock lock,
            SnapshotStore snapshots, LogRecovery.Recovered recovered, long journalId) {
        this.directory = directory;
        this.journalId = journalId;
        this.segmentSizeBytes = segmentSizeBytes;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.snapshots = snapshots;
        this.segments = recovered.segments();
        this.snapshotFile = recovered.snapshot();
        long snapshotIndex = snapshotIndex();
        this.lastIndex = segments.isEmpty() ? snapshotIndex : segments.getLast().lastIndex();
        this.firstIndex = segments.isEmpty() ? snapshotIndex + 1 : segments.getFirst().firstIndex();
    }

    /**
     * Opens the log in a directory, creating the directory if it is missing, and recovers it.
     *
     * <p>Recovery finishes a reset that a crash interrupted, picks the newest snapshot that
     * verifies, checks every segment record by record, cuts a torn or damaged tail off the last
     * segment, and forces the result so that everything it returns is durable.
     *
     * @param directory the replica's own directory; nothing else may use it
     * @param segmentSizeBytes the size at which a segment is closed off and a new one started
     * @throws LogCorruptedException when the log is damaged anywhere but the tail of its last
     *     segment, or when it does not reach back to the snapshot; the message names the file and
     *     the byte offset
     * @throws IOException when the directory is already open, here or in another process
     */
    public static ReplicaLog open(Path directory, long segmentSizeBytes) throws IOException {
        Objects.requireNonNull(directory, "directory");
        if (segmentSizeBytes <= 0) {
            throw new IllegalArgumentException("segmentSizeBytes must be positive, was " + segmentSizeBytes);
        }
        Path absolute = directory.toAbsolutePath();
        if (!Files.isDirectory(absolute)) {
            Files.createDirectories(absolute);
            if (absolute.getParent() != null) {
                StorageFiles.syncDirectory(absolute.getParent());
            }
        }
        FileChannel lockChannel = FileChannel.open(absolute.resolve(StorageFiles.LOCK_FILE_NAME),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            FileLock lock = tryLock(lockChannel, absolute);
            SnapshotStore snapshots = new SnapshotStore(absolute);
            LogRecovery.Recovered recovered = LogRecovery.recover(absolute, snapshots);
            Path idFile = absolute.resolve(NodeJournal.ID_FILE_NAME);
            long journalId = Files.exists(idFile) ? readJournalId(idFile) : writeNewJournalId(absolute);
            ReplicaLog log = new ReplicaLog(absolute, segmentSizeBytes, lockChannel, lock, snapshots, recovered, journalId);
            log.makeRecoveredStateDurable();
            return log;
        } catch (IOException | RuntimeException e) {
            try {
                lockChannel.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static FileLock tryLock(FileChannel lockChannel, Path directory) throws IOException {
        try {
            FileLock lock = lockChannel.tryLock();
            if (lock == null) {
                throw new IOException("replica directory " + directory + " is already open in another process");
            }
            return lock;
        } catch (OverlappingFileLockException e) {
            throw new IOException("replica directory " + directory + " is already open in this process", e);
        }
    }

    /**
     * Forces what recovery found: the last segment may hold records that a crashed process wrote
     * but never forced, and reporting them as synced would otherwise be a lie.
     */
    private void makeRecoveredStateDurable() throws IOException {
        try {
            if (!segments.isEmpty()) {
                segments.getLast().force();
            }
            StorageFiles.syncDirectory(directory);
            syncedIndex = lastIndex;
            forcedIndex = lastIndex;
        } catch (IOException e) {
            closeSegments(e);
            throw e;
        }
    }

    /** Returns whether the log is still open; any thread may ask. */
    public boolean isOpen() {
        return !closed;
    }

    /** Returns the replica directory this log lives in. */
    public Path directory() {
        return directory;
    }

    /**
     * Returns the first index present in the log, or {@code snapshotIndex + 1} when the log holds no
     * records. Records at or below the snapshot's index may still be present; callers skip them.
     */
    public long firstIndex() {
        return firstIndex;
    }

    /** Returns the last index appended, the snapshot's index when nothing follows it, or 0 when empty. */
    public long lastIndex() {
        return lastIndex;
    }

    /** Returns the highest index known to be on stable storage. */
    public long syncedIndex() {
        return syncedIndex;
    }

    /** Returns the index of the snapshot in force, or 0 when there is none. */
    public long snapshotIndex() {
        return snapshotFile == null ? 0 : snapshotFile.index();
    }

    /**
     * Appends one record. It is written to a buffer or the operating system but not forced; call
     * {@link #sync()} to make it durable.
     *
     * @param index must be {@code lastIndex() + 1}
     * @param record the opaque record, at most 64 MiB; it is not retained
     * @throws IllegalStateException when the index is not the next one
     */
    public void append(long index, byte[] record) throws IOException {
        ensureUsable();
        Objects.requireNonNull(record, "record");
        if (index != lastIndex + 1) {
            throw new IllegalStateException("append out of order in " + directory + ": expected index "
                    + (lastIndex + 1) + " but got " + index);
        }
        if (record.length > RecordFormat.MAX_RECORD_BYTES) {
            throw new IllegalArgumentException("record " + index + " is " + record.length
                    + " bytes, above the maximum of " + RecordFormat.MAX_RECORD_BYTES);
        }
        try {
            frameWriter.write(segmentFor(record.length), index, record);
            lastIndex = index;
        } catch (IOException e) {
            throw fail(e);
        }
    }

    /** Returns the segment the next record goes to, closing off the current one if it is full. */
    private Segment segmentFor(int payloadBytes) throws IOException {
        Segment active = segments.isEmpty() ? null : segments.getLast();
        if (active != null
                && (active.isEmpty() || active.sizeBytes() + RecordFormat.frameBytes(payloadBytes) <= segmentSizeBytes)) {
            return active;
        }
        if (active != null) {
            // The full segment, and its name, become durable before the next segment exists. This is
            // what lets recovery treat damage in any segment but the last as real corruption.
            frameWriter.flush(active);
            active.force();
            syncDirectoryIfDirty();
            syncedIndex = lastIndex;
            forcedIndex = lastIndex;
        }
        Segment next = Segment.create(directory, lastIndex + 1);
        segments.add(next);
        directoryDirty = true;
        return next;
    }

    /**
     * Makes every record appended so far durable: forces the last segment's contents and, if
     * segments were created since the last sync, the directory that names them.
     */
    public void sync() throws IOException {
        ensureUsable();
        try {
            if (!segments.isEmpty()) {
                Segment active = segments.getLast();
                frameWriter.flush(active);
                if (forcedIndex < lastIndex) {
                    active.force();
                }
            }
            syncDirectoryIfDirty();
            syncedIndex = lastIndex;
            forcedIndex = lastIndex;
        } catch (IOException e) {
            throw fail(e);
        }
    }

    /**
     * Records that everything appended so far is durable because the {@link NodeJournal} holding it
     * was forced; the log's own files are forced later, by {@link #sync()}.
     */
    void markDurableInJournal() {
        syncedIndex = lastIndex;
    }

    /** Whether records were appended since the log's own files were last forced. */
    boolean hasUnforcedRecords() {
        return forcedIndex < lastIndex;
    }

    /**
     * Whether every record appended is forced to the log's own files, so that it needs no journal:
     * false after an I/O failure, which leaves unknown what reached the disk.
     */
    public boolean isForced() {
        return failure == null && forcedIndex == lastIndex;
    }

    /** Returns the id that tags this log's records in the node journal. */
    public long journalId() {
        return journalId;
    }

    static long readJournalId(Path file) throws IOException {
        String text = Files.readString(file).trim();
        try {
            return Long.parseUnsignedLong(text, 16);
        } catch (NumberFormatException e) {
            throw new LogCorruptedException(file + " should hold a journal id in hexadecimal but holds \"" + text + "\"");
        }
    }

    /** Gives the directory a new random journal id, written atomically and durably, and returns it. */
    private static long writeNewJournalId(Path directory) throws IOException {
        long id = JOURNAL_IDS.nextLong();
        Path temporary = directory.resolve(NodeJournal.ID_FILE_NAME + StorageFiles.TEMPORARY_SUFFIX);
        try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            channel.write(java.nio.ByteBuffer.wrap(Long.toHexString(id).getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            channel.force(true);
        }
        Files.move(temporary, directory.resolve(NodeJournal.ID_FILE_NAME), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        StorageFiles.syncDirectory(directory);
        return id;
    }

    private void syncDirectoryIfDirty() throws IOException {
        if (directoryDirty) {
            StorageFiles.syncDirectory(directory);
            directoryDirty = false;
        }
    }

    /**
     * Reads records in index order, verifying each one's checksum again.
     *
     * @param fromIndex the first index to read, at least {@link #firstIndex()}
     * @param toIndexInclusive the last index to read, at most {@link #lastIndex()}; may be
     *     {@code fromIndex - 1} to read nothing
     * @throws IllegalArgumentException when the range is not inside the log
     * @throws LogCorruptedException when a record fails verification
     */
    public void read(long fromIndex, long toIndexInclusive, RecordConsumer consumer) throws IOException {
        ensureUsable();
        Objects.requireNonNull(consumer, "consumer");
        if (toIndexInclusive == fromIndex - 1) {
            return;
        }
        if (fromIndex > toIndexInclusive || fromIndex < firstIndex || toIndexInclusive > lastIndex) {
            throw new IllegalArgumentException("cannot read [" + fromIndex + ", " + toIndexInclusive + "] from " + directory
                    + ", which holds [" + firstIndex + ", " + lastIndex + "]");
        }
        try {
            // Records still in the write buffer must reach the file before they can be read back.
            frameWriter.flush(segments.getLast());
        } catch (IOException e) {
            throw fail(e);
        }
        int segmentPosition = segmentPositionOf(fromIndex);
        for (long index = fromIndex; index <= toIndexInclusive; index++) {
            Segment segment = segments.get(segmentPosition);
            while (index > segment.lastIndex()) {
                segment = segments.get(++segmentPosition);
            }
            consumer.accept(index, segment.read(index, readWindow, readChecksum));
        }
    }

    /** Finds the segment holding an index by binary search on first indexes. */
    private int segmentPositionOf(long index) {
        int low = 0;
        int high = segments.size() - 1;
        while (low < high) {
            int middle = (low + high + 1) >>> 1;
            if (segments.get(middle).firstIndex() <= index) {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        return low;
    }

    /**
     * Returns the snapshot in force, read and verified from disk, or null when there is none.
     *
     * @throws LogCorruptedException when the snapshot was damaged after it was opened
     */
    public Snapshot latestSnapshot() throws IOException {
        ensureOpen();
        return snapshotFile == null ? null : snapshots.read(snapshotFile);
    }

    /**
     * Saves a snapshot covering every record up to {@code index} and compacts the log behind it.
     *
     * <p>The log is synced first, so that it always reaches the snapshot after a crash. The snapshot
     * is written atomically (temporary file, force, rename, force the directory). Then every
     * snapshot file but this one and the newest older one is deleted, and so is every segment whose
     * records are all at or below {@code index}, except the last segment, which appends still use.
     *
     * <p>The older snapshot is kept as a fallback should the newer one fail to verify later, but
     * falling back only works while the log still reaches back to it; once compaction has deleted
     * the records after it, {@link #open} refuses the directory instead.
     *
     * @throws IllegalStateException when {@code index} is beyond {@link #lastIndex()} or below the
     *     snapshot in force
     */
    public void saveSnapshot(long index, byte[] data) throws IOException {
        ensureUsable();
        Objects.requireNonNull(data, "data");
        if (index > lastIndex) {
            throw new IllegalStateException("cannot save a snapshot at index " + index + " in " + directory
                    + ": the log only reaches index " + lastIndex);
        }
        if (index < snapshotIndex()) {
            throw new IllegalStateException("cannot save a snapshot at index " + index + " in " + directory
                    + ": it is older than the snapshot in force at index " + snapshotIndex());
        }
        sync();
        try {
            snapshotFile = snapshots.save(index, data, snapshotFile);
            compactThrough(index);
        } catch (IOException e) {
            throw fail(e);
        }
    }

    private void compactThrough(long index) throws IOException {
        boolean deletedAny = false;
        while (segments.size() > 1 && segments.getFirst().lastIndex() <= index) {
            segments.removeFirst().delete();
            deletedAny = true;
        }
        if (deletedAny) {
            readWindow.invalidate();
            firstIndex = segments.getFirst().firstIndex();
        }
        // Forcing the directory keeps the deletions in order, and at most two snapshot files around.
        StorageFiles.syncDirectory(directory);
    }

    /**
     * Discards every record and snapshot and installs the given snapshot instead; the next append
     * must be {@code snapshotIndex + 1}. A backup uses this to adopt its primary's state.
     *
     * <p>The new snapshot is committed durably before anything old is deleted, and {@link #open}
     * finishes a reset that a crash interrupted, so after a crash the replica has either its old
     * state or the new one, never a mix. When this returns, the new state is durable.
     *
     * <p>The old state is forced first and the log gets a new {@linkplain #journalId() journal id}
     * before anything is replaced, so the node journal's records of the old state can never be
     * replayed onto the new one, and a crash before the new state is in place leaves the old one
     * complete without the journal.
     */
    public void reset(long snapshotIndex, byte[] snapshotData) throws IOException {
        ensureUsable();
        Objects.requireNonNull(snapshotData, "snapshotData");
        if (snapshotIndex < 0) {
            throw new IllegalArgumentException("snapshot index must not be negative, was " + snapshotIndex);
        }
        sync();
        try {
            journalId = writeNewJournalId(directory);
            StorageFiles.IndexedFile resetFile = snapshots.writeReset(snapshotIndex, snapshotData);
            frameWriter.discard();
            readWindow.invalidate();
            for (Segment segment : segments) {
                segment.close();
            }
            segments.clear();
            directoryDirty = false;
            snapshotFile = snapshots.completeReset(resetFile);
            lastIndex = snapshotIndex;
            firstIndex = snapshotIndex + 1;
            syncedIndex = snapshotIndex;
            forcedIndex = snapshotIndex;
        } catch (IOException e) {
            throw fail(e);
        }
    }

    /**
     * Syncs everything appended and closes the log. After an earlier I/O failure it only releases
     * the files, since forcing is no longer meaningful. Closing twice does nothing.
     */
    @Override
    public void close() throws IOException {
        close(true);
    }

    /**
     * Closes the log after handing buffered records to the operating system, but without forcing
     * anything. Tests use it to model a process that dies without a clean shutdown.
     */
    void closeWithoutSync() throws IOException {
        close(false);
    }

    private void close(boolean syncFirst) throws IOException {
        if (closed) {
            return;
        }
        IOException problem = null;
        try {
            if (failure == null) {
                if (syncFirst) {
                    sync();
                } else if (!segments.isEmpty()) {
                    frameWriter.flush(segments.getLast());
                }
            }
        } catch (IOException e) {
            problem = e;
        } finally {
            closed = true;
        }
        problem = closeSegments(problem);
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            problem = addProblem(problem, e);
        }
        if (problem != null) {
            throw problem;
        }
    }

    private IOException closeSegments(IOException problem) {
        IOException result = problem;
        for (Segment segment : segments) {
            try {
                segment.close();
            } catch (IOException e) {
                result = addProblem(result, e);
            }
        }
        return result;
    }

    private static IOException addProblem(IOException first, IOException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    private IOException fail(IOException cause) {
        if (failure == null) {
            failure = cause;
        }
        return cause;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("replica log in " + directory + " is closed");
        }
    }

    private void ensureUsable() {
        ensureOpen();
        if (failure != null) {
            throw new IllegalStateException("replica log in " + directory
                    + " failed earlier and must be reopened to recover: " + failure, failure);
        }
    }

    @Override
    public String toString() {
        return "ReplicaLog[" + directory + ", indexes " + firstIndex + ".." + lastIndex + ", synced " + syncedIndex
                + ", snapshot " + snapshotIndex() + "]";
    }
}
