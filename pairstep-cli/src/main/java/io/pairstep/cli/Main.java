package io.pairstep.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The {@code pairstep} command line. */
@Command(name = "pairstep", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Pairstep: a fault-tolerant runtime for JVM services.",
                "Commands that talk to a system take --cluster HOST:PORT[,HOST:PORT...] (node HTTP addresses,"
                        + " tried in order) or --dir DIR (a local cluster made by 'cluster start')."},
        subcommands = {NodeCommand.class, ClusterCommand.class, DeployCommand.class, StatusCommand.class, ServicesCommand.class,
                EventsCommand.class, IncidentsCommand.class, CallCommand.class, UpgradeCommand.class, RollingRestartCommand.class,
                FaultCommand.class, DumpCommand.class, ResumeCommand.class, CertsCommand.class, DemoCommand.class,
                BenchCommand.class, CommandLine.HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success",
                "1:error (unreachable system, error answer, failed startup, ...)",
                "2:usage error (unknown option, missing or invalid argument)",
                "3:call: the service refused the command (HTTP 422, an application error)"})
public final class Main implements Runnable {

    /** Set to print stack traces of unexpected errors. */
    static final String DEBUG_ENV = "PAIRSTEP_DEBUG";

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command");
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(new java.io.OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new java.io.OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        int code = execute(args, out, err);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs the command line with the given streams; returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = commandLine();
        cl.setOut(out);
        cl.setErr(err);
        return cl.execute(args);
    }

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler(Main::handleExecutionException);
        cl.setParameterExceptionHandler(Main::handleParameterException);
        return cl;
    }

    private static int handleParameterException(ParameterException ex, String[] args) {
        CommandLine cl = ex.getCommandLine();
        PrintWriter err = cl.getErr();
        String name = cl.getCommandSpec().qualifiedName();
        err.println(name + ": " + ex.getMessage() + " (see '" + name + " --help')");
        err.flush();
        return ExitCodes.USAGE;
    }

    private static int handleExecutionException(Exception ex, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        if (ex instanceof CliException ce) {
            String name = cl.getCommandSpec().qualifiedName();
            if (ce.exitCode() == ExitCodes.USAGE) {
                err.println(name + ": " + ce.getMessage() + " (see '" + name + " --help')");
            } else {
                err.println("pairstep: " + ce.getMessage());
            }
            err.flush();
            return ce.exitCode();
        }
        boolean node = cl.getCommand() instanceof NodeCommand;
        if (node || System.getenv(DEBUG_ENV) != null) {
            StringWriter trace = new StringWriter();
            ex.printStackTrace(new PrintWriter(trace));
            err.println("pairstep: " + (node ? "the node failed: " : "unexpected error: ") + trace);
        } else {
            err.println("pairstep: unexpected error: " + ex + " (set " + DEBUG_ENV + "=1 for details)");
        }
        err.flush();
        return ExitCodes.ERROR;
    }

    /** The version from the jar's manifest, if any. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return List.of("pairstep " + (v == null ? "(development build)" : v)).toArray(new String[0]);
        }
    }
}
