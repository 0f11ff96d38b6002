package io.pairstep.core.control;

import io.pairstep.core.Mode;
import java.util.regex.Pattern;

/**
 * A deployed service.
 *
 * @param name service name, such as {@code kv}
 * @param version raised by each upgrade, from 1
 * @param mode how each partition is protected
 * @param partitions number of partitions, from 1
 * @param artifact where the code comes from: {@code example:kv} for a bundled example, or {@code
 *     sha256:HEX} for an uploaded jar, named by its content so that every node runs the same bytes
 * @param artifactDigest SHA-256 of the jar in lower-case hex (the HEX of {@code sha256:HEX}); empty
 *     for examples
 * @param className the service class inside the jar; empty for examples
 * @param digestEveryEntries for {@code dmr} and {@code tmr}: the members compare a digest of their
 *     state at every log index that is a multiple of this, so that a corruption no output shows yet
 *     is caught within that many commands; 0 means {@link #DIGEST_EVERY_DEFAULT} (and is all that
 *     {@code pair} and {@code none} take, having no second member to compare with)
 */
public record ServiceSpec(
        String name, long version, Mode mode, int partitions, String artifact, String artifactDigest, String className,
        long digestEveryEntries) {

    /**
     * How often lockstep members compare state digests when the deploy does not say: every 64
     * commands, which is a few milliseconds of load, so that a silently corrupted member is caught
     * well within a second, for the price of hashing the state once per 64 commands.
     */
    public static final long DIGEST_EVERY_DEFAULT = 64;
    /** The largest digest interval a deploy may ask for: beyond it corruption would hide for too long. */
    public static final long DIGEST_EVERY_MAX = 1_000_000;

    /** A spec with the default digest interval. */
    public ServiceSpec(String name, long version, Mode mode, int partitions, String artifact, String artifactDigest,
            String className) {
        this(name, version, mode, partitions, artifact, artifactDigest, className, 0);
    }

    /** The digest interval the members use: {@link #digestEveryEntries} or, when 0, the default. */
    public long digestEvery() {
        return digestEveryEntries == 0 ? DIGEST_EVERY_DEFAULT : digestEveryEntries;
    }

    /** The same service at {@code newVersion} from another artifact, with everything else kept. */
    public ServiceSpec upgradedTo(long newVersion, String newArtifact, String newArtifactDigest, String newClassName) {
        return new ServiceSpec(name, newVersion, mode, partitions, newArtifact, newArtifactDigest, newClassName, digestEveryEntries);
    }

    /** The most partitions one service may have. */
    public static final int PARTITIONS_MAX = 1024;

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,62}");
    private static final Pattern DIGEST = Pattern.compile("[0-9a-f]{64}");

    /** The prefix of an artifact named by its content. */
    public static final String SHA256_PREFIX = "sha256:";

    /** True when {@code text} is a SHA-256 digest in lower-case hex. */
    public static boolean isDigest(String text) {
        return text != null && DIGEST.matcher(text).matches();
    }

    /** The digest of an uploaded jar, or null for a bundled example. */
    public String jarDigest() {
        return artifact != null && artifact.startsWith(SHA256_PREFIX) ? artifact.substring(SHA256_PREFIX.length()) : null;
    }

    /** Returns why this spec cannot be deployed, or null when it can. */
    public String problem() {
        if (name == null || !NAME.matcher(name).matches()) {
            return "invalid service name \"" + name + "\": use 1 to 63 lower-case letters, digits, '-' or '_', starting with a letter";
        }
        if (partitions < 1 || partitions > PARTITIONS_MAX) {
            return "partitions must be between 1 and " + PARTITIONS_MAX + ", was " + partitions;
        }
        if (mode == null) {
            return "mode is missing";
        }
        if (digestEveryEntries < 0 || digestEveryEntries > DIGEST_EVERY_MAX) {
            return "the digest interval must be between 1 and " + DIGEST_EVERY_MAX + " commands, was " + digestEveryEntries;
        }
        if (digestEveryEntries != 0 && !mode.lockstep()) {
            return "a digest interval applies to dmr and tmr only (their members compare state digests); mode " + mode.label()
                    + " has no second member to compare with";
        }
        if (artifact == null || !(artifact.startsWith("example:") || artifact.startsWith(SHA256_PREFIX))) {
            return "artifact must be example:NAME or sha256:DIGEST, was \"" + artifact + "\"";
        }
        String digest = jarDigest();
        if (digest != null && (!isDigest(digest) || !digest.equals(artifactDigest))) {
            return "artifact " + artifact + " must name a SHA-256 digest in lower-case hex, equal to artifactDigest \""
                    + artifactDigest + "\"";
        }
        if (digest != null && (className == null || className.isEmpty())) {
            return "a jar artifact needs a class name";
        }
        return null;
    }
}
