package io.pairstep.core.replica;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * Encodes a replica's whole state (position, sessions and the service's own snapshot) for
 * snapshots on disk and for rebuilding a backup. Also encodes replies, which live in the session
 * table.
 */
public final class StateCodec {

    private static final int MAGIC = 0x50535331; // "PSS1"

    private StateCodec() {}

    /** The decoded form of {@link #encode}. */
    public record State(long index, long epoch, long timestampMillis, SessionTable sessions, byte[] service) {}

    public static byte[] encode(long index, long epoch, long timestampMillis, SessionTable sessions, byte[] service) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + service.length + sessions.size() * 48);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeInt(MAGIC);
            out.writeLong(index);
            out.writeLong(epoch);
            out.writeLong(timestampMillis);
            out.writeInt(sessions.capacity());
            out.writeInt(sessions.size());
            for (Map.Entry<Long, SessionTable.Entry> session : sessions.oldestFirst()) {
                out.writeLong(session.getKey());
                out.writeLong(session.getValue().sequence());
                out.writeLong(session.getValue().index());
                writeReply(out, session.getValue().reply());
            }
            out.writeInt(service.length);
            out.write(service);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Decodes a state; throws IllegalArgumentException naming the problem when it is malformed. */
    public static State decode(byte[] data) {
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(data));
            if (in.readInt() != MAGIC) {
                throw new IllegalArgumentException("not a Pairstep replica state (bad magic)");
            }
            long index = in.readLong();
            long epoch = in.readLong();
            long timestampMillis = in.readLong();
            SessionTable sessions = new SessionTable(in.readInt());
            int count = in.readInt();
            for (int i = 0; i < count; i++) {
                long session = in.readLong();
                long sequence = in.readLong();
                long entryIndex = in.readLong();
                sessions.record(session, sequence, entryIndex, readReply(in));
            }
            byte[] service = new byte[in.readInt()];
            in.readFully(service);
            return new State(index, epoch, timestampMillis, sessions, service);
        } catch (IOException e) {
            throw new IllegalArgumentException("malformed replica state: " + e, e);
        }
    }

    public static void writeReply(DataOutputStream out, Reply reply) throws IOException {
        switch (reply) {
            case Reply.Ok ok -> {
                out.writeByte(0);
                out.writeInt(ok.body().length);
                out.write(ok.body());
            }
            case Reply.ApplicationError error -> {
                out.writeByte(1);
                out.writeUTF(error.message());
            }
            case Reply.NotPrimary notPrimary -> {
                out.writeByte(2);
                out.writeLong(notPrimary.epoch());
                out.writeUTF(notPrimary.primaryNode());
            }
            case Reply.Rejected rejected -> {
                out.writeByte(3);
                out.writeUTF(rejected.code());
                out.writeUTF(rejected.message());
            }
        }
    }

    public static Reply readReply(DataInputStream in) throws IOException {
        int kind = in.readByte();
        return switch (kind) {
            case 0 -> {
                byte[] body = new byte[in.readInt()];
                in.readFully(body);
                yield new Reply.Ok(body);
            }
            case 1 -> new Reply.ApplicationError(in.readUTF());
            case 2 -> new Reply.NotPrimary(in.readLong(), in.readUTF());
            case 3 -> new Reply.Rejected(in.readUTF(), in.readUTF());
            default -> throw new IOException("unknown reply kind " + kind);
        };
    }
}
