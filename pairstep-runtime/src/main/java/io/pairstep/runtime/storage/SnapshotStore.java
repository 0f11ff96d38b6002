package io.pairstep.runtime.storage;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The snapshot files of one replica directory.
 *
 * <p>A snapshot file is {@code snapshot-<index>.snap} holding
 * {@code [magic int][index long][length int][crc32c int]} followed by the data; the checksum covers
 * the index and the data. Files are always written to a temporary name, forced and renamed, so a
 * reader sees either a whole snapshot or none.
 *
 * <p>A reset is written first as {@code reset-<index>.snap}. Its rename is the commit point: once
 * it exists, the old log and snapshots are dead, and recovery finishes the reset if a crash
 * interrupted it. That keeps a crash from ever mixing the old log with the new snapshot.
 */
final class SnapshotStore {

    /** "PSNP", so that a stray file is not mistaken for a snapshot. */
    private static final int MAGIC = 0x50534E50;
    private static final int HEADER_BYTES = Integer.BYTES + Long.BYTES + Integer.BYTES + Integer.BYTES;
    /**
     * The most bytes moved by one channel call. A channel copies a heap buffer through a temporary
     * direct buffer of the same size, and keeps it, so whole large snapshots are never passed at once.
     */
    private static final int IO_CHUNK_BYTES = 256 * 1024;

    private final Path directory;
    private final CRC32C crc = new CRC32C();

    SnapshotStore(Path directory) {
        this.directory = directory;
    }

    /**
     * Returns the newest snapshot file that verifies, skipping damaged newer ones, or null if there
     * is none. Only the header and checksum matter here; the data is read again when asked for.
     */
    StorageFiles.IndexedFile newestValid() throws IOException {
        List<StorageFiles.IndexedFile> files = StorageFiles.listSnapshotFiles(directory, StorageFiles.SNAPSHOT_PREFIX);
        for (int i = files.size() - 1; i >= 0; i--) {
            StorageFiles.IndexedFile file = files.get(i);
            try {
                read(file);
                return file;
            } catch (LogCorruptedException damaged) {
                // A damaged snapshot is never used; the next older one is the fallback.
            }
        }
        return null;
    }

