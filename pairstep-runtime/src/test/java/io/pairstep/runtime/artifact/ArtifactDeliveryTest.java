package io.pairstep.runtime.artifact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArtifactDeliveryTest {

    @TempDir
    Path dir;

    /** Peers that answer with whatever bytes the test gave them; a peer with none does not hold the jar. */
    private final Map<String, byte[]> held = new ConcurrentHashMap<>();
    private final List<String> asked = new CopyOnWriteArrayList<>();

    private ArtifactDelivery.Source source() {
        return (peer, digest) -> {
            asked.add(peer.node());
            if (peer.node().equals("down")) {
                throw new IOException("connection refused");
            }
            byte[] bytes = held.get(peer.node());
            return bytes == null ? null : new ByteArrayInputStream(bytes);
        };
    }

    private static List<ArtifactDelivery.Peer> peers(String... nodes) {
        return java.util.Arrays.stream(nodes).map(n -> new ArtifactDelivery.Peer(n, "127.0.0.1:1")).toList();
    }

    @Test
    void otherBytesFromAPeerAreRefusedAndTheNextPeerIsAsked() throws IOException {
        byte[] jar = TestJars.jar(0, ArtifactDeliveryTest.class);
        byte[] other = TestJars.jar(1, ArtifactDeliveryTest.class);
        String digest = ArtifactStore.sha256(jar);
        held.put("liar", other);
        held.put("good", jar);
        ArtifactStore store = new ArtifactStore(dir.resolve("artifacts"));
        try (ArtifactDelivery delivery = new ArtifactDelivery(store, source(), () -> peers("empty", "down", "liar", "good"), d -> {})) {
            assertThat(delivery.fetchOnce(digest)).isTrue();
        }
        assertThat(asked).containsExactly("empty", "down", "liar", "good");
        assertThat(Files.readAllBytes(store.verified(digest))).isEqualTo(jar);
        assertThat(store.has(ArtifactStore.sha256(other))).isFalse();
    }

    @Test
    void whenOnlyWrongBytesAreOfferedNothingIsStored() throws IOException {
        byte[] jar = TestJars.jar(0, ArtifactDeliveryTest.class);
        held.put("liar", TestJars.jar(1, ArtifactDeliveryTest.class));
        ArtifactStore store = new ArtifactStore(dir.resolve("artifacts"));
        try (ArtifactDelivery delivery = new ArtifactDelivery(store, source(), () -> peers("liar"), d -> {})) {
            assertThat(delivery.fetchOnce(ArtifactStore.sha256(jar))).isFalse();
        }
        try (var files = Files.list(dir.resolve("artifacts"))) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void aWantedJarIsFetchedOnceAPeerHasItAndReportedOnce() throws IOException {
        byte[] jar = TestJars.jar(0, ArtifactDeliveryTest.class);
        String digest = ArtifactStore.sha256(jar);
        ArtifactStore store = new ArtifactStore(dir.resolve("artifacts"));
        List<String> arrived = new CopyOnWriteArrayList<>();
        try (ArtifactDelivery delivery = new ArtifactDelivery(store, source(), () -> peers("late"), arrived::add)) {
            delivery.want(digest);
            delivery.want(digest);
            await().atMost(Duration.ofSeconds(10)).until(() -> asked.size() >= 2); // asked, and asked again
            assertThat(arrived).isEmpty();
            held.put("late", jar);
            await().atMost(Duration.ofSeconds(10)).until(() -> !arrived.isEmpty());
            delivery.want(digest); // already here: nothing more
        }
        assertThat(arrived).containsExactly(digest);
        assertThat(store.has(digest)).isTrue();
    }
}
