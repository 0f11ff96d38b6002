package io.pairstep.core;

import java.util.Locale;

/** How a replica group protects its partition. */
public enum Mode {
    /** Primary plus backup on two nodes: the NonStop process pair. */
    PAIR(2),
    /** A single replica: no protection, for comparison and tests. */
    NONE(1);

    private final int replicaCount;

    Mode(int replicaCount) {
        this.replicaCount = replicaCount;
    }

    /** How many replicas a fully protected group of this mode has. */
    public int replicaCount() {
        return replicaCount;
    }

    /** The name users type: {@code pair} or {@code none}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a user-typed mode, with a message naming the accepted values. */
    public static Mode parse(String text) {
        for (Mode mode : values()) {
            if (mode.label().equals(text)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown mode \"" + text + "\" (expected pair or none)");
    }
}
