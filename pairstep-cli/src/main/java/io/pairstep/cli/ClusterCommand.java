package io.pairstep.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code pairstep cluster ...}: a local cluster of node processes in one directory. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = "Runs a local cluster: one background JVM per node, described by DIR/cluster.json.",
        subcommands = {ClusterStartCommand.class, ClusterStartNodeCommand.class, ClusterStopCommand.class})
public final class ClusterCommand implements Runnable {

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: start, start-node or stop");
    }
}
