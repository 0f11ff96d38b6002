package io.pairstep.core.control;

import java.util.Locale;

/** Where an {@link Incident} stands: open until someone acknowledges it, resolved once its component is healed. */
public enum IncidentState {
    OPEN,
    ACKNOWLEDGED,
    RESOLVED;

    /** The name used in JSON and on the command line, e.g. {@code open}. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The state named {@code label} (any case), or null. */
    public static IncidentState parse(String label) {
        for (IncidentState state : values()) {
            if (state.name().equalsIgnoreCase(label)) {
                return state;
            }
        }
        return null;
    }
}
