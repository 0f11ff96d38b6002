package io.pairstep.runtime;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.pairstep.core.control.ServiceSpec;
import io.pairstep.runtime.admin.AdminApi;
import io.pairstep.runtime.artifact.ArtifactDelivery;
import io.pairstep.runtime.artifact.ArtifactStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Jars and the service catalog over HTTP: {@code POST /v1/artifacts} stores an uploaded jar on this
 * node and copies it to every other live node before it answers, {@code GET /v1/artifacts/{digest}}
 * lets a node that lacks a jar fetch it, and {@code GET /v1/services} lists the services with their
 * version, digest, mode, partitions and health.
 */
final class ArtifactApi {

    private static final Logger LOG = LoggerFactory.getLogger(ArtifactApi.class);
    /** Below the CLI's 60 s, so that a paused peer costs the upload its copy, not its answer. */
    private static final Duration COPY_TIMEOUT = Duration.ofSeconds(20);

    private final Node node;

    ArtifactApi(Node node) {
        this.node = node;
    }

    void install(JavalinConfig config) {
        config.routes.post("/v1/artifacts", this::upload);
        config.routes.get("/v1/artifacts/{digest}", this::download);
        config.routes.get("/v1/services", this::services);
    }

    /**
     * Stores the jar in the body. Query parameters: {@code sha256}, the digest the sender computed
     * (the bytes must have it), and {@code class}, a service class the jar must hold. A refused jar
     * is stored nowhere. An accepted one is copied to every other live node, so that the system
     * keeps it when this node dies; a node that misses the copy fetches it when it needs it.
     */
    private void upload(Context ctx) throws IOException {
        String expected = ctx.queryParam("sha256");
        String className = ctx.queryParam("class");
        String digest;
        try (InputStream body = ctx.req().getInputStream()) {
            digest = node.artifacts().put(body, expected, jar -> {
                if (className != null && !className.isBlank()) {
                    ServiceFactory.check(jar, className.strip());
                }
            });
        } catch (ArtifactStore.Refused e) {
            HttpGateway.error(ctx, e.status(), e.code(), e.getMessage());
            return;
        }
        long size = Files.size(node.artifacts().path(digest));
        List<String> holders = new ArrayList<>(List.of(node.id()));
        if (ctx.header(AdminApi.FORWARDED_HEADER) == null) {
            holders.addAll(copyToPeers(digest, className));
        }
        LOG.info("artifact sha256:{} stored ({} bytes), held by {}", digest, size, holders);
        ObjectNode answer = StatusDocument.JSON.createObjectNode();
        answer.put("digest", digest);
        answer.put("artifact", ServiceSpec.SHA256_PREFIX + digest);
        answer.put("size", size);
        ArrayNode nodes = answer.putArray("nodes");
        holders.forEach(nodes::add);
        ctx.status(201).contentType("application/json").result(StatusDocument.JSON.writeValueAsString(answer));
    }

    /** Sends the jar to every other live node at once; returns those that stored it. */
    private List<String> copyToPeers(String digest, String className) {
        Path file = node.artifacts().path(digest);
        String query = "?sha256=" + digest
                + (className == null || className.isBlank() ? "" : "&class=" + URLEncoder.encode(className.strip(), StandardCharsets.UTF_8));
        List<ArtifactDelivery.Peer> peers = node.artifactPeers();
        List<CompletableFuture<HttpResponse<String>>> copies = new ArrayList<>();
        for (ArtifactDelivery.Peer peer : peers) {
            HttpRequest request;
            try {
                request = HttpRequest.newBuilder(node.peerHttp().uri(peer.http(), "/v1/artifacts" + query))
                        .timeout(COPY_TIMEOUT)
                        .header(AdminApi.FORWARDED_HEADER, node.id())
                        .header("Authorization", "Bearer " + node.accessToken().text())
                        .header("Content-Type", "application/java-archive")
                        .POST(HttpRequest.BodyPublishers.ofFile(file))
                        .build();
            } catch (IOException e) {
                throw new IllegalStateException("the jar just stored at " + file + " is gone", e);
            }
            copies.add(node.peerHttp().client().sendAsync(request, HttpResponse.BodyHandlers.ofString()));
        }
        List<String> stored = new ArrayList<>();
        for (int i = 0; i < peers.size(); i++) {
            String peer = peers.get(i).node();
            try {
                HttpResponse<String> response = copies.get(i).join();
                if (response.statusCode() == 201) {
                    stored.add(peer);
                } else {
                    LOG.warn("node {} refused a copy of artifact sha256:{}: HTTP {} {}", peer, digest, response.statusCode(), response.body());
                }
            } catch (RuntimeException e) {
                LOG.warn("cannot copy artifact sha256:{} to node {}: {}; it fetches the jar when it needs it", digest, peer, e.toString());
            }
        }
        return stored;
    }

    /** The jar of a digest, checked against it first so that a damaged copy never spreads. */
    private void download(Context ctx) throws IOException {
        Path file;
        try {
            String digest = ctx.pathParam("digest");
            if (!node.artifacts().has(digest)) {
                HttpGateway.error(ctx, 404, "UNKNOWN_ARTIFACT", "node " + node.id() + " does not hold artifact sha256:" + digest);
                return;
            }
            file = node.artifacts().verified(digest);
        } catch (ArtifactStore.Refused e) {
            HttpGateway.error(ctx, e.status(), e.code(), e.getMessage());
            return;
        }
        ctx.status(200);
        ctx.res().setContentType("application/java-archive");
        ctx.res().setContentLengthLong(Files.size(file));
        try (OutputStream out = ctx.res().getOutputStream()) {
            Files.copy(file, out);
        }
    }

    private void services(Context ctx) {
        if (!node.ready()) {
            HttpGateway.error(ctx, 503, "UNAVAILABLE", "node " + node.id() + " is still joining the system; ask another node");
            return;
        }
        ctx.contentType("application/json").result(StatusDocument.JSON.writeValueAsString(StatusDocument.services(node.state())));
    }
}
