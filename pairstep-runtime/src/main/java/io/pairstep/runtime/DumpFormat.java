package io.pairstep.runtime;

import io.pairstep.core.GroupId;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.StateCodec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.Base64;
import java.util.List;

/**
 * The one dump format, for a member that leaves with a suspect state, a replica that crashed, and
 * a quick dump of a running partition ({@code pairstep dump}): a header of {@code key: value}
 * lines (reason, service, artifact, partition, node, role, epoch, index), the state decoded as far as the
 * runtime knows it (the service's own rendering as {@code state.service.text}, JSON for the
 * examples), the whole encoded state in Base64, and the last entries one per line. {@code
 * pairstep dump --inspect} reads every one of them.
 */
public final class DumpFormat {

    /** The first line of every dump. */
    public static final String FIRST_LINE = "pairstep lockstep member dump";

    private DumpFormat() {}

    /**
     * What a dump reflects: the member's state exactly as of log position {@code index}, in
     * {@code epoch}; {@code role} is null when unknown (a member leaving its group).
     */
    public record Header(GroupId group, String node, String role, long epoch, long index, String reason, String artifact) {

        /** A header that does not name the service's code. */
        public Header(GroupId group, String node, String role, long epoch, long index, String reason) {
            this(group, node, role, epoch, index, reason, null);
        }
    }

    /** The dump as text. */
    public static String render(Header header, Instant written, byte[] state, List<LogEntry> lastEntries) {
        StringBuilder text = new StringBuilder();
        text.append(FIRST_LINE).append('\n');
        text.append("written: ").append(written).append('\n');
        text.append("reason: ").append(oneLine(header.reason())).append('\n');
        text.append("service: ").append(header.group().service()).append('\n');
        if (header.artifact() != null) {
            // The code whose state this is (example:NAME or sha256:DIGEST), so the state can be restored into it.
            text.append("artifact: ").append(header.artifact()).append('\n');
        }
        text.append("partition: ").append(header.group().partition()).append('\n');
        text.append("node: ").append(header.node()).append('\n');
        if (header.role() != null) {
            text.append("role: ").append(header.role()).append('\n');
        }
        text.append("epoch: ").append(header.epoch()).append('\n');
        text.append("index: ").append(header.index()).append('\n');
        try {
            StateCodec.State decoded = StateCodec.decode(state);
            text.append("state.index: ").append(decoded.index()).append('\n');
            text.append("state.epoch: ").append(decoded.epoch()).append('\n');
            text.append("state.service.bytes: ").append(decoded.service().length).append('\n');
            text.append("state.service.text: ").append(printable(decoded.service())).append('\n');
        } catch (RuntimeException e) {
            text.append("state.undecodable: ").append(oneLine(e.toString())).append('\n');
        }
        text.append("state.base64: ").append(Base64.getEncoder().encodeToString(state)).append('\n');
        text.append("entries: ").append(lastEntries.size()).append('\n');
        for (LogEntry entry : lastEntries) {
            text.append("entry index=").append(entry.index())
                    .append(" epoch=").append(entry.epoch())
                    .append(" time=").append(entry.timestampMillis())
                    .append(" session=").append(entry.session())
                    .append(" sequence=").append(entry.sequence())
                    .append(" payload=").append(printable(entry.payload()))
                    .append('\n');
        }
        return text.toString();
    }

    /** The name a dump file gets: service, partition, epoch and index, then the time for uniqueness. */
    public static String fileName(Header header, Instant written) {
        return header.group().service() + "-" + header.group().partition() + "-e" + header.epoch() + "-i" + header.index() + "-"
                + written.toEpochMilli() + ".dump";
    }

    /** Writes a dump into {@code directory}, atomically (no half-written dump is ever seen there). */
    static Path write(Path directory, Header header, byte[] state, List<LogEntry> lastEntries) throws IOException {
        Files.createDirectories(directory);
        Instant written = Instant.now();
        String name = fileName(header, written);
        Path file = directory.resolve(name);
        Path temporary = directory.resolve(name + ".tmp");
        Files.writeString(temporary, render(header, written, state, lastEntries), StandardCharsets.UTF_8);
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE);
        return file;
    }

    /** Valid UTF-8 as a quoted, escaped string; anything else as {@code base64:...}. */
    private static String printable(byte[] bytes) {
        try {
            String s = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString();
            return '"' + oneLine(s.replace("\\", "\\\\").replace("\"", "\\\"")) + '"';
        } catch (CharacterCodingException e) {
            return "base64:" + Base64.getEncoder().encodeToString(bytes);
        }
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace("\r", "\\r").replace("\n", "\\n");
    }
}
