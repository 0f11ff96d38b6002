package io.pairstep.core.wire;

import io.pairstep.core.GroupId;
import io.pairstep.core.lockstep.LockstepMessage;
import io.pairstep.core.lockstep.Vote;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.Reply;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UTFDataFormatException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Turns a {@link Frame} into bytes and back. Pure Java: works on any {@link DataOutput} /
 * {@link DataInput}, such as {@link DataOutputStream} or Netty's {@code ByteBufOutputStream}.
 *
 * <p>The caller frames the body: on a socket each body is preceded by a 4-byte big-endian length,
 * at most {@link #FRAME_LENGTH_MAX}. {@link #decode} reads exactly one body.
 *
 * <p>Body layout: one type byte (one per frame kind, and one per {@link PeerMessage} and per
 * {@link LockstepMessage} kind so a {@link Frame.Peer} or {@link Frame.Lockstep} costs no extra byte), then the fields in record order. Big-endian numbers;
 * ids and service names ({@code Hello.node}, {@code Suspect.reporter}, service names...) as
 * {@link DataOutput#writeUTF} (non-null, under 64 KiB); free text ({@code Suspect.reason},
 * {@code Error.code}/{@code message}, {@code TopologyResponse.json}, the texts of a {@link Reply})
 * as an int byte length ({@code -1} for null) and UTF-8, so it may be null and longer than 64 KiB;
 * byte arrays (non-null) as an int length and the bytes. Unpaired surrogates in free text become
 * {@code '?'}, as with {@link String#getBytes}.
 *
 * <p>{@link #decode} validates everything it reads and throws {@link MalformedFrameException}
 * naming the problem: an unknown type byte, a negative or absurd length or count, a truncated
 * body, invalid UTF-8, a field a record refuses. It never allocates much more than the input it
 * actually consumed, so a lying length cannot exhaust memory.
 */
public final class FrameCodec {

    /** The largest frame body, in bytes (64 MiB). */
    public static final int FRAME_LENGTH_MAX = 64 * 1024 * 1024;

    // Frame type bytes. Stable: they are the wire format.
    static final int HELLO = 0x01;
    static final int HEARTBEAT = 0x02;
    static final int SUSPECT = 0x03;
    static final int CLIENT_REQUEST = 0x10;
    static final int CLIENT_RESPONSE = 0x11;
    static final int TOPOLOGY_REQUEST = 0x12;
    static final int TOPOLOGY_RESPONSE = 0x13;
    static final int ERROR = 0x14;
    static final int TOPOLOGY_WATCH = 0x15;
    static final int PEER_APPEND = 0x20;
    static final int PEER_APPEND_ACK = 0x21;
    static final int PEER_INSTALL_SNAPSHOT = 0x22;
    static final int LOCKSTEP_APPEND = 0x30;
    static final int LOCKSTEP_VOTES = 0x31;
    static final int LOCKSTEP_INSTALL_SNAPSHOT = 0x32;
    static final int LOCKSTEP_DIVERGED = 0x33;

    // Reply kinds inside a ClientResponse, as in StateCodec.
    static final int REPLY_OK = 0;
    static final int REPLY_APPLICATION_ERROR = 1;
    static final int REPLY_NOT_PRIMARY = 2;
    static final int REPLY_REJECTED = 3;

    /** Smallest encoding of one log entry: five longs and a byte-array length. */
    private static final int LOG_ENTRY_MIN_BYTES = 5 * Long.BYTES + Integer.BYTES;

    /** Encoding of one vote: four longs and a boolean. */
    private static final int VOTE_BYTES = 4 * Long.BYTES + 1;

    /** Arrays above this size are read in growing chunks, so a lying length cannot reserve memory. */
    private static final int CHUNK = 1 << 20;

    private FrameCodec() {}

    // ------------------------------------------------------------------------------------------
    // Encoding

    /**
     * Writes one frame body.
     *
     * @throws NullPointerException naming the field when a non-nullable field (an id, a service
     *     name, a byte array, a nested record) is null
     * @throws IOException from {@code out}, or {@link UTFDataFormatException} for an id over 64 KiB
     */
    public static void encode(Frame frame, DataOutput out) throws IOException {
        Objects.requireNonNull(frame, "frame");
        switch (frame) {
            case Frame.Hello hello -> {
                out.writeByte(HELLO);
                writeId(out, hello.node(), "Hello.node");
                out.writeLong(hello.incarnation());
            }
            case Frame.Heartbeat heartbeat -> {
                out.writeByte(HEARTBEAT);
                writeId(out, heartbeat.node(), "Heartbeat.node");
                out.writeLong(heartbeat.incarnation());
            }
            case Frame.Suspect suspect -> {
                out.writeByte(SUSPECT);
                writeId(out, suspect.reporter(), "Suspect.reporter");
                writeId(out, suspect.suspect(), "Suspect.suspect");
                out.writeBoolean(suspect.connectionClosed());
                writeText(out, suspect.reason());
            }
            case Frame.ClientRequest request -> {
                out.writeByte(CLIENT_REQUEST);
                out.writeLong(request.requestId());
                writeId(out, request.service(), "ClientRequest.service");
                out.writeInt(request.partition());
                out.writeLong(request.session());
                out.writeLong(request.sequence());
                writeBytes(out, request.payload(), "ClientRequest.payload");
            }
            case Frame.ClientResponse response -> {
                out.writeByte(CLIENT_RESPONSE);
                out.writeLong(response.requestId());
                writeReply(out, response.reply());
            }
            case Frame.TopologyRequest request -> {
                out.writeByte(TOPOLOGY_REQUEST);
                out.writeLong(request.requestId());
            }
            case Frame.TopologyWatch watch -> {
                out.writeByte(TOPOLOGY_WATCH);
                out.writeLong(watch.requestId());
                writeId(out, watch.service(), "TopologyWatch.service");
                out.writeInt(watch.partition());
                out.writeLong(watch.afterEpoch());
                out.writeInt(watch.waitMillis());
            }
            case Frame.TopologyResponse response -> {
                out.writeByte(TOPOLOGY_RESPONSE);
                out.writeLong(response.requestId());
                writeText(out, response.json());
            }
            case Frame.Error error -> {
                out.writeByte(ERROR);
                out.writeLong(error.requestId());
                writeText(out, error.code());
                writeText(out, error.message());
            }
            case Frame.Peer peer -> writePeer(out, Objects.requireNonNull(peer.message(), "Peer.message"));
            case Frame.Lockstep lockstep -> writeLockstep(out, Objects.requireNonNull(lockstep.message(), "Lockstep.message"));
        }
    }

    private static void writeLockstep(DataOutput out, LockstepMessage message) throws IOException {
        switch (message) {
            case LockstepMessage.Append append -> {
                out.writeByte(LOCKSTEP_APPEND);
                writeGroup(out, append.group(), "Append.group");
                out.writeLong(append.epoch());
                out.writeLong(append.previousIndex());
                out.writeLong(append.previousEpoch());
                writeEntries(out, append.entries());
                out.writeLong(append.lastIndex());
                out.writeLong(append.agreedIndex());
                out.writeLong(append.votesThrough());
                out.writeLong(append.checkIndex());
                List<Long> failures = Objects.requireNonNull(append.selfCheckFailures(), "Append.selfCheckFailures");
                out.writeInt(failures.size());
                for (long index : failures) {
                    out.writeLong(index);
                }
            }
            case LockstepMessage.Votes votes -> {
                out.writeByte(LOCKSTEP_VOTES);
                writeGroup(out, votes.group(), "Votes.group");
                out.writeLong(votes.epoch());
                out.writeLong(votes.durableIndex());
                out.writeLong(votes.nextIndex());
                out.writeBoolean(votes.gap());
                out.writeBoolean(votes.rebuild());
                out.writeLong(votes.agreedIndex());
                out.writeLong(votes.voteFloor());
                List<Vote> list = Objects.requireNonNull(votes.votes(), "Votes.votes");
                out.writeInt(list.size());
                for (Vote vote : list) {
                    Objects.requireNonNull(vote, "Votes.votes element");
                    out.writeLong(vote.index());
                    out.writeLong(vote.epoch());
                    out.writeLong(vote.outputDigest());
                    out.writeLong(vote.stateDigest());
                    out.writeBoolean(vote.selfCheckFailed());
                }
                out.writeLong(votes.checkIndex());
                out.writeLong(votes.checkDigest());
            }
            case LockstepMessage.InstallSnapshot snapshot -> {
                out.writeByte(LOCKSTEP_INSTALL_SNAPSHOT);
                writeGroup(out, snapshot.group(), "InstallSnapshot.group");
                out.writeLong(snapshot.epoch());
                out.writeLong(snapshot.index());
                writeBytes(out, snapshot.state(), "InstallSnapshot.state");
            }
            case LockstepMessage.Diverged diverged -> {
                out.writeByte(LOCKSTEP_DIVERGED);
                writeGroup(out, diverged.group(), "Diverged.group");
                out.writeLong(diverged.epoch());
                out.writeLong(diverged.index());
                writeText(out, diverged.evidence());
            }
        }
    }

    private static void writeEntries(DataOutput out, List<LogEntry> list) throws IOException {
        List<LogEntry> entries = Objects.requireNonNull(list, "Append.entries");
        out.writeInt(entries.size());
        for (LogEntry entry : entries) {
            Objects.requireNonNull(entry, "Append.entries element");
            out.writeLong(entry.index());
            out.writeLong(entry.epoch());
            out.writeLong(entry.timestampMillis());
            out.writeLong(entry.session());
            out.writeLong(entry.sequence());
            writeBytes(out, entry.payload(), "LogEntry.payload");
        }
    }

    private static void writePeer(DataOutput out, PeerMessage message) throws IOException {
        switch (message) {
            case PeerMessage.Append append -> {
                out.writeByte(PEER_APPEND);
                writeGroup(out, append.group(), "Append.group");
                out.writeLong(append.epoch());
                out.writeLong(append.previousIndex());
                writeEntries(out, append.entries());
                out.writeLong(append.commitIndex());
            }
            case PeerMessage.AppendAck ack -> {
                out.writeByte(PEER_APPEND_ACK);
                writeGroup(out, ack.group(), "AppendAck.group");
                out.writeLong(ack.epoch());
                out.writeLong(ack.durableIndex());
                out.writeLong(ack.nextIndex());
                out.writeBoolean(ack.gap());
            }
            case PeerMessage.InstallSnapshot snapshot -> {
                out.writeByte(PEER_INSTALL_SNAPSHOT);
                writeGroup(out, snapshot.group(), "InstallSnapshot.group");
                out.writeLong(snapshot.epoch());
                out.writeLong(snapshot.index());
                writeBytes(out, snapshot.state(), "InstallSnapshot.state");
            }
        }
    }

    private static void writeReply(DataOutput out, Reply reply) throws IOException {
        Objects.requireNonNull(reply, "ClientResponse.reply");
        switch (reply) {
            case Reply.Ok ok -> {
                out.writeByte(REPLY_OK);
                writeBytes(out, ok.body(), "Reply.Ok.body");
            }
            case Reply.ApplicationError error -> {
                out.writeByte(REPLY_APPLICATION_ERROR);
                writeText(out, error.message());
            }
            case Reply.NotPrimary notPrimary -> {
                out.writeByte(REPLY_NOT_PRIMARY);
                out.writeLong(notPrimary.epoch());
                writeText(out, notPrimary.primaryNode());
            }
            case Reply.Rejected rejected -> {
                out.writeByte(REPLY_REJECTED);
                writeText(out, rejected.code());
                writeText(out, rejected.message());
            }
        }
    }

    private static void writeGroup(DataOutput out, GroupId group, String field) throws IOException {
        Objects.requireNonNull(group, field);
        out.writeUTF(group.service());
        out.writeInt(group.partition());
    }

    private static void writeId(DataOutput out, String id, String field) throws IOException {
        out.writeUTF(Objects.requireNonNull(id, field));
    }

    private static void writeText(DataOutput out, String text) throws IOException {
        if (text == null) {
            out.writeInt(-1);
            return;
        }
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        out.writeInt(utf8.length);
        out.write(utf8);
    }

    private static void writeBytes(DataOutput out, byte[] bytes, String field) throws IOException {
        Objects.requireNonNull(bytes, field);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    // ------------------------------------------------------------------------------------------
    // Decoding

    /**
     * Reads one frame body.
     *
     * @throws MalformedFrameException naming the problem when the body is not a valid frame,
     *     including when it ends too early
     * @throws IOException other failures of {@code in}
     */
    public static Frame decode(DataInput in) throws IOException {
        int type;
        try {
            type = in.readUnsignedByte();
        } catch (EOFException e) {
            throw new MalformedFrameException("empty frame: no type byte", e);
        }
        String kind = kindName(type);
        if (kind == null) {
            throw new MalformedFrameException(String.format("unknown frame type 0x%02x", type));
        }
        try {
            return switch (type) {
                case HELLO -> new Frame.Hello(readId(in), in.readLong());
                case HEARTBEAT -> new Frame.Heartbeat(readId(in), in.readLong());
                case SUSPECT -> new Frame.Suspect(readId(in), readId(in), readBoolean(in, "Suspect.connectionClosed"),
                        readText(in, "Suspect.reason"));
                case CLIENT_REQUEST -> new Frame.ClientRequest(
                        in.readLong(),
                        readId(in),
                        in.readInt(),
                        in.readLong(),
                        in.readLong(),
                        readBytes(in, "ClientRequest.payload"));
                case CLIENT_RESPONSE -> new Frame.ClientResponse(in.readLong(), readReply(in));
                case TOPOLOGY_REQUEST -> new Frame.TopologyRequest(in.readLong());
                case TOPOLOGY_WATCH -> new Frame.TopologyWatch(in.readLong(), readId(in), in.readInt(), in.readLong(), in.readInt());
                case TOPOLOGY_RESPONSE -> new Frame.TopologyResponse(in.readLong(), readText(in, "TopologyResponse.json"));
                case ERROR -> new Frame.Error(in.readLong(), readText(in, "Error.code"), readText(in, "Error.message"));
                case PEER_APPEND -> new Frame.Peer(readAppend(in));
                case PEER_APPEND_ACK -> new Frame.Peer(new PeerMessage.AppendAck(
                        readGroup(in), in.readLong(), in.readLong(), in.readLong(), readBoolean(in, "AppendAck.gap")));
                case PEER_INSTALL_SNAPSHOT -> new Frame.Peer(new PeerMessage.InstallSnapshot(
                        readGroup(in), in.readLong(), in.readLong(), readBytes(in, "InstallSnapshot.state")));
                case LOCKSTEP_APPEND -> new Frame.Lockstep(new LockstepMessage.Append(
                        readGroup(in), in.readLong(), in.readLong(), in.readLong(), readEntries(in),
                        in.readLong(), in.readLong(), in.readLong(), in.readLong(), readIndexes(in, "Append.selfCheckFailures")));
                case LOCKSTEP_VOTES -> new Frame.Lockstep(readVotes(in));
                case LOCKSTEP_INSTALL_SNAPSHOT -> new Frame.Lockstep(new LockstepMessage.InstallSnapshot(
                        readGroup(in), in.readLong(), in.readLong(), readBytes(in, "InstallSnapshot.state")));
                case LOCKSTEP_DIVERGED -> new Frame.Lockstep(new LockstepMessage.Diverged(
                        readGroup(in), in.readLong(), in.readLong(), readText(in, "Diverged.evidence")));
                default -> throw new AssertionError("type without decoder: " + type);
            };
        } catch (MalformedFrameException e) {
            throw new MalformedFrameException(kind + " frame: " + e.getMessage(), e);
        } catch (EOFException e) {
            throw new MalformedFrameException("truncated " + kind + " frame", e);
        } catch (UTFDataFormatException e) {
            throw new MalformedFrameException(kind + " frame: invalid modified UTF-8 in an id: " + e.getMessage(), e);
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new MalformedFrameException(kind + " frame: invalid field: " + e.getMessage(), e);
        }
    }

    private static PeerMessage.Append readAppend(DataInput in) throws IOException {
        GroupId group = readGroup(in);
        long epoch = in.readLong();
        long previousIndex = in.readLong();
        List<LogEntry> entries = readEntries(in);
        long commitIndex = in.readLong();
        return new PeerMessage.Append(group, epoch, previousIndex, entries, commitIndex);
    }

    private static LockstepMessage.Votes readVotes(DataInput in) throws IOException {
        GroupId group = readGroup(in);
        long epoch = in.readLong();
        long durableIndex = in.readLong();
        long nextIndex = in.readLong();
        boolean gap = readBoolean(in, "Votes.gap");
        boolean rebuild = readBoolean(in, "Votes.rebuild");
        long agreedIndex = in.readLong();
        long voteFloor = in.readLong();
        int count = in.readInt();
        if (count < 0 || count > FRAME_LENGTH_MAX / VOTE_BYTES) {
            throw new MalformedFrameException("bad Votes.votes count " + count);
        }
        List<Vote> votes = new ArrayList<>(Math.min(count, 1024));
        for (int i = 0; i < count; i++) {
            votes.add(new Vote(in.readLong(), in.readLong(), in.readLong(), in.readLong(), readBoolean(in, "Vote.selfCheckFailed")));
        }
        return new LockstepMessage.Votes(group, epoch, durableIndex, nextIndex, gap, rebuild, agreedIndex, voteFloor,
                List.copyOf(votes), in.readLong(), in.readLong());
    }

    private static List<Long> readIndexes(DataInput in, String field) throws IOException {
        int count = in.readInt();
        if (count < 0 || count > FRAME_LENGTH_MAX / Long.BYTES) {
            throw new MalformedFrameException("bad " + field + " count " + count);
        }
        List<Long> indexes = new ArrayList<>(Math.min(count, 1024));
        for (int i = 0; i < count; i++) {
            indexes.add(in.readLong());
        }
        return List.copyOf(indexes);
    }

    private static List<LogEntry> readEntries(DataInput in) throws IOException {
        int count = in.readInt();
        if (count < 0 || count > FRAME_LENGTH_MAX / LOG_ENTRY_MIN_BYTES) {
            throw new MalformedFrameException("bad Append.entries count " + count);
        }
        List<LogEntry> entries = new ArrayList<>(Math.min(count, 1024));
        for (int i = 0; i < count; i++) {
            entries.add(new LogEntry(
                    in.readLong(),
                    in.readLong(),
                    in.readLong(),
                    in.readLong(),
                    in.readLong(),
                    readBytes(in, "LogEntry.payload")));
        }
        return List.copyOf(entries);
    }

    private static Reply readReply(DataInput in) throws IOException {
        int kind = in.readUnsignedByte();
        return switch (kind) {
            case REPLY_OK -> new Reply.Ok(readBytes(in, "Reply.Ok.body"));
            case REPLY_APPLICATION_ERROR -> new Reply.ApplicationError(readText(in, "Reply.ApplicationError.message"));
            case REPLY_NOT_PRIMARY -> new Reply.NotPrimary(in.readLong(), readText(in, "Reply.NotPrimary.primaryNode"));
            case REPLY_REJECTED -> new Reply.Rejected(
                    readText(in, "Reply.Rejected.code"), readText(in, "Reply.Rejected.message"));
            default -> throw new MalformedFrameException(String.format("unknown reply kind 0x%02x", kind));
        };
    }

    private static GroupId readGroup(DataInput in) throws IOException {
        return new GroupId(in.readUTF(), in.readInt());
    }

    private static String readId(DataInput in) throws IOException {
        return in.readUTF();
    }

    private static boolean readBoolean(DataInput in, String field) throws IOException {
        int value = in.readUnsignedByte();
        if (value > 1) {
            throw new MalformedFrameException("bad boolean " + value + " in " + field);
        }
        return value == 1;
    }

    private static String readText(DataInput in, String field) throws IOException {
        int length = in.readInt();
        if (length == -1) {
            return null;
        }
        checkLength(length, field);
        byte[] utf8 = readFully(in, length);
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MalformedFrameException("invalid UTF-8 in " + field, e);
        }
    }

    private static byte[] readBytes(DataInput in, String field) throws IOException {
        int length = in.readInt();
        checkLength(length, field);
        return readFully(in, length);
    }

    private static void checkLength(int length, String field) throws MalformedFrameException {
        if (length < 0) {
            throw new MalformedFrameException("negative length " + length + " of " + field);
        }
        if (length > FRAME_LENGTH_MAX) {
            throw new MalformedFrameException(
                    "absurd length " + length + " of " + field + " (max " + FRAME_LENGTH_MAX + ")");
        }
    }

    /** Reads {@code length} bytes, growing the array as data actually arrives. */
    private static byte[] readFully(DataInput in, int length) throws IOException {
        byte[] bytes = new byte[Math.min(length, CHUNK)];
        int filled = 0;
        while (filled < length) {
            if (filled == bytes.length) {
                bytes = Arrays.copyOf(bytes, (int) Math.min(length, 2L * bytes.length));
            }
            int n = bytes.length - filled;
            in.readFully(bytes, filled, n);
            filled += n;
        }
        return bytes;
    }

    /** A readable name for a type byte, or null when it is unknown. */
    static String kindName(int type) {
        return switch (type) {
            case HELLO -> "Hello";
            case HEARTBEAT -> "Heartbeat";
            case SUSPECT -> "Suspect";
            case CLIENT_REQUEST -> "ClientRequest";
            case CLIENT_RESPONSE -> "ClientResponse";
            case TOPOLOGY_REQUEST -> "TopologyRequest";
            case TOPOLOGY_WATCH -> "TopologyWatch";
            case TOPOLOGY_RESPONSE -> "TopologyResponse";
            case ERROR -> "Error";
            case PEER_APPEND -> "Peer/Append";
            case PEER_APPEND_ACK -> "Peer/AppendAck";
            case PEER_INSTALL_SNAPSHOT -> "Peer/InstallSnapshot";
            case LOCKSTEP_APPEND -> "Lockstep/Append";
            case LOCKSTEP_VOTES -> "Lockstep/Votes";
            case LOCKSTEP_INSTALL_SNAPSHOT -> "Lockstep/InstallSnapshot";
            case LOCKSTEP_DIVERGED -> "Lockstep/Diverged";
            default -> null;
        };
    }

    // ------------------------------------------------------------------------------------------
    // Conveniences for whole bodies in memory

    /** The body of {@code frame}, for tests, simulations and storage. */
    public static byte[] toBytes(Frame frame) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
            DataOutputStream out = new DataOutputStream(bytes);
            encode(frame, out);
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Decodes a whole body; bytes left over after the frame are malformed too. */
    public static Frame fromBytes(byte[] body) throws MalformedFrameException {
        ByteArrayInputStream bytes = new ByteArrayInputStream(body);
        Frame frame;
        try {
            frame = decode(new DataInputStream(bytes));
        } catch (MalformedFrameException e) {
            throw e;
        } catch (IOException e) {
            throw new MalformedFrameException("unreadable frame: " + e, e);
        }
        if (bytes.available() > 0) {
            throw new MalformedFrameException(bytes.available() + " trailing bytes after a " + frame.getClass().getSimpleName() + " frame");
        }
        return frame;
    }
}
