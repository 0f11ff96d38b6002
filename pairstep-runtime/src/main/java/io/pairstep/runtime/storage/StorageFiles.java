package io.pairstep.runtime.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** File naming and directory-level durability shared by segments and snapshots. */
final class StorageFiles {

    static final String SEGMENT_SUFFIX = ".log";
    static final String SNAPSHOT_PREFIX = "snapshot-";
    static final String RESET_PREFIX = "reset-";
    static final String SNAPSHOT_SUFFIX = ".snap";
    static final String TEMPORARY_SUFFIX = ".tmp";
    static final String LOCK_FILE_NAME = "replica.lock";

    private static final Pattern SEGMENT_NAME = Pattern.compile("(\\d{1,20})\\.log");
    private static final boolean WINDOWS =
            System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");

    /** A file whose name carries a log index: a segment's first index or a snapshot's index. */
    record IndexedFile(Path path, long index) {}

    private StorageFiles() {}

    static String segmentFileName(long firstIndex) {
        return String.format("%020d%s", firstIndex, SEGMENT_SUFFIX);
    }

    static String snapshotFileName(long index) {
        return String.format("%s%020d%s", SNAPSHOT_PREFIX, index, SNAPSHOT_SUFFIX);
    }

    static String resetFileName(long index) {
        return String.format("%s%020d%s", RESET_PREFIX, index, SNAPSHOT_SUFFIX);
    }

    /** Lists the segments in the directory in ascending order of their first index. */
    static List<IndexedFile> listSegments(Path directory) throws IOException {
        return list(directory, SEGMENT_NAME);
    }

    /** Lists files named {@code <prefix><index>.snap} in ascending index order. */
    static List<IndexedFile> listSnapshotFiles(Path directory, String prefix) throws IOException {
        return list(directory, Pattern.compile(Pattern.quote(prefix) + "(\\d{1,20})" + Pattern.quote(SNAPSHOT_SUFFIX)));
    }

    /** Deletes temporary files left behind by a crash in the middle of an atomic write. */
    static void deleteTemporaryFiles(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                if (file.getFileName().toString().endsWith(TEMPORARY_SUFFIX)) {
                    Files.deleteIfExists(file);
                }
            }
        }
    }

    /**
     * Forces the directory itself, so that files created, renamed or deleted in it survive a machine
     * crash; forcing a file alone does not persist its name.
     */
    static void syncDirectory(Path directory) throws IOException {
        // Windows cannot open a directory as a channel, and NTFS journals names on its own.
        if (WINDOWS) {
            return;
        }
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    private static List<IndexedFile> list(Path directory, Pattern pattern) throws IOException {
        List<IndexedFile> result = new ArrayList<>();
        try (Stream<Path> files = Files.list(directory)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Matcher matcher = pattern.matcher(file.getFileName().toString());
                if (matcher.matches()) {
                    result.add(new IndexedFile(file, parseIndex(file, matcher.group(1))));
                }
            }
        }
        result.sort(Comparator.comparingLong(IndexedFile::index));
        return result;
    }

    private static long parseIndex(Path file, String digits) throws IOException {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw new LogCorruptedException(file + " has an index in its name that does not fit in a long");
        }
    }
}
