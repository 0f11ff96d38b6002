package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.SessionTable;
import io.pairstep.core.replica.StateCodec;
import io.pairstep.runtime.DumpFormat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code pairstep dump --inspect} reads quick dumps and the dumps nodes write on isolation or crash. */
class DumpCommandTest {

    @TempDir
    Path dir;

    private Path write(String name, DumpFormat.Header header, byte[] service, List<LogEntry> entries) throws Exception {
        byte[] state = StateCodec.encode(header.index(), 2, 1000, new SessionTable(10), service);
        Path file = dir.resolve(name);
        Files.writeString(file, DumpFormat.render(header, Instant.parse("2026-11-22T07:00:00Z"), state, entries), StandardCharsets.UTF_8);
        return file;
    }

    @Test
    void inspectPrintsTheHeaderThenTheStateAsPrettyJson() throws Exception {
        // The text holds an escaped quote and a newline, to show the rendering is undone exactly.
        String json = "{\"entries\":{\"a\":1,\"b \\\"x\\\"\":\"two\\nlines\"}}";
        Path file = write("q.dump", new DumpFormat.Header(new GroupId("kv", 1), "n2", "backup", 5, 42,
                "quick dump (pairstep dump) from the backup"), json.getBytes(StandardCharsets.UTF_8), List.of());

        Cli r = Cli.run("dump", "--inspect", file.toString());

        assertThat(r.exit()).as(r.err()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("service:               kv", "partition:             1", "node:                  n2",
                "role:                  backup", "epoch:                 5", "index:                 42",
                "written:               2026-11-22T07:00:00Z");
        assertThat(r.out()).doesNotContain("state.base64");
        String state = r.out().substring(r.out().indexOf("state:\n") + "state:\n".length()).strip();
        assertThat(Json.MAPPER.readTree(state)).isEqualTo(Json.MAPPER.readTree(json));
        assertThat(state).as("pretty, one field per line").contains("\n  \"entries\" : {\n    \"a\" : 1,");
    }

    @Test
    void inspectRestoresAnExampleStateIntoAFreshReplicaAndNamesItsDigest() throws Exception {
        io.pairstep.api.Service kv = io.pairstep.examples.Examples.create("kv");
        kv.apply("{\"op\":\"put\",\"key\":\"b\",\"value\":2}".getBytes(StandardCharsets.UTF_8), null);
        kv.apply("{\"op\":\"put\",\"key\":\"a\",\"value\":1}".getBytes(StandardCharsets.UTF_8), null);
        DumpFormat.Header header = new DumpFormat.Header(new GroupId("votes", 0), "n2", "backup", 5, 42, "quick dump", "example:kv");
        Path file = write("kv.dump", header, kv.snapshot(), List.of());
        Path same = write("kv-again.dump", new DumpFormat.Header(new GroupId("votes", 0), "n3", "backup", 5, 42, "quick dump",
                "example:kv"), kv.snapshot(), List.of());

        Cli r = Cli.run("dump", "--inspect", file.toString());
        assertThat(r.exit()).as(r.err()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("artifact:              example:kv", "restored:              restores into a fresh example:kv replica at"
                + " index 42, state SHA-256 ");
        String digest = r.out().lines().filter(l -> l.startsWith("restored:")).findFirst().orElseThrow();
        assertThat(Cli.run("dump", "--inspect", same.toString()).out()).as("another member at the same index").contains(digest);

        // A state that does not restore to itself (keys out of the order a kv replica writes them) is refused.
        Path odd = write("odd.dump", header, "{\"entries\":{\"b\":2,\"a\":1}}".getBytes(StandardCharsets.UTF_8), List.of());
        Cli bad = Cli.run("dump", "--inspect", odd.toString());
        assertThat(bad.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(bad.err()).contains("the dumped state does not restore to itself: a fresh example:kv replica restored from it encodes");
    }

    @Test
    void inspectReadsAnIsolationDumpWithItsEntriesAndABinaryState() throws Exception {
        Path file = write("iso.dump", new DumpFormat.Header(new GroupId("bank", 0), "n3", null, 7, 9, "n3 diverged at entry 9"),
                new byte[] {(byte) 0xff, 0, 1}, List.of(new LogEntry(9, 7, 999, 11, 2, "{\"op\":\"put\"}".getBytes(StandardCharsets.UTF_8))));

        Cli r = Cli.run("dump", "--inspect", file.toString());

        assertThat(r.exit()).as(r.err()).isEqualTo(ExitCodes.OK);
        assertThat(r.out()).contains("reason:                n3 diverged at entry 9", "(binary, not text: 3 bytes)",
                "last entries (1):", "  index=9 epoch=7 time=999 session=11 sequence=2 payload=");
        assertThat(r.out()).doesNotContain("role:");
    }

    @Test
    void aFileThatIsNotADumpIsAClearError() throws Exception {
        Path file = dir.resolve("notes.txt");
        Files.writeString(file, "hello\n");
        Cli r = Cli.run("dump", "--inspect", file.toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).contains(file + " is not a pairstep dump");

        Path truncated = dir.resolve("cut.dump");
        Files.writeString(truncated, DumpFormat.FIRST_LINE + "\nservice: kv\n");
        r = Cli.run("dump", "--inspect", truncated.toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).contains("is not a complete pairstep dump: it has no partition line");
    }

    @Test
    void aMissingFileIsAClearError() {
        Cli r = Cli.run("dump", "--inspect", dir.resolve("nope.dump").toString());
        assertThat(r.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(r.err()).contains("cannot read " + dir.resolve("nope.dump"));
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertThat(Cli.run("dump", "--dir", dir.toString()).err()).contains("missing SERVICE (or --inspect FILE)");
        assertThat(Cli.run("dump", "kv", "--partition", "-1", "--dir", dir.toString()).exit()).isEqualTo(ExitCodes.USAGE);
        Cli both = Cli.run("dump", "kv", "--inspect", "x.dump");
        assertThat(both.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(both.err()).contains("--inspect FILE takes no SERVICE");
    }
}
