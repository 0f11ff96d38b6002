package io.pairstep.cli;

import io.pairstep.runtime.access.AccessToken;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import picocli.CommandLine.Option;

/** How a command finds the system: {@code --cluster HOST:PORT[,...]} or {@code --dir DIR}. */
public final class SystemOptions {

    @Option(names = "--cluster", paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "HTTP addresses of the system's nodes, tried in order until one answers.")
    String cluster;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Directory of a local cluster made by 'cluster start' (reads DIR/cluster.json and DIR/token).")
    Path dir;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = {"The system's access token (the file token in any node's data directory).",
                    "Default: the environment variable " + SystemOptions.TOKEN_ENV + ", else DIR/token with --dir."})
    Path tokenFile;

    @Option(names = "--ca", paramLabel = "FILE",
            description = {"The authority certificate (PEM) of a system that runs with TLS: the CLI then speaks HTTPS and trusts",
                    "only certificates it signed. Default: the environment variable " + SystemOptions.CA_ENV + ", or with --dir",
                    "the ca.pem its nodes were started with (cluster start --tls); without either, plain HTTP."})
    Path authorityFile;

    /** The environment variable that names the authority certificate of a TLS system. */
    static final String CA_ENV = "PAIRSTEP_CA";

    /** The environment variable that holds the access token. */
    static final String TOKEN_ENV = "PAIRSTEP_TOKEN";

    /** The environment, replaced by tests. */
    Function<String, String> environment = System::getenv;

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

    /**
     * The access token to send: from {@code --token-file}, else from {@value #TOKEN_ENV}, else the
     * local system's with {@code --dir}; null when there is none (only the open routes answer then).
     */
    AccessToken token() {
        validate();
        if (tokenFile != null) {
            return ClusterFile.token(tokenFile, "--token-file ");
        }
        String fromEnvironment = environment.apply(TOKEN_ENV);
        if (fromEnvironment != null) {
            try {
                return AccessToken.of(fromEnvironment, "the environment variable " + TOKEN_ENV);
            } catch (IllegalArgumentException e) {
                throw new CliException(e.getMessage(), ExitCodes.USAGE);
            }
        }
        return dir == null ? null : ClusterFile.localToken(dir);
    }

    /**
     * The authority certificate to trust over HTTPS: {@code --ca}, else with {@code --dir} the one
     * its nodes were started with, else {@value #CA_ENV}; null for plain HTTP. With {@code --dir}
     * the directory decides before the environment, so that a variable set for one system does not
     * turn the CLI to HTTPS for a local system without TLS.
     */
    Path authority() {
        validate();
        Path file = authorityFile;
        if (file == null && dir != null) {
            file = clusterFile().authority();
            if (file == null) {
                return null;
            }
        }
        if (file == null) {
            String fromEnvironment = environment.apply(CA_ENV);
            if (fromEnvironment == null || fromEnvironment.isBlank()) {
                return null;
            }
            file = Path.of(fromEnvironment.strip());
        }
        if (!java.nio.file.Files.isReadable(file)) {
            String source = authorityFile != null ? "--ca " : dir != null ? ClusterFile.FILE_NAME + " names " : CA_ENV + " names ";
            throw new CliException(source + file + ", which cannot be read", ExitCodes.USAGE);
        }
        return file.toAbsolutePath().normalize();
    }

    ApiClient client() {
        return new ApiClient(httpAddresses(), token(), authority());
    }
}
