package io.pairstep.client;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import javax.net.ssl.SSLException;

/**
 * The PEM files of one party of a system's TLS: its certificate, its private key (PKCS#8), and the
 * certificate of the authority that signed every certificate of the system ({@code pairstep certs}
 * makes such a set). Both ends of every connection show a certificate signed by that authority:
 * that is how a node knows a node, and how a client is let in.
 */
public record TlsFiles(Path certificate, Path key, Path authority) {

    public TlsFiles {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(authority, "authority");
    }

    /** Throws naming the first of the files that cannot be read. */
    public void requireReadable() {
        for (Path file : new Path[] {certificate, key, authority}) {
            if (!Files.isReadable(file)) {
                throw new IllegalArgumentException("TLS: cannot read " + file);
            }
        }
    }

    /** For connections this party opens: shows its certificate, trusts only the authority's. */
    public SslContext clientContext() {
        try {
            return SslContextBuilder.forClient()
                    .keyManager(certificate.toFile(), key.toFile())
                    .trustManager(authority.toFile())
                    // The authority is the system's own and signs only its members: a certificate it
                    // signed is the identity, whatever address the member is reached at.
                    .endpointIdentificationAlgorithm(null)
                    .build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS: cannot use " + certificate + " and " + key + " with the authority "
                    + authority + ": " + e.getMessage(), e);
        }
    }

    /** For connections this party accepts: shows its certificate and requires one the authority signed. */
    public SslContext serverContext() {
        try {
            return SslContextBuilder.forServer(certificate.toFile(), key.toFile())
                    .trustManager(authority.toFile())
                    .clientAuth(ClientAuth.REQUIRE)
                    .build();
        } catch (SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("TLS: cannot use " + certificate + " and " + key + " with the authority "
                    + authority + ": " + e.getMessage(), e);
        }
    }
}
