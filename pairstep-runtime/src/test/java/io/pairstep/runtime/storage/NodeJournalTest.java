package io.pairstep.runtime.storage;

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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The node journal: one force per round for every log, and recovery of what only the journal holds.
 *
 * <p>A machine crash is modelled by what it may destroy: every byte of a replica log that was not
 * forced. Logs here use one large segment, which is forced only when the log is opened (and at a
 * checkpoint), so the test can cut each log back anywhere between its forced size and its end.
 */
class NodeJournalTest {

    /** Large enough that no log here ever starts a second segment. */
    private static final long LOG_SEGMENT_BYTES = 64L * 1024 * 1024;
    private static final int FRAME_HEADER = RecordFormat.HEADER_BYTES;

    @TempDir
    Path temporary;

    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();

    private Path journalDirectory() {
        return temporary.resolve("journal");
    }

    private Path replicas() {
        return temporary.resolve("replicas");
    }

    private Path logDirectory(int partition) {
        return replicas().resolve("kv").resolve(Integer.toString(partition));
    }

    @Test
    void everyRecordReportedDurableSurvivesLosingWhatTheLogsDidNotForce() throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("NodeJournalTest seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        Random random = new Random(seed);
        int logCount = 3;
        List<List<byte[]>> written = new ArrayList<>();
        for (int i = 0; i < logCount; i++) {
            written.add(new ArrayList<>());
        }
        for (int crash = 0; crash < 5; crash++) {
            String context = "seed " + seed + ", crash " + crash;
            NodeJournal.Recovery recovery = NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);
            List<ReplicaLog> logs = new ArrayList<>();
            long[] forcedBytes = new long[logCount];
            for (int i = 0; i < logCount; i++) {
                ReplicaLog log = ReplicaLog.open(logDirectory(i), LOG_SEGMENT_BYTES);
                assertThat(log.lastIndex()).as(context + ", log " + i + " after " + recovery).isEqualTo(written.get(i).size());
                if (log.lastIndex() > 0) {
                    assertThat(readAll(log, 1, log.lastIndex())).as(context).containsExactlyElementsOf(written.get(i));
                }
                forcedBytes[i] = frameBytes(written.get(i), written.get(i).size());
                logs.add(log);
            }
            NodeJournal journal = NodeJournal.create(journalDirectory(), NodeJournal.DEFAULT_CHECKPOINT_BYTES);
            long[] reported = new long[logCount];
            try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, journal, errors::add)) {
                int submissions = 20 + random.nextInt(200);
                for (int s = 0; s < submissions; s++) {
                    int target = random.nextInt(logCount);
                    List<Entry> entries = new ArrayList<>();
                    for (int e = 1 + random.nextInt(4); e > 0; e--) {
                        byte[] payload = new byte[1 + random.nextInt(300)];
                        random.nextBytes(payload);
                        written.get(target).add(payload);
                        entries.add(new Entry(written.get(target).size(), payload));
                    }
                    writer.submit(logs.get(target), entries, index -> reported[target] = index);
                }
            }
            assertThat(errors).as(context).isEmpty();
            for (int i = 0; i < logCount; i++) {
                ReplicaLog log = logs.get(i);
                assertThat(reported[i]).as(context).isEqualTo(written.get(i).size());
                assertThat(log.syncedIndex()).as(context).isEqualTo(written.get(i).size());
                boolean wroteThisRound = frameBytes(written.get(i), written.get(i).size()) > forcedBytes[i];
                assertThat(log.hasUnforcedRecords()).as(context + ": only the journal was forced for log " + i)
                        .isEqualTo(wroteThisRound);
                log.closeWithoutSync();
                loseUnforcedBytes(logDirectory(i), forcedBytes[i], random);
            }
        }
    }

    @Test
    void aCheckpointForcesTheLogsAndLeavesOneJournalSegment() throws Exception {
        ReplicaLog first = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES);
        ReplicaLog second = ReplicaLog.open(logDirectory(1), LOG_SEGMENT_BYTES);
        NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);
        NodeJournal journal = NodeJournal.create(journalDirectory(), 4_000);
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, journal, errors::add)) {
            for (int i = 1; i <= 100; i++) {
                writer.submit(first, List.of(new Entry(i, payload(i, 100))), index -> {});
                writer.submit(second, List.of(new Entry(i, payload(-i, 100))), index -> {});
                writer.barrier().get();
            }
        }
        assertThat(errors).isEmpty();
        // 100 rounds of two 124-byte journal records: many checkpoints, each dropping the segment before it.
        assertThat(NodeJournal.segments(journalDirectory())).hasSize(1);
        // 100-byte payloads in 132-byte journal records: each segment ends within a round past 4,000 bytes.
        assertThat(Files.size(NodeJournal.segments(journalDirectory()).getFirst().path())).isLessThan(4_000 + 2 * 132);
        // What the checkpoints forced is in the logs' own files: cut back to their last force, they still
        // reach at least the record before the journal's oldest one.
        first.closeWithoutSync();
        second.closeWithoutSync();
        NodeJournal.Recovery recovery = NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);
        assertThat(recovery.records()).isLessThan(40);
        try (ReplicaLog reopened = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES)) {
            assertThat(reopened.lastIndex()).isEqualTo(100);
            assertThat(readAll(reopened, 100, 100)).containsExactly(payload(100, 100));
        }
    }

    @Test
    void recordsOfALogsStateBeforeAResetAreNeverReplayedOntoTheNewState() throws Exception {
        ReplicaLog log = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES);
        long idBefore = log.journalId();
        NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);
        NodeJournal journal = NodeJournal.create(journalDirectory(), NodeJournal.DEFAULT_CHECKPOINT_BYTES);
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, journal, errors::add)) {
            for (int i = 1; i <= 10; i++) {
                writer.submit(log, List.of(new Entry(i, text("old " + i))), index -> {});
            }
            writer.submitReset(log, 5, text("snapshot of the partner"), index -> {});
            for (int i = 6; i <= 7; i++) {
                writer.submit(log, List.of(new Entry(i, text("new " + i))), index -> {});
            }
        }
        assertThat(errors).isEmpty();
        assertThat(log.journalId()).isNotEqualTo(idBefore);
        log.closeWithoutSync();
        // The crash loses the new state's records from the log's own files; only the journal has them.
        for (Path segment : StorageTestFiles.segments(logDirectory(0))) {
            StorageTestFiles.truncate(segment, 0);
        }

        NodeJournal.Recovery recovery = NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);

        assertThat(recovery.replayed()).isEqualTo(2);
        try (ReplicaLog reopened = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES)) {
            assertThat(reopened.latestSnapshot()).isEqualTo(new Snapshot(5, text("snapshot of the partner")));
            assertThat(reopened.lastIndex()).isEqualTo(7);
            assertThat(readAll(reopened, 6, 7)).containsExactly(text("new 6"), text("new 7"));
        }
    }

    @Test
    void aCheckpointOverwritesTheSegmentBeforeItAndRecoveryStopsAtItsOldRecords() throws Exception {
        ReplicaLog log = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES);
        NodeJournal journal = NodeJournal.create(journalDirectory(), 4_000);
        int index = 0;
        // Two full segments, each checkpointed: the second checkpoint overwrites the first one's file.
        for (int segment = 0; segment < 2; segment++) {
            while (!journal.checkpointDue()) {
                index++;
                log.append(index, payload(index, 100));
                journal.append(log.journalId(), index, payload(index, 100));
            }
            journal.sync();
            log.sync();
            journal.checkpoint();
        }
        Path spare = journalDirectory().resolve(NodeJournal.SPARE_NAME);
        assertThat(spare).exists();
        Path active = NodeJournal.segments(journalDirectory()).getFirst().path();
        assertThat(active.getFileName().toString()).isEqualTo(NodeJournal.segmentName(3));
        long recycledSize = Files.size(active);
        assertThat(recycledSize).as("the third segment is the first one's file").isGreaterThanOrEqualTo(4_000);
        // A few records the log loses in the crash, written over the start of the recycled file.
        int forced = index;
        for (int i = 0; i < 3; i++) {
            index++;
            log.append(index, payload(index, 100));
            journal.append(log.journalId(), index, payload(index, 100));
        }
        journal.sync();
        assertThat(Files.size(active)).as("overwritten, not extended").isEqualTo(recycledSize);
        log.closeWithoutSync();
        StorageTestFiles.truncate(StorageTestFiles.segments(logDirectory(0)).getFirst(),
                Files.size(StorageTestFiles.segments(logDirectory(0)).getFirst()) - 3 * (FRAME_HEADER + 100));
        journal.close();

        NodeJournal.Recovery recovery = NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);

        assertThat(recovery.records()).as("the segment's own records, not the old ones behind them").isEqualTo(3);
        assertThat(recovery.replayed()).isEqualTo(3);
        assertThat(recovery.tornTails()).isEmpty();
        try (ReplicaLog reopened = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES)) {
            assertThat(reopened.lastIndex()).isEqualTo(forced + 3);
            assertThat(readAll(reopened, forced + 1, forced + 3))
                    .containsExactly(payload(forced + 1, 100), payload(forced + 2, 100), payload(forced + 3, 100));
        }
        // A new run starts without the old spare: its segment numbers start again at 1.
        NodeJournal.create(journalDirectory(), 4_000).close();
        assertThat(spare).doesNotExist();
    }

    @Test
    void recoveryStopsAtATornJournalTailAndAppliesWhatIsInFrontOfIt() throws Exception {
        long id = journalIdOf(0);
        NodeJournal journal = NodeJournal.create(journalDirectory(), NodeJournal.DEFAULT_CHECKPOINT_BYTES);
        journal.append(id, 1, text("one"));
        journal.append(id, 2, text("two"));
        journal.close();
        Path segment = NodeJournal.segments(journalDirectory()).getFirst().path();
        long intact = Files.size(segment);
        // A third record whose write the crash interrupted half way.
        StorageTestFiles.appendBytes(segment, new byte[] {0, 0, 0, 5, 1, 2, 3});

        NodeJournal.Recovery recovery = NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);

        assertThat(recovery.replayed()).isEqualTo(2);
        assertThat(recovery.tornTails()).containsExactly(segment.getFileName() + " at byte " + intact);
        assertThat(NodeJournal.segments(journalDirectory())).isEmpty();
        try (ReplicaLog log = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES)) {
            assertThat(readAll(log, 1, log.lastIndex())).containsExactly(text("one"), text("two"));
        }
    }

    @Test
    void recordsOfALogWhoseDirectoryIsGoneAreSkipped() throws Exception {
        long kept = journalIdOf(0);
        NodeJournal journal = NodeJournal.create(journalDirectory(), NodeJournal.DEFAULT_CHECKPOINT_BYTES);
        journal.append(12345L, 1, text("of a replica removed since"));
        journal.append(kept, 1, text("kept"));
        journal.close();

        NodeJournal.Recovery recovery = NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);

        assertThat(recovery.skippedUnknownLog()).isEqualTo(1);
        assertThat(recovery.replayed()).isEqualTo(1);
        assertThat(Files.list(replicas().resolve("kv")).toList()).containsExactly(logDirectory(0));
    }

    @Test
    void aLogMissingRecordsTheJournalNoLongerHoldsIsRefusedAndTheJournalIsKept() throws Exception {
        long id = journalIdOf(0);
        NodeJournal journal = NodeJournal.create(journalDirectory(), NodeJournal.DEFAULT_CHECKPOINT_BYTES);
        journal.append(id, 3, text("three"));
        journal.close();

        assertThatThrownBy(() -> NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES))
                .isInstanceOf(LogCorruptedException.class)
                .hasMessageContaining(logDirectory(0).toString())
                .hasMessageContaining("ends at index 0")
                .hasMessageContaining("only at index 3");
        assertThat(NodeJournal.segments(journalDirectory())).hasSize(1);
        assertThatThrownBy(() -> NodeJournal.create(journalDirectory(), 1_000))
                .hasMessageContaining("not recovered");
    }

    @Test
    void theIntervalPolicyForcesTheJournalInsteadOfEachLog() throws Exception {
        ReplicaLog first = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES);
        ReplicaLog second = ReplicaLog.open(logDirectory(1), LOG_SEGMENT_BYTES);
        NodeJournal journal = NodeJournal.create(journalDirectory(), NodeJournal.DEFAULT_CHECKPOINT_BYTES);
        AtomicLong reported = new AtomicLong();
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.INTERVAL, 5, journal, errors::add)) {
            writer.submit(first, List.of(new Entry(1, text("a"))), reported::set);
            writer.submit(second, List.of(new Entry(1, text("b"))), reported::set);
        }
        assertThat(errors).isEmpty();
        assertThat(first.syncedIndex()).isEqualTo(1);
        assertThat(first.hasUnforcedRecords()).isTrue();
        first.closeWithoutSync();
        second.closeWithoutSync();
        for (int i = 0; i < 2; i++) {
            for (Path segment : StorageTestFiles.segments(logDirectory(i))) {
                StorageTestFiles.truncate(segment, 0);
            }
        }
        assertThat(NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES).replayed()).isEqualTo(2);
        try (ReplicaLog log = ReplicaLog.open(logDirectory(1), LOG_SEGMENT_BYTES)) {
            assertThat(readAll(log, 1, 1)).containsExactly(text("b"));
        }
    }

    @Test
    void aLogClosedCleanlyNeedsNoJournalSoItCanBeDiscarded() throws Exception {
        ReplicaLog log = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES);
        NodeJournal journal = NodeJournal.create(journalDirectory(), NodeJournal.DEFAULT_CHECKPOINT_BYTES);
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, journal, errors::add)) {
            writer.submit(log, List.of(new Entry(1, text("a")), new Entry(2, text("b"))), index -> {});
        }
        assertThat(log.isForced()).as("durable through the journal only").isFalse();
        log.close();
        assertThat(log.isForced()).isTrue();

        NodeJournal.discard(journalDirectory());

        assertThat(NodeJournal.segments(journalDirectory())).isEmpty();
        try (ReplicaLog reopened = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES)) {
            assertThat(readAll(reopened, 1, 2)).containsExactly(text("a"), text("b"));
        }
    }

    @Test
    void twoLogsWithOneJournalIdAreRefusedBeforeAnythingIsReplayed() throws Exception {
        long id = journalIdOf(0);
        Files.createDirectories(logDirectory(1));
        Files.copy(logDirectory(0).resolve(NodeJournal.ID_FILE_NAME), logDirectory(1).resolve(NodeJournal.ID_FILE_NAME));
        NodeJournal journal = NodeJournal.create(journalDirectory(), NodeJournal.DEFAULT_CHECKPOINT_BYTES);
        journal.append(id, 1, text("whose?"));
        journal.close();

        assertThatThrownBy(() -> NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES))
                .isInstanceOf(LogCorruptedException.class)
                .hasMessageContaining("same journal id").hasMessageContaining(logDirectory(0).toString())
                .hasMessageContaining(logDirectory(1).toString());
        assertThat(NodeJournal.segments(journalDirectory())).hasSize(1);
    }

    @Test
    void aCheckpointUnderTheIntervalPolicyCoversLogsWrittenSinceTheLastSync() throws Exception {
        ReplicaLog log = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES);
        // A checkpoint after a few records, and an interval long enough that only the checkpoint syncs.
        NodeJournal journal = NodeJournal.create(journalDirectory(), 500);
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.INTERVAL, 60_000, journal, errors::add)) {
            writer.submit(log, List.of(new Entry(1, payload(1, 300)), new Entry(2, payload(2, 300))), index -> {});
            writer.barrier().get();
        }
        assertThat(errors).isEmpty();
        log.closeWithoutSync();
        // The crash loses whatever the log itself did not force; it was empty when opened.
        if (log.hasUnforcedRecords()) {
            for (Path segment : StorageTestFiles.segments(logDirectory(0))) {
                StorageTestFiles.truncate(segment, 0);
            }
        }

        NodeJournal.recover(journalDirectory(), replicas(), LOG_SEGMENT_BYTES);

        try (ReplicaLog reopened = ReplicaLog.open(logDirectory(0), LOG_SEGMENT_BYTES)) {
            assertThat(reopened.lastIndex()).as("the checkpoint dropped the journal segment holding records 1-2").isEqualTo(2);
            assertThat(readAll(reopened, 1, 2)).containsExactly(payload(1, 300), payload(2, 300));
        }
    }

    /** Opens and closes a log so that its directory and journal id exist, and returns the id. */
    private long journalIdOf(int partition) throws IOException {
        try (ReplicaLog log = ReplicaLog.open(logDirectory(partition), LOG_SEGMENT_BYTES)) {
            return log.journalId();
        }
    }

    /** Cuts the log's single segment anywhere from its forced size on, and sometimes adds garbage. */
    private static void loseUnforcedBytes(Path directory, long forcedBytes, Random random) throws IOException {
        List<Path> segments = StorageTestFiles.segments(directory);
        if (segments.isEmpty()) {
            return;
        }
        Path segment = segments.getFirst();
        long size = Files.size(segment);
        long cut = forcedBytes + (size > forcedBytes ? (long) (random.nextDouble() * (size - forcedBytes + 1)) : 0);
        StorageTestFiles.truncate(segment, Math.min(cut, size));
        if (random.nextBoolean()) {
            byte[] garbage = new byte[1 + random.nextInt(40)];
            random.nextBytes(garbage);
            StorageTestFiles.appendBytes(segment, garbage);
        }
    }

    private static long frameBytes(List<byte[]> records, int count) {
        long bytes = 0;
        for (int i = 0; i < count; i++) {
            bytes += FRAME_HEADER + records.get(i).length;
        }
        return bytes;
    }

    private static byte[] payload(int seed, int length) {
        byte[] bytes = new byte[length];
        new Random(seed).nextBytes(bytes);
        return bytes;
    }

    private static byte[] text(String value) {
        return value.getBytes(StandardCharsets.UTF_8);
    }
}