    /** Reads and verifies a snapshot file. */
    Snapshot read(StorageFiles.IndexedFile file) throws IOException {
        Path path = file.path();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long fileBytes = channel.size();
            if (fileBytes < HEADER_BYTES) {
                throw LogCorruptedException.at(path, 0, "snapshot file of " + fileBytes + " bytes is shorter than its header");
            }
            ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
            readFully(channel, header, 0);
            header.flip();
            int magic = header.getInt();
            long index = header.getLong();
            int length = header.getInt();
            int storedChecksum = header.getInt();
            if (magic != MAGIC) {
                throw LogCorruptedException.at(path, 0, "not a snapshot file (bad magic number)");
            }
            if (index != file.index()) {
                throw LogCorruptedException.at(path, Integer.BYTES, "header says index " + index + " but the name says " + file.index());
            }
            if (length < 0 || HEADER_BYTES + (long) length != fileBytes) {
                throw LogCorruptedException.at(path, Integer.BYTES + Long.BYTES,
                        "header says " + length + " data bytes but the file holds " + (fileBytes - HEADER_BYTES));
            }
            byte[] data = new byte[length];
            for (int done = 0; done < length; done += IO_CHUNK_BYTES) {
                readFully(channel, ByteBuffer.wrap(data, done, Math.min(IO_CHUNK_BYTES, length - done)), HEADER_BYTES + done);
            }
            if (RecordFormat.checksum(crc, index, data) != storedChecksum) {
                throw LogCorruptedException.at(path, HEADER_BYTES, "snapshot data fails its checksum");
            }
            return new Snapshot(index, data);
        }
    }

    /**
     * Durably writes {@code snapshot-<index>.snap}, then deletes every other snapshot file except
     * one fallback, kept should the new file ever fail to verify.
     *
     * @param previous the snapshot in force until now, or null; it becomes the fallback because it
     *     is known to verify, unlike files that recovery skipped as damaged
     */
    StorageFiles.IndexedFile save(long index, byte[] data, StorageFiles.IndexedFile previous) throws IOException {
        Path target = directory.resolve(StorageFiles.snapshotFileName(index));
        writeAtomically(target, index, data);
        List<StorageFiles.IndexedFile> files = StorageFiles.listSnapshotFiles(directory, StorageFiles.SNAPSHOT_PREFIX);
        long fallbackIndex = -1;
        if (previous != null && previous.index() < index) {
            fallbackIndex = previous.index();
        } else {
            // Saving again at the same index keeps the fallback that was already there.
            for (StorageFiles.IndexedFile file : files) {
                if (file.index() < index) {
                    fallbackIndex = file.index();
                }
            }
        }
        for (StorageFiles.IndexedFile file : files) {
            if (file.index() != index && file.index() != fallbackIndex) {
                Files.deleteIfExists(file.path());
            }
        }
        return new StorageFiles.IndexedFile(target, index);
    }

    /** Durably writes the reset file; when this returns, the reset is committed. */
    StorageFiles.IndexedFile writeReset(long index, byte[] data) throws IOException {
        Path target = directory.resolve(StorageFiles.resetFileName(index));
        writeAtomically(target, index, data);
        return new StorageFiles.IndexedFile(target, index);
    }

    /**
     * Returns the committed reset that a crash interrupted, or null if there is none.
     *
     * @throws LogCorruptedException when the reset file is damaged: the old state may already be
     *     partly deleted, so neither the old nor the new state can be trusted
     */
    StorageFiles.IndexedFile pendingReset() throws IOException {
        List<StorageFiles.IndexedFile> files = StorageFiles.listSnapshotFiles(directory, StorageFiles.RESET_PREFIX);
        if (files.isEmpty()) {
            return null;
        }
        if (files.size() > 1) {
            throw new LogCorruptedException(directory + " holds " + files.size() + " reset files; at most one can be pending");
        }
        StorageFiles.IndexedFile file = files.getFirst();
        read(file);
        return file;
    }

    /**
     * Finishes a committed reset: deletes every segment and snapshot file, then renames the reset
     * file into the only snapshot. Safe to repeat after a crash at any point. Segment channels must
     * be closed by the caller first.
     */
    StorageFiles.IndexedFile completeReset(StorageFiles.IndexedFile resetFile) throws IOException {
        for (StorageFiles.IndexedFile segment : StorageFiles.listSegments(directory)) {
            Files.deleteIfExists(segment.path());
        }
        for (StorageFiles.IndexedFile snapshot : StorageFiles.listSnapshotFiles(directory, StorageFiles.SNAPSHOT_PREFIX)) {
            Files.deleteIfExists(snapshot.path());
        }
        Path target = directory.resolve(StorageFiles.snapshotFileName(resetFile.index()));
        Files.move(resetFile.path(), target, StandardCopyOption.ATOMIC_MOVE);
        StorageFiles.syncDirectory(directory);
        return new StorageFiles.IndexedFile(target, resetFile.index());
    }

    private void writeAtomically(Path target, long index, byte[] data) throws IOException {
        Path temporary = target.resolveSibling(target.getFileName() + StorageFiles.TEMPORARY_SUFFIX);
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES)
                .putInt(MAGIC)
                .putLong(index)
                .putInt(data.length)
                .putInt(RecordFormat.checksum(crc, index, data))
                .flip();
        try (FileChannel channel = FileChannel.open(temporary,
                StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            writeFully(channel, header);
            for (int done = 0; done < data.length; done += IO_CHUNK_BYTES) {
                writeFully(channel, ByteBuffer.wrap(data, done, Math.min(IO_CHUNK_BYTES, data.length - done)));
            }
            channel.force(true);
        }
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        StorageFiles.syncDirectory(directory);
    }

    private static void writeFully(FileChannel channel, ByteBuffer source) throws IOException {
        while (source.hasRemaining()) {
            channel.write(source);
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer target, long position) throws IOException {
        long offset = position;
        while (target.hasRemaining()) {
            int read = channel.read(target, offset);
            if (read < 0) {
                throw new EOFException("snapshot file ended early at offset " + offset);
            }
            offset += read;
        }
    }
}
