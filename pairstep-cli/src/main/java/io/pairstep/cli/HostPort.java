package io.pairstep.cli;

import java.net.InetSocketAddress;

/** A {@code HOST:PORT} address as written on the command line and in {@code cluster.json}. */
public record HostPort(String host, int port) {

    public HostPort {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host is missing");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is out of range 1-65535");
        }
    }

    /**
     * Parses {@code HOST:PORT} ({@code [v6]:PORT} for an IPv6 literal).
     *
     * @throws CliException (usage) with a message naming {@code what} when the text is malformed
     */
    public static HostPort parse(String text, String what) {
        String t = text == null ? "" : text.trim();
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) {
            throw new CliException(what + ": expected HOST:PORT, got '" + text + "'", ExitCodes.USAGE);
        }
        String host = t.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        } else if (host.indexOf(':') >= 0) {
            throw new CliException(what + ": expected HOST:PORT (write an IPv6 address as [ADDR]:PORT), got '"
                    + text + "'", ExitCodes.USAGE);
        }
        if (host.isBlank()) {
            throw new CliException(what + ": expected HOST:PORT, got '" + text + "'", ExitCodes.USAGE);
        }
        int port;
        try {
            port = Integer.parseInt(t.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new CliException(what + ": port is not a number in '" + text + "'", ExitCodes.USAGE);
        }
        if (port < 1 || port > 65535) {
            throw new CliException(what + ": port " + port + " is out of range 1-65535 in '" + text + "'",
                    ExitCodes.USAGE);
        }
        return new HostPort(host, port);
    }

    /** A socket address for this host and port, resolved if the host can be resolved. */
    public InetSocketAddress toSocketAddress() {
        return new InetSocketAddress(host, port);
    }

    /** The text to put in a URL's authority. */
    public String authority() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }

    @Override
    public String toString() {
        return authority();
    }
}
