package io.pairstep.runtime.access;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The secret that opens a system's admin API, console and fault injection. One token per system:
 * made once, when the system is first started, and then given to every node, which keeps it in its
 * data directory as {@value #FILE_NAME}, readable by its owner only.
 */
public final class AccessToken {

    /** The token's file name, in a node's data directory and in a local system's directory. */
    public static final String FILE_NAME = "token";
    /** What the token file's permissions must be: its owner only (0600). */
    public static final Set<PosixFilePermission> OWNER_ONLY = EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    /** 32 random bytes, so that guessing is hopeless; base64url makes them safe in headers and cookies. */
    private static final int RANDOM_BYTES = 32;
    /** A token a person chose must still be long enough not to be guessed. */
    static final int LENGTH_MIN = 16;
    static final int LENGTH_MAX = 512;
    /** The characters of a bearer token (RFC 6750's b64token), which also need no quoting in a cookie. */
    private static final Pattern CHARACTERS = Pattern.compile("[A-Za-z0-9._~+/-]+=*");

    private final String text;

    private AccessToken(String text) {
        this.text = text;
    }

    /** A new random token. */
    public static AccessToken generate() {
        byte[] bytes = new byte[RANDOM_BYTES];
        new SecureRandom().nextBytes(bytes);
        return new AccessToken(Base64.getUrlEncoder().withoutPadding().encodeToString(bytes));
    }

    /** A token given as text (an environment variable, a file's contents); throws saying what is wrong with it. */
    public static AccessToken of(String text, String source) {
        String token = text == null ? "" : text.strip();
        String problem = problem(token);
        if (problem != null) {
            throw new IllegalArgumentException(source + ": " + problem);
        }
        return new AccessToken(token);
    }

    /** Why a text cannot be a token, or null when it can. */
    static String problem(String token) {
        if (token.isEmpty()) {
            return "the token is empty";
        }
        if (token.length() < LENGTH_MIN || token.length() > LENGTH_MAX) {
            return "a token has " + LENGTH_MIN + " to " + LENGTH_MAX + " characters, this one has " + token.length();
        }
        if (!CHARACTERS.matcher(token).matches()) {
            return "a token is letters, digits and . _ ~ + / - (with = at the end only)";
        }
        return null;
    }

    /** Reads a token file; throws with a message naming the file when it is missing, unreadable or wrong. */
    public static AccessToken read(Path file) {
        try {
            return of(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the token file " + file, e);
        }
    }

    /**
     * Writes this token to a new file that only its owner can read and write. The file is created
     * with those permissions, so the token is never readable by others, not even for a moment.
     * Throws if the file exists: a system's token is never replaced by accident.
     */
    public void writeNew(Path file) {
        Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.deleteIfExists(temporary);
            Files.createFile(temporary, PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            Files.writeString(temporary, text + "\n", StandardCharsets.UTF_8);
            if (Files.exists(file)) {
                throw new FileAlreadyExistsException(file.toString());
            }
            Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the token file " + file, e);
        } finally {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException e) {
                // Nothing secret is lost: the temporary file is readable by its owner only.
            }
        }
    }

    /**
     * The token a node runs with. The one in its data directory wins: the node belongs to that
     * system. On a node's first start it is the token of {@code given} (the system's token file,
     * from {@code pairstep cluster start} or the operator), copied into the data directory; a node
     * given none makes a new token, for a new system of its own.
     *
     * @param given the system's token file, or null
     * @throws IllegalArgumentException when the given token is not the one the data directory holds,
     *     or a token file is unreadable, wrong, or readable by others
     */
    public static AccessToken forNode(Path dataDirectory, Path given) {
        Path stored = dataDirectory.resolve(FILE_NAME);
        AccessToken offered = null;
        if (given != null) {
            requireOwnerOnly(given);
            offered = read(given);
        }
        if (Files.exists(stored)) {
            requireOwnerOnly(stored);
            AccessToken token = read(stored);
            if (offered != null && !offered.matches(token.text)) {
                throw new IllegalArgumentException("the token in " + given + " is not the token of this node's system ("
                        + stored + "); give the system's token file, or use an empty data directory for a new system");
            }
            return token;
        }
        AccessToken token = offered != null ? offered : generate();
        token.writeNew(stored);
        return token;
    }

    /** Throws when a token file can be read by anyone but its owner (as ssh does for keys). */
    public static void requireOwnerOnly(Path file) {
        try {
            Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(file);
            if (!OWNER_ONLY.containsAll(permissions)) {
                throw new IllegalArgumentException(file + " has permissions " + PosixFilePermissions.toString(permissions)
                        + "; a token file must be readable by its owner only (chmod 600 " + file + ")");
            }
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        } catch (UnsupportedOperationException e) {
            // Not a POSIX file system: there are no such permissions to check.
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the permissions of " + file, e);
        }
    }

    /** True when {@code presented} is this token; takes the same time wherever the two differ. */
    public boolean matches(String presented) {
        if (presented == null) {
            return false;
        }
        return MessageDigest.isEqual(text.getBytes(StandardCharsets.UTF_8), presented.getBytes(StandardCharsets.UTF_8));
    }

    /** The token itself, for an {@code Authorization: Bearer} header. Never log it. */
    public String text() {
        return text;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof AccessToken token && matches(token.text);
    }

    @Override
    public int hashCode() {
        return Objects.hash(text);
    }

    /** Never the secret itself, so that a token in a log line or an exception gives nothing away. */
    @Override
    public String toString() {
        return "AccessToken[****]";
    }
}
