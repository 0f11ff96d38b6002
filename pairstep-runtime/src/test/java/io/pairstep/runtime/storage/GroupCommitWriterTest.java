package io.pairstep.runtime.storage;

import static io.pairstep.runtime.storage.StorageTestFiles.readAll;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GroupCommitWriterTest {

    private static final long SEGMENT_BYTES = 64 * 1024;

    @TempDir
    Path temporary;

    private final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    private final List<ReplicaLog> openLogs = new ArrayList<>();

    @AfterEach
    void closeLogs() throws IOException {
        for (ReplicaLog log : openLogs) {
            log.close();
        }
    }

    @Test
    void alwaysReportsDurableSubmissionsInOrderForManyConcurrentSubmitters() throws Exception {
        int logCount = 4;
        int submittersPerLog = 2;
        int submissionsPerSubmitter = 150;
        List<LogUnderTest> logs = new ArrayList<>();
        for (int i = 0; i < logCount; i++) {
            logs.add(new LogUnderTest(open("replica-" + i)));
        }
        GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, errors::add);
        List<Thread> submitters = new ArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        for (int i = 0; i < logCount * submittersPerLog; i++) {
            LogUnderTest target = logs.get(i % logCount);
            Random random = new Random(i);
            submitters.add(Thread.ofPlatform().start(() -> {
                awaitQuietly(start);
                for (int submission = 0; submission < submissionsPerSubmitter; submission++) {
                    target.submitNext(writer, random);
                }
            }));
        }
        start.countDown();
        for (Thread submitter : submitters) {
            submitter.join();
        }
        writer.close();

        assertThat(errors).isEmpty();
        for (LogUnderTest target : logs) {
            assertThat(target.reported).containsExactlyElementsOf(target.submittedLastIndexes);
            assertThat(target.reportedBeforeDurable).as("reported before synced").isZero();
            assertThat(target.log.syncedIndex()).isEqualTo(target.records.size());
        }
        for (int i = 0; i < logCount; i++) {
            Path directory = logs.get(i).log.directory();
            logs.get(i).log.close();
            try (ReplicaLog reopened = ReplicaLog.open(directory, SEGMENT_BYTES)) {
                assertThat(reopened.lastIndex()).isEqualTo(logs.get(i).records.size());
                assertThat(readAll(reopened, 1, reopened.lastIndex())).containsExactlyElementsOf(logs.get(i).records);
            }
        }
    }

    @Test
    void theDiskThreadIsADaemonNamedPairstepDisk() {
        GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.NONE, 0, errors::add);
        try {
            assertThat(Thread.getAllStackTraces().keySet())
                    .anySatisfy(thread -> {
                        assertThat(thread.getName()).isEqualTo(GroupCommitWriter.THREAD_NAME).isEqualTo("pairstep-disk");
                        assertThat(thread.isDaemon()).isTrue();
                    });
        } finally {
            writer.close();
        }
    }

    @Test
    void aResetIsOrderedWithTheAppendsAroundIt() throws Exception {
        ReplicaLog log = open("replica");
        List<String> events = new CopyOnWriteArrayList<>();
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, errors::add)) {
            writer.submit(log, entries(1, 5), index -> events.add("durable " + index));
            writer.submitReset(log, 100, new byte[] {1, 0, 0}, index -> events.add("reset " + index));
            writer.submit(log, entries(101, 3), index -> events.add("durable " + index));
            writer.submitSnapshot(log, 102, new byte[] {2}, index -> events.add("snapshot " + index));
            writer.submit(log, entries(104, 1), index -> events.add("durable " + index));
        }
        assertThat(errors).isEmpty();
        assertThat(events).containsExactly("durable 5", "reset 100", "durable 103", "snapshot 102", "durable 104");
        assertThat(log.firstIndex()).isEqualTo(101);
        assertThat(log.lastIndex()).isEqualTo(104);
        assertThat(log.latestSnapshot()).isEqualTo(new Snapshot(102, new byte[] {2}));
    }

    @Test
    void aFailedLogIsReportedOnceAndLaterWorkForItIsDroppedWhileOtherLogsContinue() throws Exception {
        ReplicaLog broken = open("broken");
        ReplicaLog healthy = open("healthy");
        List<Long> brokenReports = new CopyOnWriteArrayList<>();
        List<Long> healthyReports = new CopyOnWriteArrayList<>();
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, errors::add)) {
            writer.submit(broken, entries(1, 2), brokenReports::add);
            // Index 5 does not continue the log: the submitter has lost track of it.
            writer.submit(broken, entries(5, 1), brokenReports::add);
            writer.submit(broken, entries(3, 1), brokenReports::add);
            writer.submit(healthy, entries(1, 3), healthyReports::add);
        }
        assertThat(errors).singleElement().isInstanceOfSatisfying(ReplicaLogFailedException.class, failure -> {
            assertThat(failure.log()).isSameAs(broken);
            assertThat(failure).hasMessageContaining("appending records 5 to 5").hasMessageContaining("broken");
            assertThat(failure.getCause()).isInstanceOf(IllegalStateException.class);
        });
        // Nothing of a failed log is reported, not even what it appended earlier in the same batch.
        assertThat(brokenReports).isSubsetOf(2L);
        assertThat(healthyReports).containsExactly(3L);
        assertThat(healthy.syncedIndex()).isEqualTo(3);
    }

    @Test
    void aThrowingCallbackIsReportedAndTheThreadCarriesOn() throws Exception {
        ReplicaLog log = open("replica");
        List<Long> reports = new CopyOnWriteArrayList<>();
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, errors::add)) {
            writer.submit(log, entries(1, 1), index -> {
                throw new IllegalArgumentException("callback bug");
            });
            writer.submit(log, entries(2, 1), reports::add);
        }
        assertThat(errors).singleElement().satisfies(error -> assertThat(error).hasMessage("callback bug"));
        assertThat(reports).containsExactly(2L);
    }

    @Test
    void intervalReportsAfterTheWriteAndSyncsWithinTheInterval() throws Exception {
        ReplicaLog log = open("replica");
        List<Long> reports = new CopyOnWriteArrayList<>();
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.INTERVAL, 20, errors::add)) {
            for (int i = 0; i < 20; i++) {
                writer.submit(log, entries(1 + i * 2L, 2), reports::add);
            }
            await().atMost(Duration.ofSeconds(5)).until(() -> reports.size() == 20);
            // With no further submissions the idle thread still forces the log once the interval is up.
            await().atMost(Duration.ofSeconds(5)).until(() -> log.syncedIndex() == 40);
        }
        assertThat(errors).isEmpty();
        assertThat(reports).isSorted().endsWith(40L);
    }

    @Test
    void noneReportsAfterTheWriteWithoutForcing() throws Exception {
        ReplicaLog log = open("replica");
        List<Long> reports = new CopyOnWriteArrayList<>();
        try (GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.NONE, 0, errors::add)) {
            writer.submit(log, entries(1, 3), reports::add);
            writer.submit(log, entries(4, 3), reports::add);
            await().atMost(Duration.ofSeconds(5)).until(() -> reports.size() == 2);
            assertThat(log.syncedIndex()).isZero();
        }
        assertThat(reports).containsExactly(3L, 6L);
        assertThat(log.lastIndex()).isEqualTo(6);
        assertThat(log.syncedIndex()).isZero();
    }

    @Test
    void submissionsAfterCloseAreRefused() throws Exception {
        ReplicaLog log = open("replica");
        GroupCommitWriter writer = new GroupCommitWriter(FsyncPolicy.ALWAYS, 0, errors::add);
        writer.close();
        writer.close();
        assertThatThrownBy(() -> writer.submit(log, entries(1, 1), index -> {}))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        assertThatThrownBy(() -> writer.submit(log, List.of(), index -> {})).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theIntervalPolicyNeedsAnInterval() {
        assertThatThrownBy(() -> new GroupCommitWriter(FsyncPolicy.INTERVAL, 0, errors::add))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("intervalMs");
    }

    private ReplicaLog open(String name) throws IOException {
        ReplicaLog log = ReplicaLog.open(temporary.resolve(name), SEGMENT_BYTES);
        openLogs.add(log);
        return log;
    }

    private static List<Entry> entries(long firstIndex, int count) {
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            entries.add(new Entry(firstIndex + i, new byte[] {(byte) (firstIndex + i)}));
        }
        return entries;
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A log shared by several submitter threads. Like a replica, they assign indexes and submit in
     * one step under a lock, so submission order is index order and reports must follow it.
     */
    private static final class LogUnderTest {

        final ReplicaLog log;
        final List<byte[]> records = new ArrayList<>();
        final List<Long> submittedLastIndexes = new ArrayList<>();
        /** Touched only on the disk thread, read after it has stopped. */
        final List<Long> reported = Collections.synchronizedList(new ArrayList<>());
        volatile int reportedBeforeDurable;

        LogUnderTest(ReplicaLog log) {
            this.log = log;
        }

        synchronized void submitNext(GroupCommitWriter writer, Random random) {
            int count = 1 + random.nextInt(3);
            List<Entry> entries = new ArrayList<>(count);
            for (int i = 0; i < count; i++) {
                byte[] record = StorageTestFiles.randomBytes(random, random.nextInt(200));
                records.add(record);
                entries.add(new Entry(records.size(), record));
            }
            long lastIndex = records.size();
            submittedLastIndexes.add(lastIndex);
            writer.submit(log, entries, index -> {
                if (log.syncedIndex() < index) {
                    reportedBeforeDurable++;
                }
                reported.add(index);
            });
        }
    }
}
