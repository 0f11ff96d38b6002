package io.pairstep.runtime.artifact;

import io.pairstep.core.control.ServiceSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.function.Consumer;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;

/**
 * The jars this node holds, in {@code DATA/artifacts/DIGEST.jar}, each named by the SHA-256 of its
 * bytes. A jar enters only through {@link #put}, which checks the digest of the bytes as they arrive
 * and that they are a jar, before the file appears under its name; {@link #verified} checks the
 * digest again before a class loader is made from it, so a file damaged on disk is never run.
 */
public final class ArtifactStore {

    /** The largest jar accepted: far above a service's few MB, far below what would hurt a node. */
    public static final long ARTIFACT_BYTES_MAX = 64L * 1024 * 1024;

    /** Why a jar was refused; {@code status} and {@code code} are the HTTP answer. */
    public static final class Refused extends RuntimeException {
        private final int status;
        private final String code;

        public Refused(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }

        public int status() {
            return status;
        }

        public String code() {
            return code;
        }
    }

    private final Path directory;

    public ArtifactStore(Path directory) {
        this.directory = directory;
    }

    public Path directory() {
        return directory;
    }

    /** Where the jar of {@code digest} is, whether or not it is there. */
    public Path path(String digest) {
        if (!ServiceSpec.isDigest(digest)) {
            throw new Refused(400, "BAD_REQUEST", "\"" + digest + "\" is not a SHA-256 digest (64 lower-case hex digits)");
        }
        return directory.resolve(digest + ".jar");
    }

    public boolean has(String digest) {
        return Files.isRegularFile(path(digest));
    }

    /**
     * Stores the jar read from {@code in} and returns its digest. Refused, leaving nothing behind:
     * more than {@link #ARTIFACT_BYTES_MAX} bytes, a digest other than {@code expectedDigest} (when
     * not null), bytes that are not a jar, or a jar that {@code validate} refuses by throwing
     * IllegalArgumentException (it receives the verified file before it is published).
     */
    public String put(InputStream in, String expectedDigest, Consumer<Path> validate) {
        if (expectedDigest != null && !ServiceSpec.isDigest(expectedDigest)) {
            throw new Refused(400, "BAD_REQUEST", "\"" + expectedDigest + "\" is not a SHA-256 digest (64 lower-case hex digits)");
        }
        Path temporary = null;
        try {
            Files.createDirectories(directory);
            // Not named *.jar, so that a half-written upload is never taken for an artifact.
            temporary = Files.createTempFile(directory, "upload-", ".part");
            String digest = copy(in, temporary);
            if (expectedDigest != null && !expectedDigest.equals(digest)) {
                throw new Refused(400, "DIGEST_MISMATCH", "the jar arrived with SHA-256 " + digest + ", not the expected "
                        + expectedDigest + "; it was damaged on the way and is not stored");
            }
            checkJar(temporary);
            try {
                validate.accept(temporary);
            } catch (IllegalArgumentException e) {
                throw new Refused(400, "BAD_REQUEST", e.getMessage());
            }
            Files.move(temporary, path(digest), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temporary = null;
            return digest;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store a jar in " + directory + ": " + e.getMessage(), e);
        } finally {
            if (temporary != null) {
                try {
                    Files.deleteIfExists(temporary);
                } catch (IOException e) {
                    // A stray .part file is never read; the next put may leave the directory cleaner.
                }
            }
        }
    }

    /** Copies to {@code file} with fsync, refusing more than the limit; returns the SHA-256 of the bytes. */
    private static String copy(InputStream in, Path file) throws IOException {
        MessageDigest sha256 = sha256();
        long total = 0;
        try (DigestInputStream digesting = new DigestInputStream(in, sha256);
                OutputStream out = Files.newOutputStream(file, StandardOpenOption.WRITE, StandardOpenOption.SYNC)) {
            byte[] buffer = new byte[65536];
            for (int read; (read = digesting.read(buffer)) > 0; ) {
                total += read;
                if (total > ARTIFACT_BYTES_MAX) {
                    throw new Refused(413, "TOO_LARGE", "the jar is over the limit of " + ARTIFACT_BYTES_MAX + " bytes");
                }
                out.write(buffer, 0, read);
            }
        }
        if (total == 0) {
            throw new Refused(400, "BAD_REQUEST", "the jar is empty");
        }
        return HexFormat.of().formatHex(sha256.digest());
    }

    /** A jar is a readable zip file with at least one class in it. */
    private static void checkJar(Path file) {
        try (JarFile jar = new JarFile(file.toFile(), true)) {
            for (Enumeration<? extends ZipEntry> entries = jar.entries(); entries.hasMoreElements(); ) {
                if (entries.nextElement().getName().endsWith(".class")) {
                    return;
                }
            }
            throw new Refused(400, "BAD_REQUEST", "not a jar of a service: it holds no .class file");
        } catch (ZipException e) {
            throw new Refused(400, "BAD_REQUEST", "not a jar (zip) file: " + e.getMessage());
        } catch (IOException | SecurityException e) {
            throw new Refused(400, "BAD_REQUEST", "not a readable jar: " + e.getMessage());
        }
    }

    /**
     * The jar of {@code digest}, after checking that its bytes still have that digest. A file that
     * does not is deleted (so that it is fetched again) and refused loudly.
     */
    public Path verified(String digest) {
        Path file = path(digest);
        String actual;
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest sha256 = sha256();
            byte[] buffer = new byte[65536];
            for (int read; (read = in.read(buffer)) > 0; ) {
                sha256.update(buffer, 0, read);
            }
            actual = HexFormat.of().formatHex(sha256.digest());
        } catch (IOException e) {
            throw new Refused(404, "UNKNOWN_ARTIFACT", "this node does not hold artifact sha256:" + digest);
        }
        if (!actual.equals(digest)) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // Still refused below; the next verification tries again.
            }
            throw new Refused(500, "DIGEST_MISMATCH", "artifact file " + file + " has SHA-256 " + actual
                    + ": damaged on disk, deleted and refused");
        }
        return file;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM has no SHA-256", e);
        }
    }

    /** The SHA-256 of some bytes, in lower-case hex. */
    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(sha256().digest(bytes));
    }
}
