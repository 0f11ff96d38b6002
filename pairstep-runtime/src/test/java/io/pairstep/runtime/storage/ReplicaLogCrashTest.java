package io.pairstep.runtime.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Appends random records, crashes without a clean shutdown, damages what a crash may damage, and
 * checks that recovery returns a prefix of what was written that holds at least everything synced.
 *
 * <p>The crash model follows the log's guarantees: a segment is forced, name included, before the
 * next one is created, so only the last segment is at risk, and only beyond what the last sync (or
 * open) forced. Beyond that point its bytes may be cut, flipped or followed by garbage, and if it
 * was created after the last sync its name may be lost altogether.
 *
 * <p>The seed is printed; rerun a failure with {@code -Dpairstep.seed=<seed>}.
 */
class ReplicaLogCrashTest {

    private static final int DIRECTORIES = 6;
    private static final int CRASHES_PER_DIRECTORY = 6;

    @TempDir
    Path temporary;

    @Test
    void recoveryReturnsAPrefixHoldingEverythingSynced() throws IOException {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("ReplicaLogCrashTest seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        Random random = new Random(seed);
        for (int directoryNumber = 0; directoryNumber < DIRECTORIES; directoryNumber++) {
            new Scenario(temporary.resolve("replica-" + directoryNumber), random, seed).run();
        }
    }

    /** One replica directory going through several crashes, checked against what was written. */
    private static final class Scenario {

        private final Path directory;
        private final Random random;
        private final long seed;
        private final long segmentSizeBytes;
        /** Every record written and not lost, at position index - 1. */
        private final List<byte[]> written = new ArrayList<>();
        /** Sizes of the files as of the last sync: the bytes that are on stable storage. */
        private final Map<Path, Long> durableSizes = new HashMap<>();
        private long durableIndex;

        Scenario(Path directory, Random random, long seed) {
            this.directory = directory;
            this.random = random;
            this.seed = seed;
            this.segmentSizeBytes = 300 + random.nextInt(3000);
        }

        void run() throws IOException {
            for (int crash = 0; crash < CRASHES_PER_DIRECTORY; crash++) {
                try (ReplicaLog log = ReplicaLog.open(directory, segmentSizeBytes)) {
                    checkRecovered(log, crash);
                    recordDurableState(log);
                    workUntilCrash(log);
                    log.closeWithoutSync();
                }
                damageUnsyncedTail();
            }
        }

        private void checkRecovered(ReplicaLog log, int crash) throws IOException {
            String context = "seed " + seed + ", " + directory.getFileName() + ", after crash " + crash;
            long lastIndex = log.lastIndex();
            assertThat(lastIndex).as(context + ": recovered log keeps everything synced").isGreaterThanOrEqualTo(durableIndex);
            assertThat(lastIndex).as(context + ": recovered log invents no records").isLessThanOrEqualTo(written.size());
            assertThat(log.firstIndex()).as(context + ": log reaches back to the snapshot")
                    .isLessThanOrEqualTo(log.snapshotIndex() + 1);
            log.read(log.firstIndex(), lastIndex, (index, record) -> {
                if (!Arrays.equals(record, written.get((int) index - 1))) {
                    throw new AssertionError(context + ": record " + index + " differs from what was written");
                }
            });
            // Whatever was lost is gone for good; the next appends reuse those indexes.
            written.subList((int) lastIndex, written.size()).clear();
        }

        private void workUntilCrash(ReplicaLog log) throws IOException {
            int operations = 5 + random.nextInt(60);
            for (int operation = 0; operation < operations; operation++) {
                int choice = random.nextInt(100);
                if (choice < 85) {
                    byte[] record = StorageTestFiles.randomBytes(random, random.nextInt(10) == 0 ? random.nextInt(3000) : random.nextInt(120));
                    log.append(written.size() + 1, record);
                    written.add(record);
                } else if (choice < 97) {
                    log.sync();
                    recordDurableState(log);
                } else if (log.lastIndex() > log.snapshotIndex()) {
                    long index = log.snapshotIndex() + 1 + random.nextLong(log.lastIndex() - log.snapshotIndex());
                    log.saveSnapshot(index, StorageTestFiles.randomBytes(random, random.nextInt(50)));
                    recordDurableState(log);
                }
            }
        }

        private void recordDurableState(ReplicaLog log) throws IOException {
            durableIndex = log.syncedIndex();
            durableSizes.clear();
            for (Path segment : StorageTestFiles.segments(directory)) {
                durableSizes.put(segment, Files.size(segment));
            }
        }

        private void damageUnsyncedTail() throws IOException {
            List<Path> segments = StorageTestFiles.segments(directory);
            if (segments.isEmpty()) {
                return;
            }
            Path last = segments.getLast();
            Long durableSize = durableSizes.get(last);
            long sizeBytes = Files.size(last);
            if (durableSize == null && random.nextInt(4) == 0) {
                // The file was created after the last sync, so its name may not have survived.
                Files.delete(last);
                return;
            }
            long safeBytes = durableSize == null ? 0 : durableSize;
            long atRisk = sizeBytes - safeBytes;
            switch (random.nextInt(4)) {
                case 0 -> {
                    if (atRisk > 0) {
                        StorageTestFiles.truncate(last, safeBytes + random.nextLong(atRisk));
                    }
                }
                case 1 -> {
                    if (atRisk > 0) {
                        StorageTestFiles.flipByte(last, safeBytes + random.nextLong(atRisk));
                    }
                }
                case 2 -> StorageTestFiles.appendBytes(last, StorageTestFiles.randomBytes(random, 1 + random.nextInt(40)));
                default -> {
                    // Sometimes the crash loses nothing at all.
                }
            }
        }
    }
}
