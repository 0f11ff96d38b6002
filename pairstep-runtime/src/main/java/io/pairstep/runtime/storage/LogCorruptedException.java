package io.pairstep.runtime.storage;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The stored log or snapshot is damaged in a way that recovery must not repair on its own, such as
 * a bad record in the middle of the log. The replica should refuse to start and be rebuilt from its
 * partner rather than run on a history with a hole in it.
 */
public final class LogCorruptedException extends IOException {

    private static final long serialVersionUID = 1L;

    public LogCorruptedException(String message) {
        super(message);
    }

    static LogCorruptedException at(Path file, long offset, String problem) {
        return new LogCorruptedException(file + " is corrupt at byte offset " + offset + ": " + problem);
    }
}
