package io.pairstep.cli;

import io.pairstep.runtime.access.AccessToken;
import io.pairstep.runtime.access.HttpsConnector;
import io.pairstep.runtime.access.PeerHttp;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.StringJoiner;
import javax.net.ssl.SSLException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;

/**
 * Talks to a system's HTTP API through any of its nodes: tries them in order until one answers.
 *
 * <p>A node that refuses the connection, or does not accept it within the connect timeout, never saw
 * the request, so the next node is tried. A node that accepted the request but did not answer (a
 * paused node, for instance) may or may not have acted on it: for a GET, or a POST the caller marks
 * as safe to repeat, the next node is tried too; otherwise the command fails and says so.
 */
final class ApiClient implements AutoCloseable {

    /** An answer from a node, whatever its status. */
    record Response(HostPort node, int status, byte[] body) {

        boolean ok() {
            return status >= 200 && status < 300;
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        /** The body as JSON, or a {@link CliException} saying the node answered something else. */
        JsonNode json() {
            try {
                return Json.MAPPER.readTree(body);
            } catch (JacksonException e) {
                throw new CliException("node " + node + " answered HTTP " + status + " with a body that is not JSON: "
                        + abbreviate(text()));
            }
        }

        /**
         * The readable message of an error answer ({@code {"error","code"}}), or a description of it;
         * for a refused token, also where the CLI looks for one.
         */
        String errorMessage() {
            String message = nodeMessage();
            if (HttpsConnector.CODE.equals(errorCode())) {
                return "node " + node + ": " + message + "\n" + CA_HINT;
            }
            return status == 401 ? message + "\n" + TOKEN_HINT : message;
        }

        private String nodeMessage() {
            try {
                JsonNode doc = Json.MAPPER.readTree(body);
                if (doc != null && doc.isObject() && doc.hasNonNull("error")) {
                    String message = doc.get("error").asString();
                    return message.isBlank() ? "HTTP " + status + " " + Json.text(doc, "code", "") : message;
                }
            } catch (JacksonException e) {
                // not the documented error shape; describe what came back
            }
            String text = text().strip();
            return "node " + node + " answered HTTP " + status + (text.isEmpty() ? "" : ": " + abbreviate(text));
        }

        /** The {@code code} of an error answer, or null. */
        String errorCode() {
            try {
                JsonNode doc = Json.MAPPER.readTree(body);
                return doc != null && doc.isObject() ? Json.text(doc, "code", null) : null;
            } catch (JacksonException e) {
                return null;
            }
        }

        /** This response if it is a success, else a {@link CliException} with its error message. */
        Response requireOk() {
            if (!ok()) {
                throw new CliException(errorMessage());
            }
            return this;
        }
    }

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    static final String TOKEN_HINT = "the CLI sends the token of --token-file FILE, else of the environment variable "
            + SystemOptions.TOKEN_ENV + ", else of DIR/" + AccessToken.FILE_NAME + " with --dir DIR";

    static final String CA_HINT = "the CLI speaks HTTPS with --ca FILE (the system's ca.pem), else with the file the environment"
            + " variable " + SystemOptions.CA_ENV + " names, else with --dir DIR of a system started with 'cluster start --tls'";

    private final List<HostPort> nodes;
    private final Duration connectTimeout;
    private final HttpClient http;
    /** Plain HTTP, or HTTPS trusting the system's authority. */
    private final PeerHttp peers;
    /** Sent with every request; null sends none (the node then answers 401 for all but the open routes). */
    private final AccessToken token;

    /** @param authority the system's authority certificate for HTTPS, or null for plain HTTP */
    ApiClient(List<HostPort> nodes, AccessToken token, Path authority) {
        this(nodes, CONNECT_TIMEOUT, token, authority);
    }

