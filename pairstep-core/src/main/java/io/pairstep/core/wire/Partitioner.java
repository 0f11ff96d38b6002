package io.pairstep.core.wire;

import java.nio.charset.StandardCharsets;

/**
 * Maps a key to a partition. Clients, gateways and nodes must agree, so the hash is fixed here:
 * 64-bit FNV-1a of the key's UTF-8 bytes.
 */
public final class Partitioner {

    private Partitioner() {}

    public static int partition(String key, int partitions) {
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be >= 1, was " + partitions);
        }
        if (key == null) {
            return 0;
        }
        long hash = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return (int) Long.remainderUnsigned(hash, partitions);
    }
}
