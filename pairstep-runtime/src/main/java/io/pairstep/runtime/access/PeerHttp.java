package io.pairstep.runtime.access;

import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.pairstep.client.TlsFiles;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;

/**
 * How one party reaches the HTTP servers of a system's nodes: plain HTTP, or HTTPS trusting only
 * the system's authority (its {@code ca.pem}). A node's address stays {@code HOST:PORT} everywhere
 * (status document, {@code GET /v1/nodes}, {@code cluster.json}); the scheme follows from whether
 * the system runs with TLS, which is the same for all of its nodes.
 *
 * <p>Over HTTPS the client shows no certificate: HTTPS asks for the access token instead, as plain
 * HTTP does. The server's certificate must name the host the client dialled (hostname verification
 * is on), which {@code pairstep certs} provides for {@code localhost}, {@code 127.0.0.1} and every
 * {@code --host}.
 *
 * @param client the HTTP client, set up for HTTPS when {@code authority} is given
 * @param authority the system's authority certificate (PEM), or null for plain HTTP
 */
public record PeerHttp(HttpClient client, Path authority) {

    /** How long a connection (with its TLS handshake) may take before the peer counts as unreachable. */
    public static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    public PeerHttp {
        Objects.requireNonNull(client, "client");
    }

    /** Plain HTTP. */
    public static PeerHttp plain() {
        return of(null, CONNECT_TIMEOUT);
    }

    /** HTTPS trusting {@code authority} when it is given, else plain HTTP. */
    public static PeerHttp of(Path authority, Duration connectTimeout) {
        HttpClient.Builder builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NEVER);
        if (authority != null) {
            builder.sslContext(clientContext(authority));
        }
        return new PeerHttp(builder.build(), authority);
    }

    /** True for HTTPS. */
    public boolean tls() {
        return authority != null;
    }

    /** {@code https} or {@code http}. */
    public String scheme() {
        return tls() ? "https" : "http";
    }

    /**
     * The URI of a path on a node.
     *
     * @param authority the node's address, {@code HOST:PORT}
     * @param pathAndQuery starts with {@code /}
     */
    public URI uri(String authority, String pathAndQuery) {
        return URI.create(scheme() + "://" + authority + pathAndQuery);
    }

    /**
     * An SSL context for HTTPS clients that trusts only the certificates {@code authority} signed;
     * throws {@link IllegalArgumentException} naming the file when it is not a readable certificate.
     */
    public static SSLContext clientContext(Path authority) {
        if (!Files.isReadable(authority)) {
            throw new IllegalArgumentException("TLS: cannot read the authority certificate " + authority);
        }
        try {
            return jdk(SslContextBuilder.forClient().sslProvider(SslProvider.JDK).trustManager(authority.toFile()).build());
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS: " + authority + " is not a certificate (PEM): " + e.getMessage(), e);
        }
    }

    /**
     * An SSL context for a node's HTTPS server: it shows the node's own certificate and asks clients
     * for none. The files are read as the node transport reads them (PEM certificate, PKCS#8 key).
     */
    public static SSLContext serverContext(TlsFiles files) {
        try {
            return jdk(SslContextBuilder.forServer(files.certificate().toFile(), files.key().toFile())
                    .sslProvider(SslProvider.JDK).build());
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS: cannot use " + files.certificate() + " and " + files.key()
                    + " for HTTPS: " + e.getMessage(), e);
        }
    }

    private static SSLContext jdk(SslContext context) {
        // The JDK provider was asked for, so Netty's context wraps a plain JDK SSLContext.
        return ((JdkSslContext) context).context();
    }
}
