package io.pairstep.avail.alert;

/** The state of a component as the availability manager reports it. */
public enum ComponentState {
    /** In service. */
    UP,
    /** Failed: dead, silent, or removed from its group by a fault. */
    BROKEN,
    /** Taken out of the system on purpose. */
    REMOVED,
    /** Not part of the system before (a component seen for the first time). */
    ABSENT
}
