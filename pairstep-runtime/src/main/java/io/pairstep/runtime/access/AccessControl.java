package io.pairstep.runtime.access;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.router.Endpoint;
import java.util.Objects;
import java.util.Set;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Every route of a node's HTTP server needs the system's {@link AccessToken}, except the few that
 * are {@linkplain #OPEN open}. One filter in front of all routes, so that a route added later is
 * closed unless it is listed here.
 *
 * <p>The token comes as {@code Authorization: Bearer TOKEN} (the CLI, scripts, other nodes), or as
 * the cookie {@value #COOKIE} that the console sets after asking for the token: a browser's
 * EventSource cannot send headers, and a cookie keeps the token out of URLs and logs. The cookie is
 * {@code SameSite=Strict}, so another site's page cannot send it; a page of another origin on the same
 * host (another port) can, so a request that comes with the cookie and the {@code Origin} of another
 * origin is refused.
 */
public final class AccessControl {

    /** The routes anyone may call, as {@code "METHOD /path"}. */
    public static final Set<String> OPEN = Set.of(
            // The data path: services are called like any network service, as through the binary
            // client protocol, which has no token either. The admin API is what the token guards.
            "POST /v1/services/{name}/call",
            // Scraped by Prometheus; read-only figures, and scrapers are seldom given secrets.
            "GET /metrics");
    /** The console's cookie. */
    public static final String COOKIE = "pairstep-token";
    private static final String BEARER = "Bearer ";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final AccessToken token;

    public AccessControl(AccessToken token) {
        this.token = Objects.requireNonNull(token, "token");
    }

    /** Puts the filter in front of every route of a Javalin configuration. */
    public void install(JavalinConfig config) {
        // beforeMatched runs only when a route matched: an unknown path stays a plain 404, and the
        // console's static files (which hold nothing secret) need no token to load the login prompt.
        config.routes.beforeMatched(this::check);
    }

    private void check(Context ctx) {
        Endpoint endpoint = ctx.endpoints().matchedHttpEndpoint();
        if (endpoint == null || OPEN.contains(endpoint.method.name() + " " + endpoint.path)) {
            return;
        }
        String refusal = refusal(ctx.header("Authorization"), ctx.cookie(COOKIE), ctx.header("Origin"), ctx.header("Host"),
                ctx.method());
        if (refusal != null) {
            ObjectNode error = JSON.createObjectNode();
            error.put("error", refusal);
            error.put("code", "UNAUTHORIZED");
            ctx.header("WWW-Authenticate", "Bearer realm=\"pairstep\"");
            ctx.status(401).contentType("application/json").result(JSON.writeValueAsString(error));
            ctx.skipRemainingHandlers();
        }
    }

    /** Why a request with these credentials is refused, or null when it may go on. */
    String refusal(String authorization, String cookie, String origin, String host, HandlerType method) {
        if (authorization != null) {
            if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                return "the Authorization header must be \"Bearer TOKEN\" with the system's access token";
            }
            return token.matches(authorization.substring(BEARER.length()).strip())
                    ? null
                    : "wrong access token: it is not this system's token (the file token in any node's data directory)";
        }
        if (cookie != null) {
            if (origin != null && !method.equals(HandlerType.GET) && !sameOrigin(origin, host)) {
                return "a page from " + origin + " may not use the console's access token";
            }
            return token.matches(cookie) ? null : "wrong access token: log in to the console again with the system's token";
        }
        return "this needs the system's access token: send Authorization: Bearer TOKEN (the token is the file token in"
                + " any node's data directory, or in the directory of a system made by pairstep cluster start)";
    }

    /** True when a browser's Origin ({@code http://host:port}) names the server it is sent to. */
    public static boolean sameOrigin(String origin, String host) {
        int scheme = origin.indexOf("://");
        return host != null && scheme > 0 && origin.substring(scheme + 3).equalsIgnoreCase(host);
    }
}
