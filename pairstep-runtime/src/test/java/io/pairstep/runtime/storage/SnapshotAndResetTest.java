package io.pairstep.runtime.storage;

import static io.pairstep.runtime.storage.ReplicaLogTest.appendAll;
import static io.pairstep.runtime.storage.StorageTestFiles.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotAndResetTest {

    private static final long LARGE_SEGMENT_BYTES = 1 << 20;

    @TempDir
    Path directory;

    private final Random random = new Random(7);

    @Test
    void aSavedSnapshotIsLoadedBeforeAndAfterReopening() throws IOException {
        byte[] state = bytes("state at 5");
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, records(10));
            log.saveSnapshot(5, state);
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(5, state));
            assertThat(log.snapshotIndex()).isEqualTo(5);
            assertThat(log.syncedIndex()).isEqualTo(10);
        }
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(5, state));
            // The only segment still holds records at or below the snapshot; callers skip those.
            assertThat(log.firstIndex()).isEqualTo(1);
            assertThat(log.lastIndex()).isEqualTo(10);
        }
    }

    @Test
    void aSnapshotLargerThanOneChunkOfIoRoundTrips() throws IOException {
        byte[] state = StorageTestFiles.randomBytes(random, 700_000);
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, records(3));
            log.saveSnapshot(3, state);
        }
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(3, state));
        }
    }

    @Test
    void snapshotsMustStayWithinTheLogAndMoveForward() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, records(10));
            assertThatThrownBy(() -> log.saveSnapshot(11, new byte[0]))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("only reaches index 10");
            log.saveSnapshot(6, new byte[0]);
            assertThatThrownBy(() -> log.saveSnapshot(5, new byte[0]))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("older than the snapshot in force at index 6");
            log.saveSnapshot(6, bytes("again"));
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(6, bytes("again")));
        }
    }

    @Test
    void atMostTwoSnapshotFilesAreKept() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, records(10));
            log.saveSnapshot(2, bytes("2"));
            log.saveSnapshot(4, bytes("4"));
            log.saveSnapshot(7, bytes("7"));
            log.saveSnapshot(9, bytes("9"));
        }
        assertThat(StorageTestFiles.snapshotFiles(directory)).extracting(path -> path.getFileName().toString())
                .containsExactly("snapshot-00000000000000000007.snap", "snapshot-00000000000000000009.snap");
    }

    @Test
    void aCorruptNewestSnapshotFallsBackToTheOlderOne() throws IOException {
        List<byte[]> records = records(20);
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, records);
            log.saveSnapshot(5, bytes("five"));
            log.saveSnapshot(10, bytes("ten"));
        }
        Path newest = StorageTestFiles.snapshotFiles(directory).getLast();
        StorageTestFiles.flipByte(newest, Files.size(newest) - 1);
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(5, bytes("five")));
            assertThat(readAll(log, 1, 20)).containsExactlyElementsOf(records);
            // Saving a new snapshot replaces the damaged file rather than keeping it around.
            log.saveSnapshot(12, bytes("twelve"));
        }
        assertThat(StorageTestFiles.snapshotFiles(directory)).extracting(path -> path.getFileName().toString())
                .containsExactly("snapshot-00000000000000000005.snap", "snapshot-00000000000000000012.snap");
    }

    @Test
    void aTruncatedOrForeignNewestSnapshotAlsoFallsBack() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, records(20));
            log.saveSnapshot(5, bytes("five"));
            log.saveSnapshot(10, bytes("ten"));
        }
        Path newest = StorageTestFiles.snapshotFiles(directory).getLast();
        StorageTestFiles.truncate(newest, 10);
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            assertThat(log.latestSnapshot().index()).isEqualTo(5);
        }
        Files.write(newest, bytes("definitely not a snapshot file"));
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            assertThat(log.latestSnapshot().index()).isEqualTo(5);
        }
    }

    @Test
    void savingASnapshotDeletesTheSegmentsItCovers() throws IOException {
        // 100-byte records in 1000-byte segments: eight records per segment, 1-8, 9-16, ..., 97-100.
        List<byte[]> records = records(100, 100);
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records);
            assertThat(StorageTestFiles.segments(directory)).hasSize(13);
            log.saveSnapshot(60, bytes("sixty"));
            // Segment 57-64 still holds record 61, so it and everything after it stay.
            assertThat(log.firstIndex()).isEqualTo(57);
            assertThat(StorageTestFiles.segments(directory)).hasSize(6);
            assertThat(readAll(log, 57, 100)).containsExactlyElementsOf(records.subList(56, 100));
            assertThatThrownBy(() -> log.read(56, 60, (index, record) -> {})).isInstanceOf(IllegalArgumentException.class);
            log.append(101, new byte[] {1});
        }
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.firstIndex()).isEqualTo(57);
            assertThat(log.lastIndex()).isEqualTo(101);
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(60, bytes("sixty")));
            assertThat(readAll(log, 57, 100)).containsExactlyElementsOf(records.subList(56, 100));
        }
    }

    @Test
    void compactionKeepsTheSegmentThatAppendsContinueIn() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records(20, 100));
            log.saveSnapshot(20, bytes("everything"));
            assertThat(log.firstIndex()).isEqualTo(17);
            assertThat(log.lastIndex()).isEqualTo(20);
            log.append(21, new byte[] {21});
        }
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.firstIndex()).isEqualTo(17);
            assertThat(readAll(log, 21, 21)).containsExactly(new byte[] {21});
        }
    }

    @Test
    void aLogThatNoLongerReachesItsSnapshotIsRefused() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records(40, 100));
            log.saveSnapshot(4, bytes("four"));
            log.saveSnapshot(30, bytes("thirty"));
            assertThat(log.firstIndex()).isEqualTo(25);
        }
        // With the newest snapshot damaged, the fallback at 4 cannot be used: records 5 to 24 are gone.
        Path newest = StorageTestFiles.snapshotFiles(directory).getLast();
        StorageTestFiles.flipByte(newest, Files.size(newest) - 1);
        assertThatThrownBy(() -> ReplicaLog.open(directory, 1000))
                .isInstanceOf(LogCorruptedException.class)
                .hasMessageContaining("starts at index 25")
                .hasMessageContaining("records 5 to 24 are missing");
    }

    @Test
    void aLogWithoutItsFirstRecordsAndNoSnapshotIsRefused() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records(20, 100));
        }
        Files.delete(StorageTestFiles.segments(directory).getFirst());
        assertThatThrownBy(() -> ReplicaLog.open(directory, 1000))
                .isInstanceOf(LogCorruptedException.class)
                .hasMessageContaining("there is no usable snapshot");
    }

    @Test
    void segmentsLeftBehindByAnInterruptedCompactionAreDropped() throws IOException {
        Path spare = directory.resolve("spare");
        Path replica = directory.resolve("replica");
        try (ReplicaLog log = ReplicaLog.open(replica, 1000)) {
            appendAll(log, 1, records(40, 100));
        }
        StorageTestFiles.copyDirectory(replica, spare);
        try (ReplicaLog log = ReplicaLog.open(replica, 1000)) {
            log.saveSnapshot(30, bytes("thirty"));
        }
        // As if the crash kept the deletion of segment 9-16 but lost that of segment 1-8.
        Files.copy(spare.resolve(StorageFiles.segmentFileName(1)), replica.resolve(StorageFiles.segmentFileName(1)));
        try (ReplicaLog log = ReplicaLog.open(replica, 1000)) {
            assertThat(log.firstIndex()).isEqualTo(25);
            assertThat(log.lastIndex()).isEqualTo(40);
        }
        assertThat(StorageTestFiles.segments(replica)).hasSize(2);
    }

    @Test
    void resetReplacesTheWholeStateWithTheSnapshot() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records(50, 100));
            log.saveSnapshot(20, bytes("twenty"));
            log.append(51, new byte[] {51});
            log.reset(7, bytes("primary state at 7"));
            assertThat(log.firstIndex()).isEqualTo(8);
            assertThat(log.lastIndex()).isEqualTo(7);
            assertThat(log.syncedIndex()).isEqualTo(7);
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(7, bytes("primary state at 7")));
            assertThat(StorageTestFiles.segments(directory)).isEmpty();
            assertThat(StorageTestFiles.snapshotFiles(directory)).hasSize(1);
            assertThatThrownBy(() -> log.append(52, new byte[1])).isInstanceOf(IllegalStateException.class);
            log.append(8, new byte[] {8});
        }
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.firstIndex()).isEqualTo(8);
            assertThat(log.lastIndex()).isEqualTo(8);
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(7, bytes("primary state at 7")));
            assertThat(readAll(log, 8, 8)).containsExactly(new byte[] {8});
        }
    }

    @Test
    void resetCanMoveAheadOfTheLog() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records(5, 10));
            log.reset(1000, bytes("far ahead"));
            log.append(1001, new byte[] {1});
        }
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.firstIndex()).isEqualTo(1001);
            assertThat(log.lastIndex()).isEqualTo(1001);
            assertThat(log.latestSnapshot().index()).isEqualTo(1000);
        }
    }

    @Test
    void aResetInterruptedAfterItsCommitIsFinishedOnOpen() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records(30, 100));
            log.saveSnapshot(25, bytes("old"));
        }
        // The crash came right after the reset file was committed, before any old file was deleted.
        new SnapshotStore(directory).writeReset(3, bytes("new"));
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(3, bytes("new")));
            assertThat(log.firstIndex()).isEqualTo(4);
            assertThat(log.lastIndex()).isEqualTo(3);
        }
        assertThat(StorageTestFiles.segments(directory)).isEmpty();
        assertThat(StorageTestFiles.snapshotFiles(directory)).hasSize(1);
    }

    @Test
    void aResetInterruptedBeforeItsCommitLeavesTheOldState() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records(30, 100));
        }
        // A temporary file is all a crash before the commit leaves behind.
        Files.write(directory.resolve(StorageFiles.resetFileName(3) + StorageFiles.TEMPORARY_SUFFIX), bytes("partial"));
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.latestSnapshot()).isNull();
            assertThat(log.lastIndex()).isEqualTo(30);
        }
        try (var files = Files.list(directory)) {
            assertThat(files.map(path -> path.getFileName().toString())).noneMatch(name -> name.endsWith(".tmp"));
        }
    }

    @Test
    void aDamagedResetFileIsRefused() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records(3, 10));
        }
        Path resetFile = new SnapshotStore(directory).writeReset(3, bytes("new")).path();
        StorageTestFiles.flipByte(resetFile, Files.size(resetFile) - 1);
        assertThatThrownBy(() -> ReplicaLog.open(directory, 1000))
                .isInstanceOf(LogCorruptedException.class)
                .hasMessageContaining(resetFile.getFileName().toString());
    }

    private List<byte[]> records(int count) {
        return records(count, 50);
    }

    /** Records of exactly {@code sizeBytes} bytes, so tests can predict segment boundaries. */
    private List<byte[]> records(int count, int sizeBytes) {
        List<byte[]> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(StorageTestFiles.randomBytes(random, sizeBytes));
        }
        return records;
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
