package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code pairstep events} against an in-process fake node. */
class EventsCommandTest {

    private static String event(long seq, long version, int index, String type, String message) {
        return "{\"seq\":" + seq + ",\"version\":" + version + ",\"index\":" + index + ",\"time\":\"2026-11-21T10:00:0" + seq
                + "Z\",\"type\":\"" + type + "\",\"node\":\"n2\",\"component\":\"kv/0\",\"message\":\"" + message + "\",\"fields\":{}}";
    }

    private static final String E1 = event(1, 3, 0, "node-down", "n1 is down");
    private static final String E2 = event(2, 3, 1, "takeover", "kv/0: n2 took over from n1 (epoch 2 to 3)");
    private static final String E3 = event(3, 4, 0, "replica-inserted", "kv/0: new backup on n3, syncing (epoch 4)");

    private HttpServer server;
    private final List<String> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger streams = new AtomicInteger();
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        server.stop(0);
    }

    private void handle(HttpExchange ex) throws IOException {
        String uri = ex.getRequestURI().getRawPath() + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery());
        requests.add(uri + " accept=" + ex.getRequestHeaders().getFirst("Accept"));
        if (ex.getRequestURI().getPath().equals("/v1/events")) {
            byte[] body = ("[" + E1 + "," + E2 + "]").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(200, body.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(body);
            }
            return;
        }
        // The stream: the first connection sends the two events of version 3 and ends; the second,
        // asked for the versions after 2, sends them again and one more, then stays open.
        ex.getResponseHeaders().add("Content-Type", "text/event-stream");
        ex.sendResponseHeaders(200, 0);
        try (OutputStream out = ex.getResponseBody()) {
            boolean first = streams.incrementAndGet() == 1;
            for (String event : first ? List.of(E1, E2) : List.of(E1, E2, E3)) {
                out.write((": keep-alive\n\nevent: message\nid: 1\ndata: " + event + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            if (!first) {
                release.await();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String fake() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    @Test
    void eventsPrintsOneLinePerEventAndPassesSinceOn() {
        Cli r = Cli.run("events", "--since", "2026-11-21T10:00:00+01:00", "--cluster", fake());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).isEqualTo(
                "2026-11-21T10:00:01Z  v3     node-down         n1 is down\n"
                        + "2026-11-21T10:00:02Z  v3     takeover          kv/0: n2 took over from n1 (epoch 2 to 3)\n");
        assertThat(requests).containsExactly("/v1/events?since=2026-11-21T10%3A00%3A00%2B01%3A00 accept=null");

        Cli json = Cli.run("events", "--json", "--cluster", fake());
        assertThat(json.out().lines().toList()).hasSize(2).first().asString().startsWith("{\"seq\":1,").contains("\"type\":\"node-down\"");
    }

    @Test
    void followReconnectsFromTheLastControllerVersionAndPrintsNothingTwice() throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        Thread follower = new Thread(() -> Main.execute(new String[] {"events", "--follow", "--cluster", fake()},
                new PrintWriter(out, true), new PrintWriter(err, true)), "events-follow");
        follower.setDaemon(true);
        follower.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> out.toString().lines().count() == 3);
        assertThat(out.toString().lines().map(line -> line.substring(line.indexOf(" v"))).toList()).containsExactly(
                " v3     node-down         n1 is down",
                " v3     takeover          kv/0: n2 took over from n1 (epoch 2 to 3)",
                " v4     replica-inserted  kv/0: new backup on n3, syncing (epoch 4)");
        assertThat(requests).containsExactly(
                "/v1/events/stream?since=0 accept=text/event-stream",
                "/v1/events/stream?since=v2 accept=text/event-stream");
        assertThat(err.toString()).contains("the node closed the stream");
        // Stop the follower: the node goes away, and the pause before the next attempt is interrupted.
        release.countDown();
        server.stop(0);
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            follower.interrupt();
            return !follower.isAlive();
        });
    }
}
