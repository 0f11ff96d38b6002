package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.GroupId;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.SessionTable;
import io.pairstep.core.replica.StateCodec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The dump file a lockstep member leaves behind is readable text that names where it stood. */
class LockstepAgentDumpTest {

    @TempDir
    Path dir;

    @Test
    void aDumpNamesReasonEpochIndexAndHoldsTheStateAndEntries() throws Exception {
        byte[] service = "{\"entries\":{\"a\":1}}".getBytes(StandardCharsets.UTF_8);
        byte[] state = StateCodec.encode(7, 3, 1000, new SessionTable(10), service);
        List<LogEntry> entries = List.of(
                new LogEntry(6, 3, 999, 11, 1, "{\"op\":\"put\"}".getBytes(StandardCharsets.UTF_8)),
                new LogEntry(7, 3, 1000, 11, 2, new byte[] {(byte) 0xff, 0}));
        Path file = LockstepAgent.writeDump(dir.resolve("dumps"), new GroupId("kv", 2), "n2", 4,
                "n2 diverged at entry 7:\noutvoted", 7, state, entries);

        assertThat(file.getParent()).isEqualTo(dir.resolve("dumps"));
        assertThat(file.getFileName().toString()).startsWith("kv-2-e4-i7-").endsWith(".dump");
        assertThat(Files.list(file.getParent())).as("no temporary file left").hasSize(1);
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        assertThat(lines).contains(
                "reason: n2 diverged at entry 7:\\noutvoted",
                "service: kv",
                "partition: 2",
                "node: n2",
                "epoch: 4",
                "index: 7",
                "state.index: 7",
                "state.epoch: 3",
                "state.service.text: \"{\\\"entries\\\":{\\\"a\\\":1}}\"",
                "entries: 2",
                "entry index=6 epoch=3 time=999 session=11 sequence=1 payload=\"{\\\"op\\\":\\\"put\\\"}\"",
                "entry index=7 epoch=3 time=1000 session=11 sequence=2 payload=base64:/wA=");
        String encoded = lines.stream().filter(l -> l.startsWith("state.base64: ")).findFirst().orElseThrow().substring(14);
        assertThat(Base64.getDecoder().decode(encoded)).as("the whole state, restorable").isEqualTo(state);
    }
}
