package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.javalin.Javalin;
import io.pairstep.client.TlsFiles;
import io.pairstep.runtime.access.HttpsConnector;
import io.pairstep.runtime.access.PeerHttp;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's HTTPS listener ({@link HttpsConnector}) with the certificates of {@code pairstep certs}
 * (here because the CLI makes them): a client that trusts the system's authority gets answers at
 * 127.0.0.1 and localhost without showing a certificate of its own; one that trusts another
 * authority gets no connection; plain HTTP gets only a 400 that says to use HTTPS.
 */
class HttpsServerTest {

    @TempDir
    Path dir;

    private Javalin server;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop();
        }
    }

    private int start(Path system) {
        TlsFiles files = new TlsFiles(CertsCommand.files(system, "n1").certificate(), CertsCommand.files(system, "n1").key(),
                CertsCommand.files(system, CertsCommand.CA).certificate());
        server = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.jetty.addConnector((jetty, http) -> HttpsConnector.create(jetty, http, files, "127.0.0.1", 0));
            config.routes.get("/secret", ctx -> ctx.result("the secret, scheme " + ctx.scheme()));
        }).start();
        return server.port();
    }

    private static HttpResponse<String> get(PeerHttp web, String authority) throws IOException, InterruptedException {
        return web.client().send(HttpRequest.newBuilder(web.uri(authority, "/secret")).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesHttpsToClientsThatTrustTheAuthorityAndNothingInClear() throws Exception {
        Path system = dir.resolve("system");
        Path other = dir.resolve("other");
        CertsCommand.make(system, List.of("n1"), Set.of("localhost", "127.0.0.1"));
        CertsCommand.make(other, List.of("n1"), Set.of("localhost", "127.0.0.1"));
        int port = start(system);

        PeerHttp trusting = PeerHttp.of(CertsCommand.files(system, CertsCommand.CA).certificate(), PeerHttp.CONNECT_TIMEOUT);
        assertThat(trusting.scheme()).isEqualTo("https");
        for (String host : List.of("127.0.0.1", "localhost")) {
            HttpResponse<String> answer = get(trusting, host + ":" + port);
            assertThat(answer.statusCode()).as(host).isEqualTo(200);
            assertThat(answer.body()).isEqualTo("the secret, scheme https");
        }

        // Another system's authority did not sign this node's certificate: no connection at all.
        PeerHttp stranger = PeerHttp.of(CertsCommand.files(other, CertsCommand.CA).certificate(), PeerHttp.CONNECT_TIMEOUT);
        assertThatThrownBy(() -> get(stranger, "127.0.0.1:" + port)).isInstanceOf(SSLException.class);
        assertThat(ApiClient.tlsFailure((SSLException) catchSsl(stranger, port), Path.of("other-ca.pem")))
                .startsWith("the node's certificate is not signed by the authority other-ca.pem");

        // Plain HTTP: one 400 that says why, and nothing of the route's answer.
        HttpResponse<String> plain = get(PeerHttp.plain(), "127.0.0.1:" + port);
        assertThat(plain.statusCode()).isEqualTo(400);
        assertThat(plain.body()).contains("\"code\":\"" + HttpsConnector.CODE + "\"").contains("HTTPS only").doesNotContain("secret");
        ApiClient.Response response = new ApiClient.Response(HostPort.parse("127.0.0.1:" + port, "test"), plain.statusCode(),
                plain.body().getBytes(StandardCharsets.UTF_8));
        assertThat(response.errorMessage()).contains("serves HTTPS only").contains("--ca FILE").contains(SystemOptions.CA_ENV);

        // A raw plain request that asks to keep the connection gets the same answer, and the connection closes.
        try (Socket socket = new Socket("127.0.0.1", port)) {
            OutputStream out = socket.getOutputStream();
            out.write("GET /secret HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String all = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(all).startsWith("HTTP/1.1 400 ").contains(HttpsConnector.CODE).doesNotContain("the secret");
        }

        // The server still serves HTTPS after the refusals.
        assertThat(get(trusting, "127.0.0.1:" + port).statusCode()).isEqualTo(200);
    }

    private static Throwable catchSsl(PeerHttp web, int port) {
        try {
            get(web, "127.0.0.1:" + port);
        } catch (Exception e) {
            return ApiClient.tlsCause(e);
        }
        throw new AssertionError("no TLS failure");
    }

    @Test
    void anHttpsClientOfAPlainServerIsToldItDoesNotSpeakHttps() throws Exception {
        Path system = dir.resolve("system");
        CertsCommand.make(system, List.of("n1"), Set.of("127.0.0.1"));
        server = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.jetty.host = "127.0.0.1";
            config.jetty.port = 0;
            config.routes.get("/secret", ctx -> ctx.result("plain"));
        }).start();
        PeerHttp trusting = PeerHttp.of(CertsCommand.files(system, CertsCommand.CA).certificate(), PeerHttp.CONNECT_TIMEOUT);
        Throwable failure = catchSsl(trusting, server.port());
        assertThat(failure).isNotNull();
        assertThat(ApiClient.tlsFailure((SSLException) failure, Path.of("ca.pem"))).startsWith("the node does not speak HTTPS");
    }
}
