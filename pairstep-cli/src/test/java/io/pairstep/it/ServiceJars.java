package io.pairstep.it;

import io.pairstep.api.Service;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Builds service jars in a test's own directory, from Java source compiled with javax.tools, so
 * that their classes are on no node's class path and can only arrive as an uploaded artifact.
 */
final class ServiceJars {

    private ServiceJars() {}

    /** A tally per partition: each command adds a number and answers {@code p<partition>=<total>}. */
    static final String TALLY = """
            package it.artifacts;

            import io.pairstep.api.Context;
            import io.pairstep.api.Service;
            import java.nio.charset.StandardCharsets;

            public final class Tally implements Service {
                private long total;

                public byte[] apply(byte[] command, Context context) {
                    total += Long.parseLong(new String(command, StandardCharsets.UTF_8).strip());
                    return ("p" + context.partition() + "=" + total).getBytes(StandardCharsets.UTF_8);
                }

                public byte[] snapshot() {
                    return Long.toString(total).getBytes(StandardCharsets.UTF_8);
                }

                public void restore(byte[] snapshot) {
                    total = snapshot.length == 0 ? 0 : Long.parseLong(new String(snapshot, StandardCharsets.UTF_8));
                }
            }
            """;

    /** A class that is not a service. */
    static final String PLAIN = """
            package it.artifacts;

            public final class Plain {
            }
            """;

    /** Compiles {@code source} (one public class {@code it.artifacts.NAME}) into {@code DIR/NAME.jar}. */
    static Path build(Path dir, String name, String source) throws IOException {
        Path sources = Files.createDirectories(dir.resolve(name + "-src/it/artifacts"));
        Path classes = Files.createDirectories(dir.resolve(name + "-classes"));
        Path file = Files.writeString(sources.resolve(name + ".java"), source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        if (javac == null) {
            throw new IllegalStateException("these tests need a JDK with javac, not a JRE");
        }
        String api;
        try {
            api = Path.of(Service.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        int status = javac.run(null, null, null, "-classpath", api, "-d", classes.toString(), file.toString());
        if (status != 0) {
            throw new IllegalStateException("javac failed on " + file);
        }
        Path jar = dir.resolve(name + ".jar");
        try (OutputStream out = Files.newOutputStream(jar); JarOutputStream zip = new JarOutputStream(out);
                Stream<Path> walk = Files.walk(classes)) {
            for (Path path : walk.filter(Files::isRegularFile).sorted().toList()) {
                zip.putNextEntry(new JarEntry(classes.relativize(path).toString().replace('\\', '/')));
                zip.write(Files.readAllBytes(path));
                zip.closeEntry();
            }
        }
        return jar;
    }
}