    ApiClient(List<HostPort> nodes, Duration connectTimeout, AccessToken token, Path authority) {
        if (nodes.isEmpty()) {
            throw new CliException("no node addresses to talk to");
        }
        this.nodes = List.copyOf(nodes);
        this.connectTimeout = connectTimeout;
        this.token = token;
        try {
            this.peers = PeerHttp.of(authority, connectTimeout);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), ExitCodes.USAGE);
        }
        this.http = peers.client();
    }

    List<HostPort> nodes() {
        return nodes;
    }

    Response get(String path, Duration timeout) {
        return send("GET", path, null, null, Map.of(), timeout, true);
    }

    Response post(String path, byte[] body, String contentType, Map<String, String> headers, Duration timeout,
                  boolean safeToRepeat) {
        return send("POST", path, Objects.requireNonNull(body), contentType, headers, timeout, safeToRepeat);
    }

    /** Removals are idempotent: a repeat finds nothing left to remove and says so. */
    Response delete(String path, Duration timeout) {
        return send("DELETE", path, null, null, Map.of(), timeout, true);
    }

    private Response send(String method, String path, byte[] body, String contentType, Map<String, String> headers,
                          Duration timeout, boolean safeToRepeat) {
        List<String> failures = new ArrayList<>();
        Response unavailable = null;
        for (HostPort node : nodes) {
            Attempt a = attempt(node, method, path, body, contentType, headers, timeout);
            if (a.response() != null && a.response().status() == 503 && method.equals("GET")) {
                // This node is still catching up with the controller (or found no primary): another may answer.
                unavailable = a.response();
                continue;
            }
            if (a.response() != null) {
                return a.response();
            }
            if (!a.neverDelivered() && !safeToRepeat) {
                throw new CliException("node " + node + ": " + a.failure() + "; the request may or may not have been"
                        + " carried out");
            }
            failures.add(node + " (" + a.failure() + ")");
        }
        if (unavailable != null) {
            return unavailable;
        }
        StringJoiner j = new StringJoiner(", ");
        failures.forEach(j::add);
        throw new CliException("cannot reach the system: " + j);
    }

    /** Asks one given node; a failure to get an answer is a {@link CliException} with the short reason. */
    Response getFrom(HostPort node, String path, Duration timeout) {
        Attempt a = attempt(node, "GET", path, null, null, Map.of(), timeout);
        if (a.response() == null) {
            throw new CliException(a.failure());
        }
        return a.response();
    }

    /** Either an answer or why there is none, and whether the node can have seen the request. */
    private record Attempt(Response response, String failure, boolean neverDelivered) {
    }

    private Attempt attempt(HostPort node, String method, String path, byte[] body, String contentType,
                            Map<String, String> headers, Duration timeout) {
        HttpRequest.Builder b;
        try {
            b = HttpRequest.newBuilder(peers.uri(node.authority(), path)).timeout(timeout);
        } catch (IllegalArgumentException e) {
            throw new CliException("bad node address " + node + ": " + e.getMessage(), ExitCodes.USAGE);
        }
        if (body == null) {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        } else {
            b.method(method, HttpRequest.BodyPublishers.ofByteArray(body));
            if (contentType != null) {
                b.header("Content-Type", contentType);
            }
        }
        headers.forEach(b::header);
        authorize(b, token);
        try {
            HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Attempt(new Response(node, r.statusCode(), r.body()), null, false);
        } catch (HttpConnectTimeoutException e) {
            return new Attempt(null, "no connection within " + seconds(connectTimeout), true);
        } catch (ConnectException e) {
            return new Attempt(null, connectFailure(e), true);
        } catch (HttpTimeoutException e) {
            return new Attempt(null, "no answer within " + seconds(timeout), false);
        } catch (IOException e) {
            SSLException tls = tlsCause(e);
            if (tls != null) {
                // The handshake failed: no request crossed, so another node may be tried.
                return new Attempt(null, tlsFailure(tls, peers.authority()), true);
            }
            return new Attempt(null, describe(e), false);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }

    /** Adds the token, if any, to a request. */
    static HttpRequest.Builder authorize(HttpRequest.Builder request, AccessToken token) {
        return token == null ? request : request.header("Authorization", "Bearer " + token.text());
    }

    /** The TLS failure behind an I/O failure, or null. */
    static SSLException tlsCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SSLException tls) {
                return tls;
            }
        }
        return null;
    }

    /** Why an HTTPS handshake failed, in words for the usual reasons; else the exception's own message. */
    static String tlsFailure(SSLException e, Path authority) {
        String m = describe(e);
        String lower = m.toLowerCase(java.util.Locale.ROOT);
        if (lower.contains("unsupported or unrecognized ssl message") || lower.contains("plaintext")) {
            return "the node does not speak HTTPS (is its system one without TLS? then drop --ca and " + SystemOptions.CA_ENV + ")";
        }
        if (lower.contains("pkix") || lower.contains("certification path") || lower.contains("unable to find valid")) {
            return "the node's certificate is not signed by the authority " + authority + " (" + m + ")";
        }
        if (lower.contains("no subject alternative") || lower.contains("no name matching")) {
            return "the node's certificate does not name the address it was reached at (" + m + "); make its certificate"
                    + " with 'pairstep certs --host' naming that address";
        }
        return "TLS handshake failed: " + m;
    }

    private static String connectFailure(ConnectException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? "connection refused" : describe(e);
    }

    static String describe(Throwable e) {
        Throwable t = e;
        while (t.getMessage() == null && t.getCause() != null) {
            t = t.getCause();
        }
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        return m.toLowerCase(java.util.Locale.ROOT).contains("refused") ? "connection refused" : m;
    }

    static String seconds(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? (ms / 1000) + " s" : String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    static String abbreviate(String text) {
        String oneLine = text.strip().replaceAll("\\s*\\R\\s*", " ");
        return oneLine.length() <= 200 ? oneLine : oneLine.substring(0, 200) + "...";
    }

    @Override
    public void close() {
        http.close();
    }
}
