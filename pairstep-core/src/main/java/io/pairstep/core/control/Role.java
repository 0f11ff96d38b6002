package io.pairstep.core.control;

/** The role of a replica in its group. */
public enum Role {
    /** Orders commands and releases results. */
    PRIMARY,
    /** Holds every command before its result is released; takes over when the primary fails. */
    BACKUP
}
