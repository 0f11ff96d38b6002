package io.pairstep.runtime.storage;

/** Receives the records that {@link ReplicaLog#read} finds, in ascending index order. */
@FunctionalInterface
public interface RecordConsumer {

    /**
     * Accepts one record.
     *
     * @param index the record's position in the log
     * @param record the record's bytes, freshly allocated and owned by the consumer from now on
     */
    void accept(long index, byte[] record);
}
