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
 * uploaded jar with one class loader per jar digest, so two versions never share classes. A class
 * of the jar that does not implement {@link Service} is served by {@link PojoService}. A jar's
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
        return instances(loader, spec.className(), spec.artifact());
    }

    /**
     * Checks that {@code jar} holds {@code className}, either a {@link Service} with a public
     * no-argument constructor or a plain Java object that {@link PojoService} can serve.
     */
    static void check(Path jar, String className) {
        try (URLClassLoader loader = newLoader(jar)) {
            instances(loader, className, "the jar");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the jar: " + e.getMessage(), e);
        }
    }

    private static Supplier<Service> instances(ClassLoader loader, String className, String where) {
        Class<?> type;
        try {
            type = Class.forName(className, true, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException("class " + className + " not found in " + where + " (" + e + ")", e);
        }
        if (!Service.class.isAssignableFrom(type)) {
            // A class with no dependency on Pairstep: its public methods are the commands, its fields the state.
            PojoService.Commands commands;
            try {
                commands = PojoService.inspect(type);
            } catch (IllegalArgumentException | LinkageError e) {
                throw new IllegalArgumentException("class " + className + " does not implement " + Service.class.getName()
                        + " and cannot be served as a plain Java object: " + e.getMessage(), e);
            }
            return () -> new PojoService(commands);
        }
        Class<? extends Service> serviceType = type.asSubclass(Service.class);
        try {
            serviceType.getConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalArgumentException("class " + className + " needs a public no-argument constructor that works (" + e + ")", e);
        }
        return () -> {
            try {
                return serviceType.getConstructor().newInstance();
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot instantiate " + className, e);
            }
        };
    }

    private static URLClassLoader newLoader(Path jar) {
        try {
            return new URLClassLoader("service-" + jar.getFileName(), new URL[] {jar.toUri().toURL()}, Service.class.getClassLoader());
        } catch (MalformedURLException e) {
            throw new IllegalArgumentException("cannot open jar " + jar, e);
        }
    }
}
