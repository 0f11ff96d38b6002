package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The JDK detection of the launcher script ({@code /pairstep} at the repository root), with fake JDKs. */
class LauncherTest {

    @TempDir
    Path tmp;

    Path script;
    Path tools;
    Path jvms;

    @BeforeEach
    void setUp() throws Exception {
        script = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent().resolve("pairstep");
        assumeTrue(Files.isRegularFile(script), "launcher script not found at " + script);
        assumeTrue(Files.isExecutable(Path.of("/bin/bash")), "needs bash");
        // a PATH with the tools the script uses, and no real java
        tools = Files.createDirectories(tmp.resolve("tools"));
        for (String tool : List.of("dirname", "readlink", "sed", "head", "awk", "cat", "find", "touch", "mkdir")) {
            for (String dir : List.of("/usr/bin", "/bin")) {
                Path p = Path.of(dir, tool);
                Path wrapper = tools.resolve(tool);
                if (Files.isExecutable(p) && !Files.exists(wrapper)) {
                    Files.writeString(wrapper, "#!/bin/sh\nexec " + p + " \"$@\"\n");
                    Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwxr-xr-x"));
                }
            }
        }
        jvms = Files.createDirectories(tmp.resolve("jvm"));
    }

    /** A fake JDK whose java prints the given version the way {@code java -version} does. */
    private Path fakeJdk(Path parent, String name, String version, String releaseVersion) throws IOException {
        Path home = parent.resolve(name);
        Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\necho 'openjdk version \"" + version + "\" 2024-01-16' >&2\n"
                + "echo 'OpenJDK Runtime Environment' >&2\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        if (releaseVersion != null) {
            Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"" + releaseVersion + "\"\n");
        }
        return java;
    }

    private record Result(int exit, String out, String err) {
    }

    private Result bash(Map<String, String> env, String... args) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(args);
        pb.environment().clear();
        pb.environment().put("PATH", tools.toString());
        pb.environment().put("PAIRSTEP_JVM_DIR", jvms.toString());
        pb.environment().putAll(env);
        pb.directory(tmp.toFile());
        Process p = pb.start();
        p.getOutputStream().close();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).strip(),
                new String(err, StandardCharsets.UTF_8));
    }

    private Result findJava(Map<String, String> env) throws Exception {
        return bash(env, "/bin/bash", "-c", "source \"$0\"; find_java", script.toString());
    }

    @Test
    void prefersJavaHomeWhenItIs21OrNewer() throws Exception {
        Path jdk21 = fakeJdk(tmp, "home21", "21.0.2", null);
        fakeJdk(jvms, "temurin-25", "25.0.1", null);
        Result r = findJava(Map.of("JAVA_HOME", tmp.resolve("home21").toString()));
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo(jdk21.toString());
    }

    @Test
    void fallsBackToPathThenToTheNewestUnderUsrLibJvm() throws Exception {
        fakeJdk(tmp, "home17", "17.0.9", null);
        Path pathBin = Files.createDirectories(tmp.resolve("pathjdk"));
        Path onPath = fakeJdk(pathBin, "jdk", "22", null);
        Map<String, String> env = new HashMap<>();
        env.put("JAVA_HOME", tmp.resolve("home17").toString());
        env.put("PATH", onPath.getParent() + ":" + tools);
        assertThat(findJava(env).out()).isEqualTo(onPath.toString());

        fakeJdk(jvms, "java-1.8.0-openjdk", "1.8.0_392", null);
        fakeJdk(jvms, "java-17-openjdk", "17.0.9", null);
        fakeJdk(jvms, "jdk-21", "21.0.5", null);
        Path newest = fakeJdk(jvms, "temurin-25", "17", "25.0.1"); // the release file wins over -version
        fakeJdk(jvms, "jdk-23-ea", "23-ea", null);
        Result r = findJava(Map.of("JAVA_HOME", tmp.resolve("home17").toString()));
        assertThat(r.exit()).isZero();
        assertThat(r.out()).isEqualTo(newest.toString());
    }

    @Test
    void parsesVersionStrings() throws Exception {
        for (String[] c : List.of(new String[] {"1.8.0_392", "8"}, new String[] {"17.0.9", "17"},
                new String[] {"21", "21"}, new String[] {"25-ea", "25"}, new String[] {"21.0.2+13", "21"})) {
            Path java = fakeJdk(tmp, "v" + c[0], c[0], null);
            Result r = bash(Map.of(), "/bin/bash", "-c", "source \"$0\"; java_major \"$1\"", script.toString(),
                    java.toString());
            assertThat(r.out()).as(c[0]).isEqualTo(c[1]);
        }
    }

    @Test
    void withoutAJdk21ItPrintsOneLineAndExits1() throws Exception {
        fakeJdk(jvms, "java-17-openjdk", "17.0.9", null);
        Result r = bash(Map.of(), "/bin/bash", script.toString(), "status");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).isEqualTo("pairstep: needs a JDK 21 or newer; install one (for example: apt-get install "
                + "openjdk-21-jdk or temurin-21-jdk) or set JAVA_HOME\n");
    }
}
