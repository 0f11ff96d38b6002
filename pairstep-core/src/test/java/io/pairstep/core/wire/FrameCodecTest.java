package io.pairstep.core.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.core.GroupId;
import io.pairstep.core.lockstep.LockstepMessage;
import io.pairstep.core.lockstep.Vote;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.Reply;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UTFDataFormatException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Round trips of every frame kind with random contents, and malformed bodies. The seed is printed;
 * rerun a failure with {@code -Dpairstep.seed=<seed>}.
 */
class FrameCodecTest {

    private static long seed;

    @BeforeAll
    static void seed() {
        seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("FrameCodecTest seed=" + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
    }

    private static Random random(String test) {
        return new Random(seed ^ test.hashCode());
    }

    // ------------------------------------------------------------------------------------------
    // Random frames

    /** One generator per frame kind and per PeerMessage / Reply kind. */
    static List<Function<Random, Frame>> generators() {
        return List.of(
                r -> new Frame.Hello(id(r), r.nextLong()),
                r -> new Frame.Heartbeat(id(r), r.nextLong()),
                r -> new Frame.Suspect(id(r), id(r), r.nextBoolean(), text(r)),
                r -> new Frame.ClientRequest(r.nextLong(), id(r), r.nextInt(), r.nextLong(), r.nextLong(), bytes(r)),
                r -> new Frame.ClientResponse(r.nextLong(), new Reply.Ok(bytes(r))),
                r -> new Frame.ClientResponse(r.nextLong(), new Reply.ApplicationError(text(r))),
                r -> new Frame.ClientResponse(r.nextLong(), new Reply.NotPrimary(r.nextLong(), text(r))),
                r -> new Frame.ClientResponse(r.nextLong(), new Reply.Rejected(text(r), text(r))),
                r -> new Frame.TopologyRequest(r.nextLong()),
                r -> new Frame.TopologyWatch(r.nextLong(), id(r), r.nextInt(), r.nextLong(), r.nextInt()),
                r -> new Frame.TopologyResponse(r.nextLong(), text(r)),
                r -> new Frame.Error(r.nextLong(), text(r), text(r)),
                r -> new Frame.Peer(new PeerMessage.Append(group(r), r.nextLong(), r.nextLong(), entries(r), r.nextLong())),
                r -> new Frame.Peer(new PeerMessage.AppendAck(group(r), r.nextLong(), r.nextLong(), r.nextLong(), r.nextBoolean())),
                r -> new Frame.Peer(new PeerMessage.InstallSnapshot(group(r), r.nextLong(), r.nextLong(), bytes(r))),
                r -> new Frame.Lockstep(new LockstepMessage.Append(group(r), r.nextLong(), r.nextLong(), r.nextLong(), entries(r),
                        r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong(), r.nextBoolean() ? List.of() : List.of(r.nextLong(), r.nextLong()))),
                r -> new Frame.Lockstep(new LockstepMessage.Votes(group(r), r.nextLong(), r.nextLong(), r.nextLong(), r.nextBoolean(),
                        r.nextBoolean(), r.nextLong(), r.nextLong(), votes(r), r.nextLong(), r.nextLong())),
                r -> new Frame.Lockstep(new LockstepMessage.InstallSnapshot(group(r), r.nextLong(), r.nextLong(), bytes(r))),
                r -> new Frame.Lockstep(new LockstepMessage.Diverged(group(r), r.nextLong(), r.nextLong(), text(r))));
    }

    private static List<Vote> votes(Random r) {
        int count = r.nextInt(4) == 0 ? 0 : r.nextInt(50);
        List<Vote> votes = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            votes.add(new Vote(r.nextLong(), r.nextLong(), r.nextLong(), r.nextInt(3) == 0 ? r.nextLong() : 0, r.nextBoolean()));
        }
        return votes;
    }

    private static final int[] ALPHABET = "abcXYZ019-_./ éß€中文😀\u0000".codePoints().toArray();

    private static String id(Random r) {
        return string(r, r.nextInt(12));
    }

