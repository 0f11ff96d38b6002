package io.pairstep.runtime.artifact;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Random;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;

/** Jars made in tests. */
public final class TestJars {

    private TestJars() {}

    /** A jar holding the class files of the given classes (read from this test's class path) and some padding. */
    public static byte[] jar(int paddingBytes, Class<?>... classes) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream jar = new JarOutputStream(bytes)) {
            for (Class<?> type : classes) {
                String name = type.getName().replace('.', '/') + ".class";
                jar.putNextEntry(new JarEntry(name));
                try (InputStream in = type.getClassLoader().getResourceAsStream(name)) {
                    in.transferTo(jar);
                }
                jar.closeEntry();
            }
            if (paddingBytes > 0) {
                byte[] padding = new byte[paddingBytes];
                new Random(paddingBytes).nextBytes(padding); // incompressible, so the jar really is this large
                jar.putNextEntry(new JarEntry("padding.bin"));
                jar.write(padding);
                jar.closeEntry();
            }
        }
        return bytes.toByteArray();
    }

}
