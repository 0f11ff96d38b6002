package io.pairstep.avail.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Keeps the configuration of one file current. The caller drives it with {@link #tick()}, for
 * instance from the node's monitor loop, so it starts no thread and tests decide when it looks.
 *
 * <p>A tick re-reads the file when its modification time or size changed. A good file replaces the
 * configuration; a bad one is reported once, with every wrong entry named, and the last good
 * configuration stays in force. Until a good file has been read (or while there is no file) the
 * configuration is {@link AvailabilityConfig#EMPTY}.
 */
public final class ConfigReloader {

    private record Stamp(long modifiedMillis, long sizeBytes) {}

    private static final Stamp ABSENT = new Stamp(-1, -1);
    private static final Stamp UNREADABLE = new Stamp(-2, -2);

    private final Path file;
    private final Consumer<String> problems;
    private AvailabilityConfig current = AvailabilityConfig.EMPTY;
    private Stamp seen;

    /**
     * @param file the configuration file; it may not exist yet
     * @param problems receives a message for every file that was refused or could not be read
     */
    public ConfigReloader(Path file, Consumer<String> problems) {
        this.file = file;
        this.problems = problems;
    }

    /** The configuration in force: the last good one read. */
    public AvailabilityConfig current() {
        return current;
    }

    /**
     * Looks at the file and re-reads it if it changed.
     *
     * @return true if a new configuration was taken, which may be {@link AvailabilityConfig#EMPTY}
     *     when the file was removed
     */
    public boolean tick() {
        Stamp stamp = stamp();
        if (Objects.equals(stamp, seen)) {
            return false;
        }
        boolean first = seen == null;
        seen = stamp;
        if (stamp == UNREADABLE) {
            problems.accept(file + ": cannot read its attributes (keeping the current configuration)");
            return false;
        }
        if (stamp == ABSENT) {
            if (!first) {
                problems.accept(file + ": removed; running with no thresholds and no alert actions");
            }
            return replace(AvailabilityConfig.EMPTY);
        }
        try {
            return replace(ConfigParser.read(file));
        } catch (ConfigException e) {
            problems.accept(e.getMessage() + " (keeping the " + (first ? "empty" : "last good") + " configuration)");
            return false;
        }
    }

    private boolean replace(AvailabilityConfig config) {
        if (config.equals(current)) {
            return false;
        }
        current = config;
        return true;
    }

    private Stamp stamp() {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
            return new Stamp(attributes.lastModifiedTime().toMillis(), attributes.size());
        } catch (NoSuchFileException e) {
            return ABSENT;
        } catch (IOException e) {
            return UNREADABLE;
        }
    }
}
