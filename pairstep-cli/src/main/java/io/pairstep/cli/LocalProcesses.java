package io.pairstep.cli;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** Node processes on this machine: launching, finding, signalling, stopping; free ports; log tails. */
final class LocalProcesses {

    /**
     * JVM flags every node started by {@code cluster start} gets, before {@code
     * PAIRSTEP_NODE_JAVA_OPTS}. Several nodes share a small machine: the serial collector keeps
     * pauses short, and short pauses keep the failure detector quiet. The heap starts small and is
     * not pre-touched: the kernel frees a killed process's memory before it closes its sockets, so
     * every touched page delays the moment the other nodes see the death (about 5 ms for a small
     * heap against 20-70 ms for 256 MB pre-touched, measured on 2 cores).
     */
    static final List<String> NODE_JVM_FLAGS =
            List.of("-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED");

    static final String NODE_JAVA_OPTS_ENV = "PAIRSTEP_NODE_JAVA_OPTS";

    private LocalProcesses() {
    }

    // ---------------------------------------------------------------- launching

    /** The JVM running this CLI. */
    static String javaExecutable() {
        return ProcessHandle.current().info().command()
                .filter(c -> Files.isExecutable(Path.of(c)))
                .orElseGet(() -> Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * The command prefix that runs this CLI in a new JVM with the node flags: {@code java FLAGS -jar
     * pairstep.jar}, or {@code java FLAGS -cp CLASSPATH io.pairstep.cli.Main} when not running from a jar.
     */
    static List<String> cliLaunchPrefix(String envJavaOpts) {
        List<String> flags = new ArrayList<>(NODE_JVM_FLAGS);
        flags.addAll(splitOpts(envJavaOpts));
        return launchPrefix(flags);
    }

    /**
     * JVM flags for the short-lived CLI commands that {@link LocalSystem} runs (the demo, the bench and
     * the tests), after the built-in ones; the tests use it for a class-data archive that every such
     * JVM maps instead of loading the same classes again.
     */
    static final String CLI_JAVA_OPTS_ENV = "PAIRSTEP_CLI_JAVA_OPTS";

    /** The command prefix for a short-lived CLI command: a small JVM that starts fast, then $PAIRSTEP_CLI_JAVA_OPTS. */
    static List<String> shortCommandPrefix() {
        return shortCommandPrefix(System.getenv(CLI_JAVA_OPTS_ENV));
    }

    static List<String> shortCommandPrefix(String envJavaOpts) {
        List<String> flags = new ArrayList<>(List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED"));
        flags.addAll(splitOpts(envJavaOpts));
        return launchPrefix(flags);
    }

    private static List<String> launchPrefix(List<String> flags) {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaExecutable());
        cmd.addAll(flags);
        Path source = codeSource();
        if (source != null && Files.isRegularFile(source)) {
            cmd.add("-jar");
            cmd.add(source.toString());
        } else {
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(Main.class.getName());
        }
        return cmd;
    }

    static List<String> splitOpts(String opts) {
        if (opts == null || opts.isBlank()) {
            return List.of();
        }
        return Arrays.stream(opts.trim().split("\\s+")).toList();
    }

    /**
     * The jar that runs this CLI: the distribution jar named by the {@code pairstep.jar} system
     * property when set (tests run from the module's thin jar), else wherever this class came from.
     */
    private static Path codeSource() {
        String distribution = System.getProperty("pairstep.jar");
        if (distribution != null && Files.isRegularFile(Path.of(distribution))) {
            return Path.of(distribution).toAbsolutePath();
        }
        CodeSource cs = Main.class.getProtectionDomain().getCodeSource();
        if (cs == null || cs.getLocation() == null) {
            return null;
        }
        try {
            return Path.of(cs.getLocation().toURI()).toAbsolutePath();
        } catch (URISyntaxException | IllegalArgumentException e) {
            return null;
        }
    }

    /**
     * Starts a node's command as a background process: output (appended) to its {@code node.log},
     * input from {@code /dev/null}, working directory its node directory.
     */
    static Process launch(List<String> command, Path nodeDir, Path log) {
        try {
            Files.createDirectories(nodeDir);
            ProcessBuilder pb = new ProcessBuilder(command)
                    .directory(nodeDir.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            return pb.start();
        } catch (IOException e) {
            throw new CliException("cannot start '" + command.get(0) + "': " + ApiClient.describe(e));
        }
    }

    // ---------------------------------------------------------------- finding

    /** The live process of a node listed in cluster.json, if its pid is alive and still runs that node. */
    static Optional<ProcessHandle> live(ClusterFile.Node node) {
        if (node.pid() <= 0) {
            return Optional.empty();
        }
        return ProcessHandle.of(node.pid()).filter(LocalProcesses::alive).filter(h -> runsNode(h, node.id()));
    }

    /**
     * Whether the process runs: alive and not a zombie (a dead process nobody has reaped yet, which
     * {@link ProcessHandle#isAlive()} still reports alive).
     */
    static boolean alive(ProcessHandle h) {
        if (!h.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            int close = stat.lastIndexOf(')');
            return close < 0 || close + 2 >= stat.length() || stat.charAt(close + 2) != 'Z';
        } catch (IOException | RuntimeException e) {
            return h.isAlive();
        }
    }

    /**
     * Whether a process's arguments are those of {@code pairstep node --id ID}, so that a pid reused by
     * another process is never signalled. When the arguments cannot be read, any java process passes.
     */
    static boolean runsNode(ProcessHandle h, String id) {
        ProcessHandle.Info info = h.info();
        Optional<String[]> args = info.arguments();
        if (args.isEmpty()) {
            return info.command().map(c -> c.endsWith("/java") || c.equals("java")).orElse(false);
        }
        List<String> a = Arrays.asList(args.get());
        int i = a.indexOf("--id");
        return a.contains("node") && i >= 0 && i + 1 < a.size() && a.get(i + 1).equals(id);
    }

    // ---------------------------------------------------------------- signals

    /** Sends a signal ({@code KILL}, {@code STOP}, {@code CONT}, ...) with {@code kill -SIG PID}. */
    static void signal(long pid, String signal) {
        Process p;
        try {
            p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                    .redirectErrorStream(true)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .start();
        } catch (IOException e) {
            throw new CliException("cannot run 'kill': " + ApiClient.describe(e));
        }
        try {
            String out;
            try (InputStream in = p.getInputStream()) {
                out = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
            }
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new CliException("'kill -" + signal + " " + pid + "' did not finish");
            }
            if (p.exitValue() != 0) {
                throw new CliException("'kill -" + signal + " " + pid + "' failed"
                        + (out.isEmpty() ? "" : ": " + ApiClient.abbreviate(out)));
            }
        } catch (IOException e) {
            throw new CliException("cannot run 'kill': " + ApiClient.describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }

    /** Waits up to {@code millis} for a process to be gone; true if it is. */
    static boolean awaitExit(ProcessHandle h, long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (alive(h)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !alive(h);
            }
        }
        return true;
    }

    /** Whether the host names this machine (loopback or one of its interfaces' addresses). */
    static boolean isLocalHost(String host) {
        try {
            for (InetAddress a : InetAddress.getAllByName(host)) {
                if (a.isLoopbackAddress() || a.isAnyLocalAddress() || NetworkInterface.getByInetAddress(a) != null) {
                    return true;
                }
            }
            return false;
        } catch (UnknownHostException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    // ---------------------------------------------------------------- ports

    /** A port a node will listen on, and what for (for the error message). */
    record PortUse(String host, int port, String purpose) {
    }

    /** Whether nothing listens on (or holds) the port: we can bind it ourselves. */
    static boolean isFree(String host, int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(host, port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** A {@link CliException} naming the first port of the list that is in use. */
    static void requireFree(List<PortUse> ports, String hint) {
        for (PortUse p : ports) {
            if (!isFree(p.host(), p.port())) {
                throw new CliException("port " + p.port() + " (" + p.purpose() + ") is already in use on " + p.host()
                        + (hint == null || hint.isEmpty() ? "" : "; " + hint));
            }
        }
    }

    // ---------------------------------------------------------------- logs

    /** The last {@code lines} lines of a file, or a note that it is missing or empty. */
    static String tail(Path file, int lines) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
            long len = f.length();
            if (len == 0) {
                return "(" + file + " is empty)";
            }
            int chunk = (int) Math.min(len, 64 * 1024);
            byte[] buf = new byte[chunk];
            f.seek(len - chunk);
            f.readFully(buf);
            String text = new String(buf, StandardCharsets.UTF_8);
            String[] all = text.split("\\R", -1);
            int end = all.length;
            if (end > 0 && all[end - 1].isEmpty()) {
                end--;
            }
            int start = Math.max(chunk < len ? 1 : 0, end - lines);
            StringBuilder sb = new StringBuilder();
            for (int i = start; i < end; i++) {
                sb.append("  | ").append(all[i]).append('\n');
            }
            return sb.toString().stripTrailing();
        } catch (IOException e) {
            return "(cannot read " + file + ": " + ApiClient.describe(e) + ")";
        }
    }
}
