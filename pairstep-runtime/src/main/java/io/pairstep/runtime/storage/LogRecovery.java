package io.pairstep.runtime.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Brings a replica directory back to a consistent state after a stop or crash.
 *
 * <p>The only repair it makes to the log is cutting a damaged tail off the last segment: a crash
 * can only tear the last segment, because a segment is forced before the next one is created.
 * Damage anywhere else is real corruption and is refused. Besides that it only deletes files that
 * are provably obsolete: leftovers of interrupted atomic writes, segments entirely covered by the
 * snapshot, and the old state of a committed reset.
 */
final class LogRecovery {

    /**
     * The recovered state.
     *
     * @param segments the open segments in index order; the last one is where appends continue
     * @param snapshot the snapshot in force, or null when there is none
     */
    record Recovered(List<Segment> segments, StorageFiles.IndexedFile snapshot) {}

    private LogRecovery() {}

    static Recovered recover(Path directory, SnapshotStore snapshots) throws IOException {
        StorageFiles.deleteTemporaryFiles(directory);
        StorageFiles.IndexedFile pendingReset = snapshots.pendingReset();
        if (pendingReset != null) {
            snapshots.completeReset(pendingReset);
        }
        StorageFiles.IndexedFile snapshot = snapshots.newestValid();
        long snapshotIndex = snapshot == null ? 0 : snapshot.index();

        List<StorageFiles.IndexedFile> files = new ArrayList<>(StorageFiles.listSegments(directory));
        boolean deletedAny = false;
        // A segment whose successor starts at or before snapshotIndex + 1 holds only records the
        // snapshot covers. Compaction may have left such segments behind if a crash reordered its
        // deletions, so they are dropped before they are scanned and could be mistaken for damage.
        while (files.size() >= 2 && files.get(1).index() <= snapshotIndex + 1) {
            Files.deleteIfExists(files.removeFirst().path());
            deletedAny = true;
        }

        List<Segment> segments = new ArrayList<>();
        try {
            SegmentScanner scanner = new SegmentScanner();
            for (int i = 0; i < files.size(); i++) {
                segments.add(recoverSegment(scanner, files.get(i), i == files.size() - 1, segments));
            }
            if (!segments.isEmpty()) {
                long firstIndex = segments.getFirst().firstIndex();
                if (firstIndex > snapshotIndex + 1) {
                    throw new LogCorruptedException("the log in " + directory + " starts at index " + firstIndex + " but "
                            + (snapshot == null ? "there is no usable snapshot" : "the newest usable snapshot " + snapshot.path()
                                    + " ends at index " + snapshotIndex)
                            + ", so records " + (snapshotIndex + 1) + " to " + (firstIndex - 1) + " are missing");
                }
                if (segments.getLast().lastIndex() < snapshotIndex) {
                    // Every remaining record is covered by the snapshot; the log restarts after it.
                    for (Segment segment : segments) {
                        segment.delete();
                    }
                    segments.clear();
                    deletedAny = true;
                }
            }
            if (deletedAny) {
                StorageFiles.syncDirectory(directory);
            }
            return new Recovered(segments, snapshot);
        } catch (IOException | RuntimeException e) {
            for (Segment segment : segments) {
                closeQuietly(segment, e);
            }
            throw e;
        }
    }

    private static Segment recoverSegment(SegmentScanner scanner, StorageFiles.IndexedFile file, boolean last,
            List<Segment> previous) throws IOException {
        if (!previous.isEmpty()) {
            long expectedFirstIndex = previous.getLast().lastIndex() + 1;
            if (file.index() != expectedFirstIndex) {
                throw new LogCorruptedException(file.path() + " starts at index " + file.index()
                        + " but the previous segment ends at index " + (expectedFirstIndex - 1));
            }
        }
        FileChannel channel = FileChannel.open(file.path(), StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            SegmentScanner.Result scan = scanner.scan(channel, file.index());
            if (scan.damage() != null) {
                if (!last) {
                    throw LogCorruptedException.at(file.path(), scan.validBytes(),
                            scan.damage() + "; only the last segment may have a torn tail, so this is not repaired");
                }
                // A torn or damaged tail of the last segment is what a crash during a write leaves
                // behind; nothing after it was ever forced, so cutting it off loses nothing durable.
                channel.truncate(scan.validBytes());
                channel.force(true);
            }
            return Segment.recovered(file.path(), file.index(), channel, scan.offsets(), scan.validBytes());
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel, e);
            throw e;
        }
    }

    private static void closeQuietly(AutoCloseable closeable, Throwable primary) {
        try {
            closeable.close();
        } catch (Exception suppressed) {
            primary.addSuppressed(suppressed);
        }
    }
}
