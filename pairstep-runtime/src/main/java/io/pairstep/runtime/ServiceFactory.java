package io.pairstep.runtime;

import io.pairstep.api.Service;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.examples.Examples;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Makes fresh service instances for a deployed service: a bundled example, or a class from a jar
 * with one class loader per jar digest, so two versions never share classes.
 */
final class ServiceFactory {

    private final Map<String, ClassLoader> loaders = new ConcurrentHashMap<>();

    /** Returns a supplier of fresh instances, or throws IllegalArgumentException naming the problem. */
    Supplier<Service> factory(ServiceSpec spec) {
        String artifact = spec.artifact();
        if (artifact.startsWith("example:")) {
            String name = artifact.substring("example:".length());
            Examples.create(name);
            return () -> Examples.create(name);
        }
        Path jar = Path.of(artifact.substring("jar:".length()));
        String digest = sha256(jar);
        if (!spec.artifactDigest().isEmpty() && !digest.equals(spec.artifactDigest())) {
            throw new IllegalArgumentException("jar " + jar + " has digest " + digest + ", but the service was deployed with "
                    + spec.artifactDigest());
        }
        ClassLoader loader = loaders.computeIfAbsent(digest, d -> newLoader(jar));
        Class<?> type;
        try {
            type = Class.forName(spec.className(), true, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException("class " + spec.className() + " not found in " + jar, e);
        }
        if (!Service.class.isAssignableFrom(type)) {
            throw new IllegalArgumentException("class " + spec.className() + " does not implement " + Service.class.getName());
        }
        try {
            type.getConstructor().newInstance();
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("class " + spec.className() + " needs a public no-argument constructor", e);
        }
        return () -> {
            try {
                return (Service) type.getConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot instantiate " + spec.className(), e);
            }
        };
    }

    static String sha256(Path jar) {
        if (!Files.isRegularFile(jar) || !Files.isReadable(jar)) {
            throw new IllegalArgumentException("jar " + jar + " does not exist or is not readable");
        }
        try (InputStream in = Files.newInputStream(jar)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[65536];
            for (int read; (read = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, read);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read jar " + jar + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ClassLoader newLoader(Path jar) {
        try {
            return new URLClassLoader("service-" + jar.getFileName(), new URL[] {jar.toUri().toURL()}, Service.class.getClassLoader());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot open jar " + jar, e);
        }
    }
}
