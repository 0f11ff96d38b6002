package io.pairstep.api;

import java.util.random.RandomGenerator;

/**
 * What a command may know about the world. Every replica sees the same values for the same command.
 */
public interface Context {

    /** The service name. */
    String service();

    /** The partition this replica serves, from 0. */
    int partition();

    /** The position of this command in the partition's log, from 1. */
    long index();

    /**
     * The time of this command in milliseconds since the epoch, assigned once by the replica that
     * ordered it. It never decreases within a partition.
     */
    long timestampMillis();

    /** A random generator seeded from the partition and the command's position. */
    RandomGenerator random();
}
