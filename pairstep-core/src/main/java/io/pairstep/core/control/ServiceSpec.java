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
 *     jar:/absolute/path.jar} for a jar
 * @param artifactDigest SHA-256 of the jar in hex; empty for examples
 * @param className the service class inside the jar; empty for examples
 */
public record ServiceSpec(
        String name, long version, Mode mode, int partitions, String artifact, String artifactDigest, String className) {

    /** The most partitions one service may have. */
    public static final int PARTITIONS_MAX = 1024;

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,62}");

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
        if (artifact == null || !(artifact.startsWith("example:") || artifact.startsWith("jar:"))) {
            return "artifact must be example:NAME or jar:PATH, was \"" + artifact + "\"";
        }
        if (artifact.startsWith("jar:") && (className == null || className.isEmpty())) {
            return "a jar artifact needs a class name";
        }
        return null;
    }
}
