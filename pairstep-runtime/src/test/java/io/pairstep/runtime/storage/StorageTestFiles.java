package io.pairstep.runtime.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

/** File-level helpers that let tests damage a replica directory the way crashes and bad disks do. */
final class StorageTestFiles {

    private StorageTestFiles() {}

    /** Returns the segment files in index order. */
    static List<Path> segments(Path directory) throws IOException {
        return StorageFiles.listSegments(directory).stream().map(StorageFiles.IndexedFile::path).toList();
    }

    static Path lastSegment(Path directory) throws IOException {
        return segments(directory).getLast();
    }

    /** Returns the snapshot files in index order. */
    static List<Path> snapshotFiles(Path directory) throws IOException {
        return StorageFiles.listSnapshotFiles(directory, StorageFiles.SNAPSHOT_PREFIX).stream()
                .map(StorageFiles.IndexedFile::path).toList();
    }

    static void flipByte(Path file, long offset) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer one = ByteBuffer.allocate(1);
            channel.read(one, offset);
            one.flip();
            byte flipped = (byte) (one.get(0) ^ 0xFF);
            channel.write(ByteBuffer.wrap(new byte[] {flipped}), offset);
        }
    }

    static void truncate(Path file, long sizeBytes) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(sizeBytes);
        }
    }

    static void appendBytes(Path file, byte[] bytes) throws IOException {
        Files.write(file, bytes, StandardOpenOption.APPEND);
    }

    /** Copies the files of a flat directory into a new directory. */
    static void copyDirectory(Path source, Path target) throws IOException {
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(source)) {
            files.forEach(file -> {
                try {
                    Files.copy(file, target.resolve(file.getFileName()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    static byte[] randomBytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    /** Reads a whole range into a list, index by index. */
    static List<byte[]> readAll(ReplicaLog log, long fromIndex, long toIndexInclusive) throws IOException {
        List<byte[]> records = new ArrayList<>();
        long[] expected = {fromIndex};
        log.read(fromIndex, toIndexInclusive, (index, record) -> {
            if (index != expected[0]) {
                throw new AssertionError("read delivered index " + index + " where " + expected[0] + " was expected");
            }
            expected[0]++;
            records.add(record);
        });
        return records;
    }
}
