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

    /**
     * A plain Java object with no dependency on Pairstep: accounts with balances and a journal.
     * {@code withdraw} changes the balance before it refuses an overdraft, so a refusal that left
     * the state changed would show.
     */
    static final String LEDGER = """
            package it.artifacts;

            import java.util.ArrayList;
            import java.util.List;
            import java.util.Map;
            import java.util.TreeMap;

            public class Ledger {
                private final Map<String, Long> balances = new TreeMap<>();
                private final List<String> journal = new ArrayList<>();

                public long deposit(String account, long amount) {
                    journal.add("+" + amount + " " + account);
                    return balances.merge(account, amount, Long::sum);
                }

                public long withdraw(String account, long amount) {
                    long balance = balances.getOrDefault(account, 0L);
                    balances.put(account, balance - amount);
                    journal.add("-" + amount + " " + account);
                    if (balance < amount) {
                        throw new IllegalStateException("insufficient funds in " + account + ": " + balance);
                    }
                    return balance - amount;
                }

                public long balance(String account) {
                    return balances.getOrDefault(account, 0L);
                }

                public long balance() {
                    return balances.values().stream().mapToLong(Long::longValue).sum();
                }

                public Map<String, Long> balances() {
                    return balances;
                }

                public List<String> journal() {
                    return journal;
                }
            }
            """;

    /** A plain Java object that answers with the wall clock: not deterministic, so replicas disagree. */
    static final String CLOCK = """
            package it.artifacts;

            public class Clock {
                private long calls;

                public long now() {
                    calls++;
                    return System.nanoTime();
                }

                public long calls() {
                    return calls;
                }
            }
            """;

    /**
     * Counters by key, as {@code kv}'s {@code get} and {@code incr} answer them, plus {@code
     * {"op":"version"}}, which answers the VERSION this source is built with. Its snapshot is one
     * {@code key=value} line per key in version 1 and a tab-separated format under a header in
     * later versions, which still read version 1's: a state migration. BROKEN set to true builds a
     * version that can read no snapshot and crashes (an {@link Error}) on every command; SKEWED, one
     * that answers every {@code incr} with one more than the value it stored.
     */
    static String counters(int version, boolean broken, boolean skewed) {
        return counters(version, broken, skewed, false);
    }

    /**
     * As above; a version that {@code explodes} throws {@link StackOverflowError} on {@code
     * {"op":"explode"}}, a bug only a command shows (other versions answer it).
     */
    static String counters(int version, boolean broken, boolean skewed, boolean explodes) {
        return """
                package it.artifacts;

                import io.pairstep.api.Context;
                import io.pairstep.api.Service;
                import java.nio.charset.StandardCharsets;
                import java.util.Map;
                import java.util.TreeMap;
                import java.util.regex.Matcher;
                import java.util.regex.Pattern;

                public final class Counters implements Service {
                    private static final int VERSION = %d;
                    private static final boolean BROKEN = %b;
                    private static final boolean SKEWED = %b;
                    private static final boolean EXPLODES = %b;
                    private static final Pattern OP = Pattern.compile("\\"op\\":\\"([A-Za-z]+)\\"");
                    private static final Pattern KEY = Pattern.compile("\\"key\\":\\"([^\\"]*)\\"");
                    private static final Pattern BY = Pattern.compile("\\"by\\":(-?[0-9]+)");
                    private final TreeMap<String, Long> values = new TreeMap<>();

                    public byte[] apply(byte[] bytes, Context context) {
                        if (BROKEN) {
                            throw new AssertionError("Counters version " + VERSION + " is deliberately broken");
                        }
                        String command = new String(bytes, StandardCharsets.UTF_8);
                        String op = find(OP, command);
                        String answer;
                        if (op.equals("version")) {
                            answer = "{\\"version\\":" + VERSION + "}";
                        } else if (op.equals("explode")) {
                            if (EXPLODES) {
                                throw new StackOverflowError("Counters version " + VERSION + " explodes");
                            }
                            answer = "{\\"exploded\\":false}";
                        } else if (op.equals("get")) {
                            Long value = values.get(find(KEY, command));
                            answer = "{\\"value\\":" + value + "}";
                        } else if (op.equals("incr")) {
                            long value = values.merge(find(KEY, command), Long.parseLong(find(BY, command)), Long::sum);
                            answer = "{\\"value\\":" + (SKEWED ? value + 1 : value) + "}";
                        } else {
                            throw new IllegalArgumentException("unknown op " + op);
                        }
                        return answer.getBytes(StandardCharsets.UTF_8);
                    }

                    private static String find(Pattern pattern, String command) {
                        Matcher matcher = pattern.matcher(command);
                        if (!matcher.find()) {
                            throw new IllegalArgumentException("malformed command " + command);
                        }
                        return matcher.group(1);
                    }

                    public byte[] snapshot() {
                        StringBuilder text = new StringBuilder(VERSION == 1 ? "" : "counters/2\\n");
                        for (Map.Entry<String, Long> e : values.entrySet()) {
                            text.append(e.getKey()).append(VERSION == 1 ? "=" : "\\t").append(e.getValue()).append('\\n');
                        }
                        return text.toString().getBytes(StandardCharsets.UTF_8);
                    }

                    public void restore(byte[] snapshot) {
                        String text = new String(snapshot, StandardCharsets.UTF_8);
                        if (BROKEN && !text.isEmpty()) {
                            throw new IllegalStateException("Counters version " + VERSION + " cannot read this state");
                        }
                        values.clear();
                        boolean v2 = text.startsWith("counters/2\\n");
                        if (v2 && VERSION == 1) {
                            throw new IllegalStateException("version 1 cannot read a version 2 state");
                        }
                        for (String line : text.split("\\n")) {
                            if (line.isEmpty() || line.equals("counters/2")) {
                                continue;
                            }
                            int cut = line.indexOf(v2 ? '\\t' : '=');
                            values.put(line.substring(0, cut), Long.parseLong(line.substring(cut + 1)));
                        }
                    }
                }
                """.formatted(version, broken, skewed, explodes);
    }

    /** Compiles {@code source} (one public class {@code it.artifacts.NAME}) into {@code DIR/NAME.jar}. */
    static Path build(Path dir, String name, String source) throws IOException {
        return build(dir, name, name, source);
    }

    /** Compiles {@code source} (one public class {@code it.artifacts.CLASSNAME}) into {@code DIR/JAR.jar}. */
    static Path build(Path dir, String jarName, String className, String source) throws IOException {
        String name = jarName;
        Path sources = Files.createDirectories(dir.resolve(name + "-src/it/artifacts"));
        Path classes = Files.createDirectories(dir.resolve(name + "-classes"));
        Path file = Files.writeString(sources.resolve(className + ".java"), source);
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
