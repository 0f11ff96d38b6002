package io.pairstep.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** How a command finds the system: {@code --cluster HOST:PORT[,...]} or {@code --dir DIR}. */
public final class SystemOptions {

    @Option(names = "--cluster", paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "HTTP addresses of the system's nodes, tried in order until one answers.")
    String cluster;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Directory of a local cluster made by 'cluster start' (reads DIR/cluster.json).")
    Path dir;

    public SystemOptions() {
    }

    SystemOptions(String cluster, Path dir) {
        this.cluster = cluster;
        this.dir = dir;
    }

    /** Exactly one of the two must be given. */
    void validate() {
        if (cluster != null && dir != null) {
            throw new CliException("give either --cluster or --dir, not both", ExitCodes.USAGE);
        }
        if (cluster == null && dir == null) {
            throw new CliException("say which system: --cluster HOST:PORT[,HOST:PORT...] or --dir DIR",
                    ExitCodes.USAGE);
        }
    }

    boolean hasDir() {
        validate();
        return dir != null;
    }

    /** The cluster file of {@code --dir}. */
    ClusterFile clusterFile() {
        validate();
        if (dir == null) {
            throw new CliException("this needs --dir DIR", ExitCodes.USAGE);
        }
        return ClusterFile.read(dir);
    }

    /** The node HTTP addresses to try, in order. */
    List<HostPort> httpAddresses() {
        validate();
        if (dir != null) {
            return clusterFile().httpAddresses();
        }
        List<HostPort> out = new ArrayList<>();
        for (String part : cluster.split(",")) {
            if (!part.isBlank()) {
                out.add(HostPort.parse(part, "--cluster"));
            }
        }
        if (out.isEmpty()) {
            throw new CliException("--cluster: expected HOST:PORT[,HOST:PORT...]", ExitCodes.USAGE);
        }
        return out;
    }

    ApiClient client() {
        return new ApiClient(httpAddresses());
    }
}
