package io.pairstep.avail.snmp;

import static org.assertj.core.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * net-snmp's command-line tools for the tests. CI installs them with {@code scripts/install-test-deps},
 * so a missing tool fails the test with that hint instead of skipping it.
 */
final class NetSnmp {

    static final String INSTALL_HINT = "run scripts/install-test-deps (Debian packages snmp and snmptrapd, and the IETF base MIBs)";

    /** The output of a finished tool. */
    record Result(int exitCode, String stdout, String stderr) {}

    private NetSnmp() {}

    /** The path of {@code name} (snmptranslate, snmptrapd), or a failed test saying how to get it. */
    static String tool(String name) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)));
        dirs.addAll(List.of("/usr/sbin", "/usr/bin"));
        for (String dir : dirs) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return fail("net-snmp's " + name + " is not installed: " + INSTALL_HINT);
    }

    /** The directory holding PAIRSTEP-MIB.txt, for net-snmp's {@code -M}. */
    static Path mibDirectory() {
        try {
            return Path.of(NetSnmp.class.getResource("/mib/PAIRSTEP-MIB.txt").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Fails the test unless net-snmp finds the IETF modules every MIB imports. */
    static void requireBaseMibs() throws Exception {
        Result result = run(List.of(tool("snmptranslate"), "-m", "SNMPv2-SMI:SNMPv2-TC:SNMPv2-CONF", "-On",
                "SNMPv2-SMI::enterprises"));
        if (!result.stdout().strip().equals(".1.3.6.1.4.1") || !result.stderr().isBlank()) {
            fail("net-snmp does not find SNMPv2-SMI, SNMPv2-TC and SNMPv2-CONF (" + result.stderr().strip() + "): "
                    + INSTALL_HINT);
        }
    }

    static Result run(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        // The tools print little; reading stdout fully before stderr cannot fill a pipe and stall.
        String stdout = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            fail(command + " did not finish in 30 s");
        }
        return new Result(process.exitValue(), stdout, stderr);
    }
}
