package io.pairstep.avail.config;

import java.util.List;

/** A configuration file was refused. Each problem names the entry, e.g. {@code thresholds[2].metric: ...}. */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public ConfigException(String source, List<String> problems) {
        super(source + ": " + String.join("; ", problems));
        this.problems = List.copyOf(problems);
    }

    public List<String> problems() {
        return problems;
    }
}
