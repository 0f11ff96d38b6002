package io.pairstep.core.lockstep;

import io.pairstep.core.replica.Reply;
import io.pairstep.core.replica.StateCodec;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * 64-bit digests of replies and states. Not cryptographic: they catch faults, not attackers. The
 * same bytes give the same digest on every JVM.
 */
final class Digests {

    private static final long OFFSET = 0xCBF29CE484222325L;
    private static final long PRIME = 0x100000001B3L;

    private Digests() {}

    /** FNV-1a over the bytes, then a final mix so that nearby inputs spread over all bits. */
    static long of(byte[] bytes) {
        long hash = OFFSET;
        for (byte b : bytes) {
            hash ^= b & 0xff;
            hash *= PRIME;
        }
        hash ^= hash >>> 33;
        hash *= 0xFF51AFD7ED558CCDL;
        hash ^= hash >>> 33;
        // 0 means "no state digest taken" in a Vote.
        return hash == 0 ? 1 : hash;
    }

    static long of(Reply reply) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
            StateCodec.writeReply(new DataOutputStream(bytes), reply);
            return of(bytes.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
