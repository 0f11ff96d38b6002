package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.core.Mode;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.examples.Examples;
import io.pairstep.examples.KvService;
import io.pairstep.runtime.artifact.ArtifactStore;
import io.pairstep.runtime.artifact.TestJars;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServiceFactoryTest {

    @TempDir
    Path dir;

    @Test
    void aJarMustHoldTheClassAndTheClassMustBeAService() throws Exception {
        Path jar = Files.write(dir.resolve("kv.jar"), TestJars.jar(0, KvService.class, Examples.class));
        ServiceFactory.check(jar, KvService.class.getName());
        assertThatThrownBy(() -> ServiceFactory.check(jar, "com.example.Nope"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("class com.example.Nope not found in the jar");
        assertThatThrownBy(() -> ServiceFactory.check(jar, Examples.class.getName()))
                .hasMessage("class " + Examples.class.getName() + " does not implement io.pairstep.api.Service and cannot be served"
                        + " as a plain Java object: class " + Examples.class.getName() + " needs a public no-argument constructor");
    }

    @Test
    void aServiceIsMadeOnlyFromAnIntactJarOfItsDigest() throws Exception {
        byte[] bytes = TestJars.jar(0, KvService.class, Examples.class);
        ArtifactStore store = new ArtifactStore(dir.resolve("artifacts"));
        ServiceSpec spec = new ServiceSpec("kv2", 1, Mode.PAIR, 1, "sha256:" + ArtifactStore.sha256(bytes),
                ArtifactStore.sha256(bytes), KvService.class.getName());
        assertThatThrownBy(() -> new ServiceFactory(store).factory(spec)).hasMessageContaining("does not hold");

        String digest = store.put(new ByteArrayInputStream(bytes), null, jar -> {});
        byte[] damaged = bytes.clone();
        damaged[damaged.length / 3] ^= 4;
        Files.write(store.path(digest), damaged);
        assertThatThrownBy(() -> new ServiceFactory(store).factory(spec)).hasMessageContaining("damaged on disk");

        store.put(new ByteArrayInputStream(bytes), digest, jar -> {});
        var service = new ServiceFactory(store).factory(spec).get();
        assertThat(service.getClass().getName()).isEqualTo(KvService.class.getName());
    }

    @Test
    void healthIsOkOnlyWhenEveryPartitionIsFullyProtected() {
        assertThat(StatusDocument.health(4, 4, 4, 0)).isEqualTo("ok");
        assertThat(StatusDocument.health(4, 4, 3, 0)).isEqualTo("degraded");
        assertThat(StatusDocument.health(4, 3, 3, 0)).isEqualTo("degraded");
        assertThat(StatusDocument.health(4, 4, 3, 1)).isEqualTo("halted");
    }
}