    private static String string(Random r, int length) {
        StringBuilder s = new StringBuilder();
        while (s.length() < length) {
            s.appendCodePoint(ALPHABET[r.nextInt(ALPHABET.length)]);
        }
        return s.toString();
    }

    /** Free text: sometimes null, sometimes empty, sometimes over the 64 KiB of writeUTF. */
    private static String text(Random r) {
        return switch (r.nextInt(20)) {
            case 0 -> null;
            case 1 -> "";
            case 2 -> string(r, 70_000 + r.nextInt(1000));
            default -> string(r, r.nextInt(200));
        };
    }

    private static byte[] bytes(Random r) {
        int length = switch (r.nextInt(20)) {
            case 0 -> 0;
            case 1 -> 100_000 + r.nextInt(100_000);
            default -> r.nextInt(300);
        };
        byte[] bytes = new byte[length];
        r.nextBytes(bytes);
        return bytes;
    }

    private static GroupId group(Random r) {
        return new GroupId(id(r), r.nextInt(Integer.MAX_VALUE));
    }

    private static List<LogEntry> entries(Random r) {
        int count = r.nextInt(4) == 0 ? 0 : r.nextInt(20);
        List<LogEntry> entries = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            byte[] payload = new byte[r.nextInt(100)];
            r.nextBytes(payload);
            entries.add(new LogEntry(r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong(), payload));
        }
        return entries;
    }

    private static Frame roundTrip(Frame frame) throws IOException {
        byte[] body = FrameCodec.toBytes(frame);
        Frame decoded = FrameCodec.fromBytes(body);
        assertThat(decoded)
                .usingRecursiveComparison()
                .withEqualsForType(Arrays::equals, byte[].class)
                .isEqualTo(frame);
        assertThat(FrameCodec.toBytes(decoded)).isEqualTo(body);
        return decoded;
    }

    // ------------------------------------------------------------------------------------------
    // Round trips

    @Test
    void everyKindRoundTripsWithRandomContents() throws IOException {
        Random r = random("everyKind");
        for (int i = 0; i < 100; i++) {
            for (Function<Random, Frame> generator : generators()) {
                Frame frame = generator.apply(r);
                assertThat(roundTrip(frame)).isInstanceOf(frame.getClass());
            }
        }
    }

    @Test
    void generatorsCoverEveryFrameReplyAndPeerMessageKind() {
        Random r = random("cover");
        Set<Class<?>> seen = new HashSet<>();
        for (Function<Random, Frame> generator : generators()) {
            Frame frame = generator.apply(r);
            seen.add(frame.getClass());
            if (frame instanceof Frame.Peer peer) {
                seen.add(peer.message().getClass());
            }
            if (frame instanceof Frame.Lockstep lockstep) {
                seen.add(lockstep.message().getClass());
            }
            if (frame instanceof Frame.ClientResponse response) {
                seen.add(response.reply().getClass());
            }
        }
        assertThat(seen).contains(Frame.class.getPermittedSubclasses());
        assertThat(seen).contains(PeerMessage.class.getPermittedSubclasses());
        assertThat(seen).contains(LockstepMessage.class.getPermittedSubclasses());
        assertThat(seen).contains(Reply.class.getPermittedSubclasses());
    }

    @Test
    void typeBytesAreDistinctPerKind() {
        Random r = random("types");
        Set<Integer> typeBytes = new HashSet<>();
        Set<Class<?>> kinds = new HashSet<>();
        for (Function<Random, Frame> generator : generators()) {
            Frame frame = generator.apply(r);
            Class<?> kind = frame instanceof Frame.Peer peer ? peer.message().getClass()
                    : frame instanceof Frame.Lockstep lockstep ? lockstep.message().getClass() : frame.getClass();
            if (kinds.add(kind)) {
                assertThat(typeBytes.add(FrameCodec.toBytes(frame)[0] & 0xff)).as("type byte of %s", kind).isTrue();
            }
        }
        assertThat(typeBytes).hasSize(Frame.class.getPermittedSubclasses().length - 2 + PeerMessage.class.getPermittedSubclasses().length
                + LockstepMessage.class.getPermittedSubclasses().length);
    }

    @Test
    void lockstepTypeBytesAreTheDocumentedOnes() {
        // The wire format: changing these breaks mixed-version systems.
        GroupId g = new GroupId("s", 0);
        assertThat(FrameCodec.toBytes(new Frame.Lockstep(new LockstepMessage.Append(g, 1, 0, 0, List.of(), 0, 0, 0, 0, List.of())))[0]).isEqualTo((byte) 0x30);
        assertThat(FrameCodec.toBytes(new Frame.Lockstep(new LockstepMessage.Votes(g, 1, 0, 1, false, false, 0, 0, List.of(), 0, 0)))[0])
                .isEqualTo((byte) 0x31);
        assertThat(FrameCodec.toBytes(new Frame.Lockstep(new LockstepMessage.InstallSnapshot(g, 1, 0, new byte[0])))[0]).isEqualTo((byte) 0x32);
        assertThat(FrameCodec.toBytes(new Frame.Lockstep(new LockstepMessage.Diverged(g, 1, 0, null)))[0]).isEqualTo((byte) 0x33);
    }

    @Test
    void absurdVoteCountIsMalformed() throws IOException {
        for (int count : new int[] {-1, Integer.MAX_VALUE, 3_000_000}) {
            byte[] body = body(out -> {
                out.writeByte(FrameCodec.LOCKSTEP_VOTES);
                out.writeUTF("svc");
                out.writeInt(0);
                out.writeLong(1);
                out.writeLong(0);
                out.writeLong(1);
                out.writeBoolean(false);
                out.writeBoolean(false);
                out.writeLong(0);
                out.writeLong(0);
                out.writeInt(count);
            });
            assertThatThrownBy(() -> FrameCodec.fromBytes(body))
                    .isInstanceOf(MalformedFrameException.class)
                    .hasMessageContaining("Lockstep/Votes frame: bad Votes.votes count " + count);
        }
    }

    @Test
    void badVoteBooleanIsMalformed() throws IOException {
        byte[] body = body(out -> {
            out.writeByte(FrameCodec.LOCKSTEP_VOTES);
            out.writeUTF("svc");
            out.writeInt(0);
            out.writeLong(1);
            out.writeLong(0);
            out.writeLong(1);
            out.writeBoolean(false);
            out.writeByte(7);
        });
        assertThatThrownBy(() -> FrameCodec.fromBytes(body))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("bad boolean 7 in Votes.rebuild");
    }

    @Test
    void edgeValuesRoundTrip() throws IOException {
        roundTrip(new Frame.Hello("", Long.MIN_VALUE));
        roundTrip(new Frame.Heartbeat("n".repeat(65_535), Long.MAX_VALUE));
        roundTrip(new Frame.Suspect("a", "b", true, null));
        roundTrip(new Frame.ClientRequest(-1, "svc", -7, 0, 0, new byte[0]));
        roundTrip(new Frame.TopologyResponse(1, "{\"json\":\"" + "x".repeat(200_000) + "\"}"));
        roundTrip(new Frame.Error(0, null, null));
        roundTrip(new Frame.ClientResponse(1, new Reply.NotPrimary(0, "")));
        roundTrip(new Frame.Peer(new PeerMessage.Append(new GroupId("s", 0), 1, 0, List.of(), 0)));
        roundTrip(new Frame.Peer(new PeerMessage.InstallSnapshot(new GroupId("s", 3), 1, 2, new byte[3 << 20])));
    }

    @Test
    void encodeNamesANullField() {
        assertThatThrownBy(() -> FrameCodec.toBytes(new Frame.Hello(null, 1)))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("Hello.node");
        assertThatThrownBy(() -> FrameCodec.toBytes(new Frame.ClientRequest(1, "s", 0, 1, 1, null)))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("ClientRequest.payload");
        assertThatThrownBy(() -> FrameCodec.toBytes(new Frame.ClientResponse(1, null)))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("ClientResponse.reply");
    }

    @Test
    void idOver64KiBIsRefusedByEncode() {
        assertThatThrownBy(() -> FrameCodec.encode(
                        new Frame.Hello("x".repeat(70_000), 1), new DataOutputStream(new ByteArrayOutputStream())))
                .isInstanceOf(UTFDataFormatException.class);
    }

    // ------------------------------------------------------------------------------------------
    // Malformed input

    @Test
    void everyTruncationIsMalformed() throws IOException {
        Random r = random("truncated");
        for (Function<Random, Frame> generator : generators()) {
            Frame frame = generator.apply(r);
            byte[] body = FrameCodec.toBytes(frame);
            // every prefix of small bodies, a sample of prefixes of large ones
            int step = Math.max(1, body.length / 500);
            for (int length = 0; length < body.length; length += step) {
                byte[] prefix = Arrays.copyOf(body, length);
                assertThatThrownBy(() -> FrameCodec.fromBytes(prefix))
                        .as("%s cut at %d of %d", frame.getClass().getSimpleName(), length, body.length)
                        .isInstanceOf(MalformedFrameException.class);
            }
        }
        assertThatThrownBy(() -> FrameCodec.fromBytes(new byte[0]))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("empty frame");
        assertThatThrownBy(() -> FrameCodec.fromBytes(new byte[] {FrameCodec.HELLO, 0, 5, 'a'}))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("truncated Hello frame");
    }

    @Test
    void unknownTypeIsMalformed() {
        for (int type : new int[] {0x00, 0x04, 0x16, 0x23, 0x7f, 0xff}) {
            assertThatThrownBy(() -> FrameCodec.fromBytes(new byte[] {(byte) type, 0, 0, 0, 0, 0, 0, 0, 0}))
                    .isInstanceOf(MalformedFrameException.class)
                    .hasMessage(String.format("unknown frame type 0x%02x", type));
        }
    }

    @Test
    void unknownReplyKindIsMalformed() throws IOException {
        byte[] body = body(out -> {
            out.writeByte(FrameCodec.CLIENT_RESPONSE);
            out.writeLong(1);
            out.writeByte(9);
        });
        assertThatThrownBy(() -> FrameCodec.fromBytes(body))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("unknown reply kind 0x09");
    }

    @Test
    void absurdAndNegativeLengthsAreMalformed() throws IOException {
        for (int length : new int[] {Integer.MAX_VALUE, FrameCodec.FRAME_LENGTH_MAX + 1}) {
            byte[] body = body(out -> {
                out.writeByte(FrameCodec.CLIENT_REQUEST);
                out.writeLong(1);
                out.writeUTF("svc");
                out.writeInt(0);
                out.writeLong(1);
                out.writeLong(1);
                out.writeInt(length);
            });
            assertThatThrownBy(() -> FrameCodec.fromBytes(body))
                    .isInstanceOf(MalformedFrameException.class)
                    .hasMessageContaining("absurd length " + length + " of ClientRequest.payload");
        }
        byte[] negative = body(out -> {
            out.writeByte(FrameCodec.TOPOLOGY_RESPONSE);
            out.writeLong(1);
            out.writeInt(-2);
        });
        assertThatThrownBy(() -> FrameCodec.fromBytes(negative))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("negative length -2 of TopologyResponse.json");
        // a length that is legal but larger than the input: truncated, without reserving 60 MiB
        byte[] lying = body(out -> {
            out.writeByte(FrameCodec.PEER_INSTALL_SNAPSHOT);
            out.writeUTF("svc");
            out.writeInt(0);
            out.writeLong(1);
            out.writeLong(1);
            out.writeInt(60 << 20);
            out.write(new byte[10]);
        });
        assertThatThrownBy(() -> FrameCodec.fromBytes(lying))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("truncated Peer/InstallSnapshot frame");
    }

    @Test
    void absurdEntryCountIsMalformed() throws IOException {
        for (int count : new int[] {-1, Integer.MAX_VALUE, 2_000_000}) {
            byte[] body = body(out -> {
                out.writeByte(FrameCodec.PEER_APPEND);
                out.writeUTF("svc");
                out.writeInt(0);
                out.writeLong(1);
                out.writeLong(0);
                out.writeInt(count);
            });
            assertThatThrownBy(() -> FrameCodec.fromBytes(body))
                    .isInstanceOf(MalformedFrameException.class)
                    .hasMessageContaining("bad Append.entries count " + count);
        }
    }

    @Test
    void invalidFieldsAreMalformed() throws IOException {
        byte[] negativePartition = body(out -> {
            out.writeByte(FrameCodec.PEER_APPEND_ACK);
            out.writeUTF("svc");
            out.writeInt(-1);
            out.writeLong(1);
            out.writeLong(1);
            out.writeLong(1);
            out.writeBoolean(false);
        });
        assertThatThrownBy(() -> FrameCodec.fromBytes(negativePartition))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("Peer/AppendAck frame: invalid field: partition must be >= 0");
        byte[] badBoolean = body(out -> {
            out.writeByte(FrameCodec.PEER_APPEND_ACK);
            out.writeUTF("svc");
            out.writeInt(1);
            out.writeLong(1);
            out.writeLong(1);
            out.writeLong(1);
            out.writeByte(7);
        });
        assertThatThrownBy(() -> FrameCodec.fromBytes(badBoolean))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("bad boolean 7 in AppendAck.gap");
        byte[] badUtf8 = body(out -> {
            out.writeByte(FrameCodec.ERROR);
            out.writeLong(1);
            out.writeInt(2);
            out.write(new byte[] {(byte) 0xc3, (byte) 0x28});
            out.writeInt(-1);
        });
        assertThatThrownBy(() -> FrameCodec.fromBytes(badUtf8))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("invalid UTF-8 in Error.code");
        byte[] badModifiedUtf8 = body(out -> {
            out.writeByte(FrameCodec.HELLO);
            out.writeShort(1);
            out.writeByte(0xff);
            out.writeLong(1);
        });
        assertThatThrownBy(() -> FrameCodec.fromBytes(badModifiedUtf8))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("Hello frame: invalid modified UTF-8");
    }

    @Test
    void trailingBytesAreMalformed() {
        byte[] body = FrameCodec.toBytes(new Frame.TopologyRequest(5));
        byte[] longer = Arrays.copyOf(body, body.length + 1);
        assertThatThrownBy(() -> FrameCodec.fromBytes(longer))
                .isInstanceOf(MalformedFrameException.class)
                .hasMessageContaining("1 trailing bytes after a TopologyRequest frame");
    }

    @Test
    void garbageNeverEscapesAsAnythingButMalformedFrameException() {
        Random r = random("garbage");
        List<byte[]> valid = new ArrayList<>();
        for (Function<Random, Frame> generator : generators()) {
            Frame frame = generator.apply(r);
            byte[] body = FrameCodec.toBytes(frame);
            if (body.length < 5_000) {
                valid.add(body);
            }
        }
        for (int i = 0; i < 5_000; i++) {
            byte[] input;
            if (i % 2 == 0) {
                input = new byte[r.nextInt(64)];
                r.nextBytes(input);
                if (input.length > 0) {
                    input[0] = (byte) new int[] {1, 2, 3, 0x10, 0x11, 0x12, 0x13, 0x14, 0x20, 0x21, 0x22}[r.nextInt(11)];
                }
            } else {
                input = valid.get(r.nextInt(valid.size())).clone();
                for (int flips = 1 + r.nextInt(3); flips > 0; flips--) {
                    input[r.nextInt(input.length)] = (byte) r.nextInt(256);
                }
            }
            try {
                FrameCodec.fromBytes(input);
            } catch (MalformedFrameException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            } catch (RuntimeException e) {
                throw new AssertionError("decode of " + Arrays.toString(input) + " threw " + e, e);
            }
        }
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private static byte[] body(Writer writer) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        writer.write(out);
        out.flush();
        return bytes.toByteArray();
    }

    @Test
    void textIsUtf8() throws IOException {
        byte[] body = FrameCodec.toBytes(new Frame.TopologyResponse(1, "é"));
        assertThat(Arrays.copyOfRange(body, 9, body.length))
                .isEqualTo(new byte[] {0, 0, 0, 2, "é".getBytes(StandardCharsets.UTF_8)[0], "é".getBytes(StandardCharsets.UTF_8)[1]});
    }
}
