package io.pairstep.client;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How a {@link PairstepClient} connects and how long it keeps trying.
 *
 * @param seeds rpc addresses of some nodes; any one that answers gives the whole routing table
 * @param callTimeout the whole deadline of one call, retries through takeovers included (default 30 s)
 * @param ioThreads Netty event-loop threads (default 1)
 * @param attemptTimeout how long one attempt waits for a reply before the call asks another node
 *     whether the primary moved (default 100 ms; that node answers the moment a takeover is
 *     decided); the command is sent again only to a new primary, never to a slow one
 * @param refreshInterval how often the routing table is refreshed in the background (default 1 s)
 * @param connectTimeout TCP connect timeout (default 1 s)
 * @param tls the certificate files when the system speaks TLS, else null (plain TCP)
 */
public record ClientOptions(
        List<InetSocketAddress> seeds,
        Duration callTimeout,
        int ioThreads,
        Duration attemptTimeout,
        Duration refreshInterval,
        Duration connectTimeout,
        TlsFiles tls) {

    public static final Duration DEFAULT_CALL_TIMEOUT = Duration.ofSeconds(30);
    public static final int DEFAULT_IO_THREADS = 1;
    public static final Duration DEFAULT_ATTEMPT_TIMEOUT = Duration.ofMillis(100);
    public static final Duration DEFAULT_REFRESH_INTERVAL = Duration.ofSeconds(1);
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(1);

    public ClientOptions {
        Objects.requireNonNull(seeds, "seeds");
        seeds = List.copyOf(seeds);
        if (seeds.isEmpty()) {
            throw new IllegalArgumentException("at least one seed address is needed");
        }
        requirePositive(callTimeout, "callTimeout");
        requirePositive(attemptTimeout, "attemptTimeout");
        requirePositive(refreshInterval, "refreshInterval");
        requirePositive(connectTimeout, "connectTimeout");
        if (ioThreads < 1) {
            throw new IllegalArgumentException("ioThreads must be >= 1, was " + ioThreads);
        }
    }

    /** Defaults for everything but the seeds. */
    public static ClientOptions of(List<InetSocketAddress> seeds) {
        return new ClientOptions(seeds, DEFAULT_CALL_TIMEOUT, DEFAULT_IO_THREADS, DEFAULT_ATTEMPT_TIMEOUT,
                DEFAULT_REFRESH_INTERVAL, DEFAULT_CONNECT_TIMEOUT, null);
    }

    /** Defaults for everything but the seeds. */
    public static ClientOptions of(InetSocketAddress... seeds) {
        return of(List.of(seeds));
    }

    public ClientOptions withCallTimeout(Duration value) {
        return new ClientOptions(seeds, value, ioThreads, attemptTimeout, refreshInterval, connectTimeout, tls);
    }

    public ClientOptions withIoThreads(int value) {
        return new ClientOptions(seeds, callTimeout, value, attemptTimeout, refreshInterval, connectTimeout, tls);
    }

    public ClientOptions withAttemptTimeout(Duration value) {
        return new ClientOptions(seeds, callTimeout, ioThreads, value, refreshInterval, connectTimeout, tls);
    }

    public ClientOptions withRefreshInterval(Duration value) {
        return new ClientOptions(seeds, callTimeout, ioThreads, attemptTimeout, value, connectTimeout, tls);
    }

    public ClientOptions withConnectTimeout(Duration value) {
        return new ClientOptions(seeds, callTimeout, ioThreads, attemptTimeout, refreshInterval, value, tls);
    }

    /** TLS with these files (mutual: the client shows its certificate too). */
    public ClientOptions withTls(TlsFiles value) {
        return new ClientOptions(seeds, callTimeout, ioThreads, attemptTimeout, refreshInterval, connectTimeout, value);
    }

    private static void requirePositive(Duration value, String name) {
        Objects.requireNonNull(value, name);
        if (value.isNegative() || value.isZero()) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }
}
