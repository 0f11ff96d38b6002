package io.pairstep.runtime.artifact;

import io.pairstep.runtime.access.PeerHttp;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings the jars this node needs from the nodes that hold them. The controller keeps only the
 * catalog (each service names its jar by digest); the bytes stay on the nodes, so a jar of many MB
 * never passes through the controller's log or snapshots, and a node that joins later or lost its
 * files fetches them from any peer. Every copy is checked against its digest on arrival ({@link
 * ArtifactStore#put}): a peer that sends other bytes is refused loudly and the next peer is asked.
 * One thread fetches; a jar no peer could deliver is asked for again every {@link #RETRY_MS}.
 */
public final class ArtifactDelivery implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ArtifactDelivery.class);
    static final long RETRY_MS = 1000;

    /** A node that may hold jars: its id and HTTP address. */
    public record Peer(String node, String http) {}

    /** Opens the jar of {@code digest} on a peer; null when the peer does not hold it. */
    public interface Source {
        InputStream open(Peer peer, String digest) throws IOException;
    }

    private final ArtifactStore store;
    private final Source source;
    private final Supplier<List<Peer>> peers;
    private final Consumer<String> arrived;
    /** The digests being fetched, so that each is fetched by one task. */
    private final Set<String> wanted = ConcurrentHashMap.newKeySet();
    private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread thread = new Thread(r, "pairstep-artifacts");
        thread.setDaemon(true);
        return thread;
    });

    /**
     * @param peers the live nodes to ask, other than this one
     * @param arrived told the digest of each jar once it is stored here, on the fetching thread
     */
    public ArtifactDelivery(ArtifactStore store, Source source, Supplier<List<Peer>> peers, Consumer<String> arrived) {
        this.store = store;
        this.source = source;
        this.peers = peers;
        this.arrived = arrived;
    }

    /** Fetches the jar of {@code digest} in the background unless it is here or on its way. */
    public void want(String digest) {
        if (store.has(digest) || !wanted.add(digest)) {
            return;
        }
        LOG.info("artifact sha256:{} is needed here: fetching it from a peer", digest);
        schedule(digest, 0, 1);
    }

    private void schedule(String digest, long delayMs, int attempt) {
        try {
            executor.schedule(() -> attempt(digest, attempt), delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            wanted.remove(digest);
        }
    }

    private void attempt(String digest, int attempt) {
        boolean stored;
        try {
            stored = store.has(digest) || fetchOnce(digest);
        } catch (RuntimeException e) {
            LOG.error("fetching artifact sha256:{} failed: {}", digest, e.toString(), e);
            stored = false;
        }
        if (!stored) {
            if (attempt == 1) {
                LOG.warn("no peer delivered artifact sha256:{} yet; asking again every {} ms", digest, RETRY_MS);
            }
            schedule(digest, RETRY_MS, attempt + 1);
            return;
        }
        wanted.remove(digest);
        arrived.accept(digest);
    }

    /** Asks each peer in turn; true once a copy with the right digest is stored here. */
    boolean fetchOnce(String digest) {
        for (Peer peer : peers.get()) {
            try (InputStream in = source.open(peer, digest)) {
                if (in == null) {
                    continue;
                }
                store.put(in, digest, jar -> {});
                LOG.info("artifact sha256:{} fetched from {} and verified", digest, peer.node());
                return true;
            } catch (ArtifactStore.Refused e) {
                LOG.error("REFUSED artifact sha256:{} from {}: {}", digest, peer.node(), e.getMessage());
            } catch (IOException | UncheckedIOException e) {
                LOG.warn("cannot fetch artifact sha256:{} from {}: {}", digest, peer.node(), e.getMessage());
            }
        }
        return false;
    }

    /**
     * Reads jars with {@code GET /v1/artifacts/{digest}} from a peer's HTTP address, with the
     * system's access token (every node of a system holds the same one).
     */
    public static Source http(PeerHttp peers, Duration timeout, Supplier<String> token) {
        HttpClient client = peers.client();
        return (peer, digest) -> {
            HttpRequest request = HttpRequest.newBuilder(peers.uri(peer.http(), "/v1/artifacts/" + digest))
                    .header("Authorization", "Bearer " + token.get())
                    .timeout(timeout).GET().build();
            HttpResponse<InputStream> response;
            try {
                response = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
            if (response.statusCode() == 200) {
                return response.body();
            }
            response.body().close();
            if (response.statusCode() == 404) {
                return null;
            }
            throw new IOException("HTTP " + response.statusCode());
        };
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
