package io.pairstep.avail.alert;

/** The kinds of components whose state changes are reported. */
public enum ComponentType {
    /** A node process; its id is the node id, e.g. {@code n2}. */
    NODE,
    /** One replica of a replica group; its id is {@code service/partition@node}, e.g. {@code kv/3@n2}. */
    REPLICA
}
