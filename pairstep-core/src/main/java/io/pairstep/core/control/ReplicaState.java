package io.pairstep.core.control;

/** Whether a replica holds everything its group has released. */
public enum ReplicaState {
    /** In sync: may be promoted to primary. */
    OK,
    /** Being rebuilt by snapshot plus log catch-up: must never be promoted. */
    SYNCING
}
