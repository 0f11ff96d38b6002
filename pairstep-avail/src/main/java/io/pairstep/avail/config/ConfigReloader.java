package io.pairstep.avail.config;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Keeps the configuration of one file current. The caller drives it with {@link #tick()}, for
 * instance from the node's monitor loop, so it starts no thread and tests decide when it looks.
 *
 * <p>A tick re-reads the file when its modification time or size changed. A good file replaces the
 * configuration; a bad one is reported once, with every wrong entry named, and the last good
 * configuration stays in force. Until a good file has been read (or while there is no file) the
 * configuration is {@link AvailabilityConfig#EMPTY}.
 *
 * <p>A file must also name only SMTP servers that answer: each e-mail action that is not already in
 * force is probed with a TCP connection (at most {@link #SMTP_PROBE_TIMEOUT_MILLIS}), and a server
 * that cannot be reached refuses the file like a wrong entry, naming the action and its host and
 * port. An e-mail action already in force is not probed again: its server going away later is a
 * delivery problem (its alerts are queued and retried), not a mistake in the file. A refused file is
 * read again once it changes, so after fixing the server, touch the file.
 */
public final class ConfigReloader {

    private record Stamp(long modifiedMillis, long sizeBytes) {}

    private static final Stamp ABSENT = new Stamp(-1, -1);
    private static final Stamp UNREADABLE = new Stamp(-2, -2);

    /** How long the probe of an SMTP server waits for its TCP connection. */
    public static final int SMTP_PROBE_TIMEOUT_MILLIS = 2_000;

    private final Path file;
    private final Consumer<String> problems;
    private final Function<ActionConfig.Email, String> smtpProbe;
    private AvailabilityConfig current = AvailabilityConfig.EMPTY;
    private Stamp seen;

    /**
     * @param file the configuration file; it may not exist yet
     * @param problems receives a message for every file that was refused or could not be read
     */
    public ConfigReloader(Path file, Consumer<String> problems) {
        this(file, problems, ConfigReloader::probeSmtp);
    }

    /**
     * @param smtpProbe says why an e-mail action's server cannot be reached, or null when it can
     */
    ConfigReloader(Path file, Consumer<String> problems, Function<ActionConfig.Email, String> smtpProbe) {
        this.file = file;
        this.problems = problems;
        this.smtpProbe = smtpProbe;
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
            AvailabilityConfig config = ConfigParser.read(file);
            List<String> unreachable = unreachable(config);
            if (!unreachable.isEmpty()) {
                throw new ConfigException(file.toString(), unreachable);
            }
            return replace(config);
        } catch (ConfigException e) {
            problems.accept(e.getMessage() + " (keeping the " + (first ? "empty" : "last good") + " configuration)");
            return false;
        }
    }

    /** The e-mail actions of {@code config}, not already in force, whose server cannot be reached, each named. */
    private List<String> unreachable(AvailabilityConfig config) {
        List<String> found = new ArrayList<>();
        for (int i = 0; i < config.actions().size(); i++) {
            if (config.actions().get(i) instanceof ActionConfig.Email email && !current.actions().contains(email)) {
                String problem = smtpProbe.apply(email);
                if (problem != null) {
                    found.add("actions[" + i + "]: " + email.describe() + ": not reachable: " + problem);
                }
            }
        }
        return found;
    }

    /** Opens a TCP connection to the e-mail action's server; why it failed, or null. */
    static String probeSmtp(ActionConfig.Email email) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(email.host(), email.port()), SMTP_PROBE_TIMEOUT_MILLIS);
            return null;
        } catch (UnknownHostException e) {
            return "unknown host " + email.host();
        } catch (IOException e) {
            return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        } catch (IllegalArgumentException e) {
            return e.getMessage();
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
