package io.pairstep.avail.alert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.pairstep.avail.config.ActionConfig;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * A webhook receiver on loopback that is first down, then too slow to answer within the webhook's
 * timeout, then healthy. The node's offers return at once throughout, and every alert arrives, in
 * order of first arrival, once the receiver is healthy.
 */
class WebhookDeliveryTest {

    private static final long TIMEOUT_MILLIS = 300;
    private static final long SLOW_ANSWER_MILLIS = 1_000;
    private static final double DOES_NOT_BLOCK_MILLIS = 200;

    private final List<String> receivedIds = new CopyOnWriteArrayList<>();
    private volatile boolean slow = true;

    @Test
    void deliversEverythingOnceTheReceiverIsBackWithoutEverBlockingTheCaller() throws Exception {
        int port = Alerts.closedPort();
        Alerts.Problems problems = new Alerts.Problems();
        ActionConfig.Webhook config = new ActionConfig.Webhook(URI.create("http://127.0.0.1:" + port + "/alerts"), TIMEOUT_MILLIS);
        List<Double> offerMillis = new ArrayList<>();
        List<String> sent = new ArrayList<>();
        HttpServer server = null;
        ExecutorService handlers = Executors.newCachedThreadPool();
        try (QueuedAction action = new QueuedAction(new WebhookDelivery(config), 100, RetryPolicy.backoff(20, 200), problems)) {
            // Down: nothing listens on the port.
            for (int i = 1; i <= 5; i++) {
                sent.add("down-" + i);
                offerMillis.add(Alerts.offerMillis(action, Alerts.nodeBroken("down-" + i)));
            }
            await().until(() -> problems.messages().stream().anyMatch(m -> m.contains(": failing: ")));
            assertThat(receivedIds).isEmpty();

            // Slow: the receiver takes the request but answers after the webhook gave up.
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 50);
            server.setExecutor(handlers);
            server.createContext("/alerts", exchange -> {
                JsonNode body = JsonMapper.builder().build().readTree(exchange.getRequestBody().readAllBytes());
                receivedIds.add(body.get("id").stringValue());
                if (slow) {
                    try {
                        Thread.sleep(SLOW_ANSWER_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                exchange.sendResponseHeaders(204, -1);
                exchange.close();
            });
            server.start();
            for (int i = 1; i <= 5; i++) {
                sent.add("slow-" + i);
                offerMillis.add(Alerts.offerMillis(action, Alerts.nodeBroken("slow-" + i)));
            }
            await().until(() -> receivedIds.size() >= 2);
            assertThat(action.queued()).as("nothing acknowledged while slow").isEqualTo(10);

            // Up.
            slow = false;
            for (int i = 1; i <= 5; i++) {
                sent.add("up-" + i);
                offerMillis.add(Alerts.offerMillis(action, Alerts.nodeBroken("up-" + i)));
            }
            await().until(() -> action.queued() == 0);
        } finally {
            if (server != null) {
                server.stop(0);
            }
            handlers.shutdownNow();
        }

        assertThat(new ArrayList<>(new LinkedHashSet<>(receivedIds))).as("every alert, in order").isEqualTo(sent);
        assertThat(offerMillis).allSatisfy(millis -> assertThat(millis).isLessThan(DOES_NOT_BLOCK_MILLIS));
        assertThat(problems.messages()).anyMatch(m -> m.startsWith("webhook http://127.0.0.1:" + port + "/alerts: failing: "))
                .anyMatch(m -> m.contains(": delivering again after "));
    }

    @Test
    void aNon2xxAnswerIsAFailure() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 10);
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(500, -1);
            exchange.close();
        });
        server.start();
        try {
            URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
            WebhookDelivery delivery = new WebhookDelivery(new ActionConfig.Webhook(url, 2_000));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> delivery.deliver(Alerts.diskLow("x")))
                    .hasMessage("HTTP 500 from " + url);
            delivery.close();
        } finally {
            server.stop(0);
        }
    }
}
