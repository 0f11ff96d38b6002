package io.pairstep.runtime;

import io.pairstep.api.Service;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.examples.Examples;
import io.pairstep.runtime.artifact.ArtifactStore;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Makes fresh service instances for a deployed service: a bundled example, or a class from an
 * uploaded jar with one class loader per jar digest, so two versions never share classes. A jar's
 * bytes are checked against its digest before its class loader is made ({@link ArtifactStore#verified}).
 */
final class ServiceFactory {

    private final ArtifactStore artifacts;
    private final Map<String, ClassLoader> loaders = new ConcurrentHashMap<>();

    ServiceFactory(ArtifactStore artifacts) {
        this.artifacts = artifacts;
    }

    /**
     * Returns a supplier of fresh instances, or throws IllegalArgumentException naming the problem
     * ({@link ArtifactStore.Refused} when the jar is not here or not intact).
     */
    Supplier<Service> factory(ServiceSpec spec) {
        String digest = spec.jarDigest();
        if (digest == null) {
            String name = spec.artifact().substring("example:".length());
            Examples.create(name);
            return () -> Examples.create(name);
        }
        ClassLoader loader = loaders.get(digest);
        if (loader == null) {
            loader = loaders.computeIfAbsent(digest, d -> newLoader(artifacts.verified(d)));
        }
        Class<? extends Service> type = serviceClass(loader, spec.className(), spec.artifact());
        return () -> {
            try {
                return type.getConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot instantiate " + spec.className(), e);
            }
        };
    }

    /** Checks that {@code jar} holds {@code className}, a {@link Service} with a public no-argument constructor. */
    static void check(Path jar, String className) {
        try (URLClassLoader loader = newLoader(jar)) {
            serviceClass(loader, className, "the jar");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the jar: " + e.getMessage(), e);
        }
    }

    private static Class<? extends Service> serviceClass(ClassLoader loader, String className, String where) {
        Class<?> type;
        try {
            type = Class.forName(className, true, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException("class " + className + " not found in " + where + " (" + e + ")", e);
        }
        if (!Service.class.isAssignableFrom(type)) {
            throw new IllegalArgumentException("class " + className + " does not implement " + Service.class.getName());
        }
        try {
            type.getConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalArgumentException("class " + className + " needs a public no-argument constructor that works (" + e + ")", e);
        }
        return type.asSubclass(Service.class);
    }

    private static URLClassLoader newLoader(Path jar) {
        try {
            return new URLClassLoader("service-" + jar.getFileName(), new URL[] {jar.toUri().toURL()}, Service.class.getClassLoader());
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("cannot open jar " + jar, e);
        }
    }
}
