package io.pairstep.runtime.storage;

import static io.pairstep.runtime.storage.StorageTestFiles.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReplicaLogTest {

    private static final long LARGE_SEGMENT_BYTES = 1 << 20;

    @TempDir
    Path temporary;

    private final Random random = new Random(42);

    @Test
    void aNewLogIsEmpty() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(temporary.resolve("replica"), LARGE_SEGMENT_BYTES)) {
            assertThat(log.firstIndex()).isEqualTo(1);
            assertThat(log.lastIndex()).isZero();
            assertThat(log.syncedIndex()).isZero();
            assertThat(log.latestSnapshot()).isNull();
            assertThat(readAll(log, 1, 0)).isEmpty();
        }
    }

    @Test
    void appendedRecordsReadBackBeforeAndAfterReopening() throws IOException {
        Path directory = temporary.resolve("replica");
        List<byte[]> records = randomRecords(100, 300);
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, records);
            assertThat(log.lastIndex()).isEqualTo(100);
            assertThat(readAll(log, 1, 100)).containsExactlyElementsOf(records);
            assertThat(readAll(log, 40, 42)).containsExactlyElementsOf(records.subList(39, 42));
        }
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            assertThat(log.firstIndex()).isEqualTo(1);
            assertThat(log.lastIndex()).isEqualTo(100);
            assertThat(log.syncedIndex()).isEqualTo(100);
            assertThat(readAll(log, 1, 100)).containsExactlyElementsOf(records);
            log.append(101, new byte[] {7});
            assertThat(readAll(log, 101, 101)).containsExactly(new byte[] {7});
        }
    }

    @Test
    void emptyRecordsAreAllowed() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES)) {
            log.append(1, new byte[0]);
            log.append(2, new byte[0]);
            assertThat(readAll(log, 1, 2)).containsExactly(new byte[0], new byte[0]);
        }
    }

    @Test
    void syncAdvancesTheSyncedIndex() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES)) {
            log.append(1, new byte[] {1});
            log.append(2, new byte[] {2});
            assertThat(log.syncedIndex()).isZero();
            log.sync();
            assertThat(log.syncedIndex()).isEqualTo(2);
        }
    }

    @Test
    void outOfOrderAppendsAreRefused() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES)) {
            assertThatThrownBy(() -> log.append(2, new byte[1]))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("expected index 1 but got 2");
            log.append(1, new byte[1]);
            assertThatThrownBy(() -> log.append(1, new byte[1])).isInstanceOf(IllegalStateException.class);
            // A refused append leaves the log usable.
            log.append(2, new byte[1]);
            assertThat(log.lastIndex()).isEqualTo(2);
        }
    }

    @Test
    void recordsAboveTheMaximumAreRefused() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES)) {
            assertThatThrownBy(() -> log.append(1, new byte[RecordFormat.MAX_RECORD_BYTES + 1]))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("maximum");
        }
    }

    @Test
    void readsOutsideTheLogAreRefused() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, randomRecords(5, 10));
            assertThatThrownBy(() -> log.read(0, 3, (index, record) -> {}))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("holds [1, 5]");
            assertThatThrownBy(() -> log.read(4, 6, (index, record) -> {})).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void segmentsRollOverAtTheConfiguredSize() throws IOException {
        Path directory = temporary.resolve("replica");
        // Frames of 116 bytes: eight fit in 1000 bytes, the ninth starts a new segment.
        List<byte[]> records = randomRecords(50, 100, 100);
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records);
            assertThat(readAll(log, 1, 50)).containsExactlyElementsOf(records);
        }
        List<Path> segments = StorageTestFiles.segments(directory);
        assertThat(segments).extracting(path -> path.getFileName().toString()).containsExactly(
                "00000000000000000001.log", "00000000000000000009.log", "00000000000000000017.log",
                "00000000000000000025.log", "00000000000000000033.log", "00000000000000000041.log",
                "00000000000000000049.log");
        for (Path segment : segments) {
            assertThat(Files.size(segment)).isLessThanOrEqualTo(1000);
        }
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(readAll(log, 1, 50)).containsExactlyElementsOf(records);
            assertThat(readAll(log, 7, 18)).containsExactlyElementsOf(records.subList(6, 18));
        }
    }

    @Test
    void aRecordLargerThanASegmentGetsASegmentOfItsOwn() throws IOException {
        Path directory = temporary.resolve("replica");
        List<byte[]> records = List.of(new byte[10], new byte[5000], new byte[10]);
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records);
        }
        assertThat(StorageTestFiles.segments(directory)).hasSize(3);
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(readAll(log, 1, 3)).containsExactlyElementsOf(records);
        }
    }

    @Test
    void recordsLargerThanTheBuffersAreWrittenAndReadInPieces() throws IOException {
        Path directory = temporary.resolve("replica");
        List<byte[]> records = List.of(StorageTestFiles.randomBytes(random, 600_000), new byte[] {1},
                StorageTestFiles.randomBytes(random, 70_000));
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            appendAll(log, 1, records);
            assertThat(readAll(log, 1, 3)).containsExactlyElementsOf(records);
        }
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            assertThat(readAll(log, 1, 3)).containsExactlyElementsOf(records);
        }
    }

    @Test
    void aTruncatedLastRecordIsCutOffAtEveryPossibleTearPoint() throws IOException {
        Path original = temporary.resolve("original");
        List<byte[]> records = writeThreeSegments(original);
        Path lastSegment = StorageTestFiles.lastSegment(original);
        long endBytes = Files.size(lastSegment);
        long lastRecordStart = endBytes - RecordFormat.frameBytes(records.getLast().length);
        for (int trial = 0; trial < 12; trial++) {
            // Every cut from the record's first byte to one short of its end, header included.
            long cut = trial == 0 ? lastRecordStart : lastRecordStart + 1 + random.nextLong(endBytes - lastRecordStart - 1);
            Path copy = temporary.resolve("cut-" + trial);
            StorageTestFiles.copyDirectory(original, copy);
            StorageTestFiles.truncate(copy.resolve(lastSegment.getFileName()), cut);
            assertRecoversAllButTheLastRecord(copy, records);
        }
    }

    @Test
    void aDamagedByteInTheLastRecordCutsOffThatRecord() throws IOException {
        Path original = temporary.resolve("original");
        List<byte[]> records = writeThreeSegments(original);
        Path lastSegment = StorageTestFiles.lastSegment(original);
        long endBytes = Files.size(lastSegment);
        long lastRecordStart = endBytes - RecordFormat.frameBytes(records.getLast().length);
        for (int trial = 0; trial < 12; trial++) {
            // The first trials hit each header field; the rest hit random bytes of the record.
            long offset = switch (trial) {
                case 0 -> lastRecordStart;
                case 1 -> lastRecordStart + 3;
                case 2 -> lastRecordStart + 5;
                case 3 -> lastRecordStart + 8;
                case 4 -> lastRecordStart + 15;
                default -> lastRecordStart + random.nextLong(endBytes - lastRecordStart);
            };
            Path copy = temporary.resolve("flip-" + trial);
            StorageTestFiles.copyDirectory(original, copy);
            StorageTestFiles.flipByte(copy.resolve(lastSegment.getFileName()), offset);
            assertRecoversAllButTheLastRecord(copy, records);
        }
    }

    @Test
    void garbageAfterTheLastRecordIsCutOff() throws IOException {
        Path directory = temporary.resolve("replica");
        List<byte[]> records = writeThreeSegments(directory);
        // Zeros are what a preallocated or partly written block looks like after a crash.
        StorageTestFiles.appendBytes(StorageTestFiles.lastSegment(directory), new byte[100]);
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.lastIndex()).isEqualTo(records.size());
            assertThat(readAll(log, 1, records.size())).containsExactlyElementsOf(records);
        }
    }

    @Test
    void aRecordWithTheWrongIndexEndsTheLastSegment() throws IOException {
        Path directory = temporary.resolve("replica");
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            log.append(1, new byte[] {1});
            log.append(2, new byte[] {2});
        }
        // A well-formed frame carrying index 7 where index 3 belongs must not be applied.
        Path other = temporary.resolve("other");
        try (ReplicaLog log = ReplicaLog.open(other, LARGE_SEGMENT_BYTES)) {
            log.reset(6, new byte[0]);
            log.append(7, new byte[] {7});
        }
        StorageTestFiles.appendBytes(StorageTestFiles.lastSegment(directory),
                Files.readAllBytes(StorageTestFiles.lastSegment(other)));
        try (ReplicaLog log = ReplicaLog.open(directory, LARGE_SEGMENT_BYTES)) {
            assertThat(log.lastIndex()).isEqualTo(2);
            log.append(3, new byte[] {3});
        }
    }

    @Test
    void anEntirelyTornLastSegmentLeavesTheEarlierOnesIntact() throws IOException {
        Path directory = temporary.resolve("replica");
        List<byte[]> records = writeThreeSegments(directory);
        Path lastSegment = StorageTestFiles.lastSegment(directory);
        long firstInLast = Long.parseLong(lastSegment.getFileName().toString().replace(".log", ""));
        StorageTestFiles.truncate(lastSegment, 3);
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.lastIndex()).isEqualTo(firstInLast - 1);
            assertThat(readAll(log, 1, firstInLast - 1)).containsExactlyElementsOf(records.subList(0, (int) firstInLast - 1));
            log.append(firstInLast, new byte[] {9});
        }
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(readAll(log, firstInLast, firstInLast)).containsExactly(new byte[] {9});
        }
    }

    @Test
    void corruptionInAMiddleSegmentIsRefusedWithFileAndOffset() throws IOException {
        Path directory = temporary.resolve("replica");
        writeThreeSegments(directory);
        Path middle = StorageTestFiles.segments(directory).get(1);
        // The third record of the segment starts after two frames of 116 bytes.
        StorageTestFiles.flipByte(middle, 2 * 116 + 20);
        assertThatThrownBy(() -> ReplicaLog.open(directory, 1000))
                .isInstanceOf(LogCorruptedException.class)
                .hasMessageContaining(middle.getFileName().toString())
                .hasMessageContaining("offset 232")
                .hasMessageContaining("checksum");
        // Refusing repairs nothing: the damaged file is left as it was, for inspection.
        assertThat(Files.size(middle)).isEqualTo(8 * 116);
    }

    @Test
    void aTruncatedMiddleSegmentIsRefused() throws IOException {
        Path directory = temporary.resolve("replica");
        writeThreeSegments(directory);
        Path first = StorageTestFiles.segments(directory).getFirst();
        StorageTestFiles.truncate(first, 8 * 116 - 1);
        assertThatThrownBy(() -> ReplicaLog.open(directory, 1000))
                .isInstanceOf(LogCorruptedException.class)
                .hasMessageContaining(first.getFileName().toString())
                .hasMessageContaining("offset 812");
    }

    @Test
    void aMissingMiddleSegmentIsRefused() throws IOException {
        Path directory = temporary.resolve("replica");
        writeThreeSegments(directory);
        Path middle = StorageTestFiles.segments(directory).get(1);
        Files.delete(middle);
        assertThatThrownBy(() -> ReplicaLog.open(directory, 1000))
                .isInstanceOf(LogCorruptedException.class)
                .hasMessageContaining("starts at index 17 but the previous segment ends at index 8");
    }

    @Test
    void aDirectoryCanBeOpenedOnlyOnce() throws IOException {
        try (ReplicaLog log = ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES)) {
            assertThatThrownBy(() -> ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("already open");
            assertThat(log.isOpen()).isTrue();
        }
        try (ReplicaLog log = ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES)) {
            assertThat(log.lastIndex()).isZero();
        }
    }

    @Test
    void aClosedLogRefusesWork() throws IOException {
        ReplicaLog log = ReplicaLog.open(temporary, LARGE_SEGMENT_BYTES);
        log.close();
        log.close();
        assertThat(log.isOpen()).isFalse();
        assertThatThrownBy(() -> log.append(1, new byte[1]))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
    }

    /** Writes 20 records of 100 bytes with 1000-byte segments: indexes 1-8, 9-16 and 17-20. */
    private List<byte[]> writeThreeSegments(Path directory) throws IOException {
        List<byte[]> records = randomRecords(20, 100, 100);
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            appendAll(log, 1, records);
        }
        assertThat(StorageTestFiles.segments(directory)).hasSize(3);
        return records;
    }

    private static void assertRecoversAllButTheLastRecord(Path directory, List<byte[]> records) throws IOException {
        int good = records.size() - 1;
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.lastIndex()).isEqualTo(good);
            assertThat(log.syncedIndex()).isEqualTo(good);
            assertThat(readAll(log, 1, good)).containsExactlyElementsOf(records.subList(0, good));
            log.append(good + 1, new byte[] {42});
            log.append(good + 2, new byte[] {43});
        }
        try (ReplicaLog log = ReplicaLog.open(directory, 1000)) {
            assertThat(log.lastIndex()).isEqualTo(good + 2);
            assertThat(readAll(log, good + 1, good + 2)).containsExactly(new byte[] {42}, new byte[] {43});
        }
    }

    private List<byte[]> randomRecords(int count, int maxBytes) {
        return randomRecords(count, 0, maxBytes);
    }

    private List<byte[]> randomRecords(int count, int minBytes, int maxBytes) {
        List<byte[]> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(StorageTestFiles.randomBytes(random, minBytes + random.nextInt(maxBytes - minBytes + 1)));
        }
        return records;
    }

    static void appendAll(ReplicaLog log, long firstIndex, List<byte[]> records) throws IOException {
        for (int i = 0; i < records.size(); i++) {
            log.append(firstIndex + i, records.get(i));
        }
    }
}
