package io.pairstep.runtime.access;

import io.pairstep.client.TlsFiles;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.OptionalSslConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * The HTTPS listener of a node of a TLS system: the only listener on its {@code --http} address, so
 * that nothing (the token included) crosses the network in clear. It shows the node's own
 * certificate and asks clients for none: browsers, curl and the CLI prove themselves with the
 * access token, as over plain HTTP.
 *
 * <p>A client that speaks plain HTTP to it gets one answer, 400 with code {@value #CODE} and a
 * message saying to use HTTPS, and the connection is closed: nothing of the request is read further
 * or served, and the client learns why instead of seeing a reset connection.
 */
public final class HttpsConnector {

    /** The {@code code} of the answer to plain HTTP. */
    public static final String CODE = "HTTPS_REQUIRED";
    static final String MESSAGE = "this node serves HTTPS only (its system runs with TLS): use https:// and trust the system's"
            + " authority certificate, ca.pem";

    private HttpsConnector() {
    }

    /**
     * A connector for {@code host:port} that serves HTTPS with {@code files}' certificate and key.
     *
     * @param plain the server's HTTP configuration, copied and extended for HTTPS
     */
    public static ServerConnector create(Server server, HttpConfiguration plain, TlsFiles files, String host, int port) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setSslContext(PeerHttp.serverContext(files));
        ssl.setNeedClientAuth(false);
        ssl.setWantClientAuth(false);
        HttpConfiguration https = new HttpConfiguration(plain);
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        // The client's hostname verification is what protects it; a Host header that the certificate
        // does not name (a tunnel, a name the operator accepted in a browser) is no reason to refuse.
        secure.setSniHostCheck(false);
        https.addCustomizer(secure);
        HttpConnectionFactory http = new HttpConnectionFactory(https);
        SslConnectionFactory tls = new SslConnectionFactory(ssl, http.getProtocol());
        ServerConnector connector = new ServerConnector(server, new RefusePlain(tls), http);
        connector.setHost(host);
        connector.setPort(port);
        return connector;
    }

    /** The answer to a plain HTTP request, a whole HTTP/1.1 response that closes the connection. */
    static byte[] plainAnswer() {
        ObjectNode error = new ObjectMapper().createObjectNode();
        error.put("error", MESSAGE);
        error.put("code", CODE);
        byte[] body = error.toString().getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " + body.length
                + "\r\nConnection: close\r\n\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[headBytes.length + body.length];
        System.arraycopy(headBytes, 0, all, 0, headBytes.length);
        System.arraycopy(body, 0, all, headBytes.length, body.length);
        return all;
    }

    /** TLS when the client starts a TLS handshake; anything else is answered {@link #plainAnswer()} and closed. */
    private static final class RefusePlain extends OptionalSslConnectionFactory {

        RefusePlain(SslConnectionFactory tls) {
            // No next protocol: what is not TLS goes to otherProtocol, never to a plain HTTP connection.
            super(tls, null);
        }

        @Override
        protected void otherProtocol(ByteBuffer buffer, EndPoint endPoint) {
            endPoint.write(Callback.from(endPoint::close, failure -> endPoint.close()), ByteBuffer.wrap(plainAnswer()));
        }
    }
}
