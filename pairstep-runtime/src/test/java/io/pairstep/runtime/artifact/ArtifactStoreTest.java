package io.pairstep.runtime.artifact;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ArtifactStoreTest {

    @TempDir
    Path dir;

    private Path store() {
        return dir.resolve("artifacts");
    }

    private String[] files() throws IOException {
        if (!Files.exists(store())) {
            return new String[0];
        }
        try (Stream<Path> list = Files.list(store())) {
            return list.map(p -> p.getFileName().toString()).sorted().toArray(String[]::new);
        }
    }

    @Test
    void aJarIsStoredUnderItsDigestAndVerified() throws IOException {
        byte[] bytes = TestJars.jar(3 * 1024 * 1024, ArtifactStoreTest.class);
        ArtifactStore store = new ArtifactStore(store());
        String digest = store.put(new ByteArrayInputStream(bytes), ArtifactStore.sha256(bytes), jar -> {});
        assertThat(digest).isEqualTo(ArtifactStore.sha256(bytes));
        assertThat(files()).containsExactly(digest + ".jar");
        assertThat(store.has(digest)).isTrue();
        assertThat(Files.readAllBytes(store.verified(digest))).isEqualTo(bytes);
        // The same bytes again: one file, the same name.
        assertThat(store.put(new ByteArrayInputStream(bytes), null, jar -> {})).isEqualTo(digest);
        assertThat(files()).containsExactly(digest + ".jar");
    }

    @Test
    void badJarsAreRefusedWithAReasonAndLeaveNothing() throws IOException {
        ArtifactStore store = new ArtifactStore(store());
        byte[] good = TestJars.jar(0, ArtifactStoreTest.class);
        assertThatThrownBy(() -> store.put(new ByteArrayInputStream("not a jar".getBytes()), null, jar -> {}))
                .isInstanceOf(ArtifactStore.Refused.class).hasMessageContaining("not a jar");
        assertThatThrownBy(() -> store.put(new ByteArrayInputStream(new byte[0]), null, jar -> {}))
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> store.put(new ByteArrayInputStream(TestJars.jar(10)), null, jar -> {}))
                .hasMessageContaining("no .class file");
        String other = "0".repeat(64);
        assertThatThrownBy(() -> store.put(new ByteArrayInputStream(good), other, jar -> {}))
                .isInstanceOf(ArtifactStore.Refused.class)
                .satisfies(e -> assertThat(((ArtifactStore.Refused) e).code()).isEqualTo("DIGEST_MISMATCH"))
                .hasMessageContaining(ArtifactStore.sha256(good)).hasMessageContaining(other);
        assertThatThrownBy(() -> store.put(new ByteArrayInputStream(good), "XYZ", jar -> {}))
                .hasMessageContaining("not a SHA-256 digest");
        assertThatThrownBy(() -> store.put(new ByteArrayInputStream(good), null, jar -> {
            throw new IllegalArgumentException("class com.example.Nope not found in the jar");
        })).hasMessage("class com.example.Nope not found in the jar");
        assertThat(files()).isEmpty();
    }

    @Test
    void aJarOverTheLimitIsRefusedBeforeItIsAllRead() {
        ArtifactStore store = new ArtifactStore(store());
        InputStream endless = new InputStream() {
            long served;

            @Override
            public int read() {
                return served++ < ArtifactStore.ARTIFACT_BYTES_MAX * 2 ? 0 : -1;
            }

            @Override
            public int read(byte[] buffer, int offset, int length) {
                served += length;
                return served < ArtifactStore.ARTIFACT_BYTES_MAX * 2 ? length : -1;
            }
        };
        assertThatThrownBy(() -> store.put(endless, null, jar -> {}))
                .satisfies(e -> assertThat(((ArtifactStore.Refused) e).status()).isEqualTo(413));
    }

    @Test
    void aCopyDamagedOnDiskIsRefusedAndDeleted() throws IOException {
        byte[] bytes = TestJars.jar(0, ArtifactStoreTest.class);
        ArtifactStore store = new ArtifactStore(store());
        String digest = store.put(new ByteArrayInputStream(bytes), null, jar -> {});
        byte[] damaged = bytes.clone();
        damaged[damaged.length / 2] ^= 1;
        Files.write(store.path(digest), damaged);
        assertThatThrownBy(() -> store.verified(digest)).isInstanceOf(ArtifactStore.Refused.class)
                .hasMessageContaining("damaged on disk");
        assertThat(store.has(digest)).isFalse();
        assertThatThrownBy(() -> store.verified(digest)).hasMessageContaining("does not hold");
    }
}
