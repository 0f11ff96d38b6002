package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * The partition monitors of a real node, in this JVM: a service under load shows in
 * {@code /metrics}, in its MBean, and as a threshold metric that fires while the load runs and
 * clears once it stops (the alert reaching a webhook receiver on loopback).
 */
class PartitionMonitorsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path dir;
    static Node node;
    static String base;
    static HttpServer receiver;
    static final List<JsonNode> alerts = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startNode() throws Exception {
        receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.createContext("/alerts", exchange -> {
            alerts.add(JSON.readTree(exchange.getRequestBody().readAllBytes()));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        receiver.start();
        Path availability = dir.resolve("availability.yaml");
        Files.writeString(availability, """
                thresholds:
                  - {metric: partition.throughput, fire: 5, clear: 1, duration: 1s, service: kv}
                  - {metric: partition.throughput, fire: 5, duration: 1s, service: other}
                actions:
                  - {type: webhook, url: "http://127.0.0.1:%d/alerts"}
                """.formatted(receiver.getAddress().getPort()));
        int http = OpenApiDocumentTest.freePort(1);
        int rpc = OpenApiDocumentTest.freePort(2);
        NodeConfig config = new NodeConfig("p1", dir.resolve("p1"), new InetSocketAddress("127.0.0.1", http),
                new InetSocketAddress("127.0.0.1", rpc), List.of(new NodeConfig.Seed("p1", new InetSocketAddress("127.0.0.1", rpc))),
                null, "none", NodeConfig.MAX_COMMAND_BYTES_DEFAULT, availability);
        node = new Node(config);
        node.start();
        base = "http://127.0.0.1:" + http;
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> send("GET", "/v1/status", null).statusCode() == 200);
        HttpResponse<String> deploy = send("POST", "/v1/services", "{\"name\":\"kv\",\"example\":\"kv\",\"mode\":\"none\",\"partitions\":2}");
        assertThat(deploy.statusCode()).as(deploy.body()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
        if (receiver != null) {
            receiver.stop(0);
        }
    }

    @Test
    void aPartitionUnderLoadShowsInMetricsAndJmxAndFiresItsThresholdThenClears() throws Exception {
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong answered = new AtomicLong();
        Thread load = Thread.ofVirtual().start(() -> {
            while (running.get()) {
                try {
                    if (send("POST", "/v1/services/kv/call?key=a", "{\"op\":\"incr\",\"key\":\"a\",\"by\":1}").statusCode() == 200) {
                        answered.incrementAndGet();
                    }
                } catch (Exception e) {
                    // The node is still placing the service: try again.
                }
            }
        });
        try {
            JsonNode fired = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> find("threshold.fired"), alert -> alert != null);
            assertThat(fired.get("metric").stringValue()).isEqualTo("partition.throughput");
            String subject = fired.get("subject").stringValue();
            assertThat(subject).matches("kv/[01]");
            String partition = subject.substring(3);

            // The same figures in Prometheus text and over JMX.
            String scrape = await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
                    .until(() -> send("GET", "/metrics", null).body(),
                            text -> value(text, "pairstep_partition_latency_p99_seconds", partition) > 0);
            String labels = "{partition=\"" + partition + "\",role=\"primary\",service=\"kv\"}";
            assertThat(scrape).contains("pairstep_partition_commands_total" + labels,
                    "pairstep_partition_throughput" + labels, "pairstep_partition_queue_depth" + labels,
                    "pairstep_partition_replication_lag" + labels, "pairstep_partition_progress_age_seconds" + labels,
                    "pairstep_partition_replica_syncing" + labels);
            assertThat(value(scrape, "pairstep_partition_commands_total", partition)).isPositive();
            assertThat(value(scrape, "pairstep_partition_replica_syncing", partition)).isZero();
            // Mode none has no backup: nothing waits for another replica, only for the local disk,
            // and the one caller above has at most one command in flight.
            assertThat(value(scrape, "pairstep_partition_replication_lag", partition)).isBetween(0.0, 1.0);

            MBeanServer mbeans = ManagementFactory.getPlatformMBeanServer();
            ObjectName name = PartitionMonitors.objectName("p1", "kv", Integer.parseInt(partition));
            assertThat(mbeans.getAttribute(name, "Role")).isEqualTo("primary");
            assertThat(mbeans.getAttribute(name, "Service")).isEqualTo("kv");
            assertThat((Long) mbeans.getAttribute(name, "CommandsTotal")).isPositive();
            assertThat((Double) mbeans.getAttribute(name, "Throughput")).isPositive();
            assertThat((Boolean) mbeans.getAttribute(name, "Syncing")).isFalse();
            assertThat(mbeans.queryNames(new ObjectName(PartitionMonitors.JMX_DOMAIN + ":type=Partition,node=p1,*"), null))
                    .hasSize(2);
            ObjectName nodeName = NodeMonitoring.nodeObjectName("p1");
            assertThat(mbeans.getAttribute(nodeName, "NodesUp")).isEqualTo(1L);
            assertThat(mbeans.getAttribute(nodeName, "Groups")).isEqualTo(2L);
            assertThat(mbeans.getAttribute(nodeName, "ControllerLeader")).isEqualTo(true);
            assertThat(scrape).contains("pairstep_nodes_up 1.0", "pairstep_groups 2.0");
        } finally {
            running.set(false);
            load.join();
        }
        assertThat(answered.get()).isPositive();

        JsonNode cleared = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> find("threshold.cleared"), alert -> alert != null);
        assertThat(cleared.get("subject").stringValue()).isEqualTo(find("threshold.fired").get("subject").stringValue());
        // Fired once and cleared once; the other service's threshold never saw a sample of kv.
        assertThat(alerts).extracting(alert -> alert.get("kind").stringValue())
                .filteredOn(kind -> kind.startsWith("threshold."))
                .containsExactly("threshold.fired", "threshold.cleared");
    }

    @Test
    void everyMetricTheGrafanaDashboardQueriesIsOneTheNodeExports() throws Exception {
        JsonNode dashboard = JSON.readTree(Files.readString(Path.of("../docs/grafana/pairstep-dashboard.json")));
        Set<String> queried = queriedMetrics(dashboard);
        assertThat(queried).contains("pairstep_partition_commands_total", "pairstep_partition_latency_p99_seconds",
                "pairstep_partition_queue_depth", "pairstep_partition_replication_lag", "pairstep_partition_progress_age_seconds",
                "pairstep_partition_replica_syncing", "pairstep_nodes_up");
        // The GC pause timer appears with the first collection the node sees.
        System.gc();
        Set<String> exported = await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> exportedMetrics(send("GET", "/metrics", null).body()), names -> names.containsAll(queried));
        assertThat(exported).containsAll(queried);
    }

    /** Every metric name in the dashboard's queries: panel targets and template variables. */
    static Set<String> queriedMetrics(JsonNode dashboard) {
        Set<String> names = new TreeSet<>();
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.path("targets")) {
                names.addAll(metricNames(target.get("expr").stringValue()));
            }
        }
        for (JsonNode variable : dashboard.path("templating").path("list")) {
            Matcher labelValues = Pattern.compile("label_values\\(\\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
                    .matcher(variable.path("query").path("query").stringValue());
            assertThat(labelValues.find()).as("variable %s", variable.get("name")).isTrue();
            names.add(labelValues.group(1));
        }
        return names;
    }

    /** The metric names of one PromQL expression: identifiers that are not functions, keywords or label names. */
    static Set<String> metricNames(String expression) {
        String bare = expression
                .replaceAll("\"[^\"]*\"", "")
                .replaceAll("\\{[^}]*\\}", "")
                .replaceAll("\\[[^\\]]*\\]", "")
                .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", "");
        Set<String> names = new TreeSet<>();
        Matcher identifier = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\s*\\()?").matcher(bare);
        while (identifier.find()) {
            boolean function = identifier.group(1) != null;
            if (!function && !Set.of("and", "or", "unless", "bool", "offset").contains(identifier.group())) {
                names.add(identifier.group());
            }
        }
        return names;
    }

    /** The metric names of a Prometheus text scrape. */
    static Set<String> exportedMetrics(String scrape) {
        Set<String> names = new TreeSet<>();
        scrape.lines().filter(line -> !line.isBlank() && !line.startsWith("#"))
                .forEach(line -> names.add(line.split("[{ ]", 2)[0]));
        return names;
    }

    @Test
    void metricNamesAreReadFromPromQl() {
        assertThat(metricNames("sum by (service, partition) (rate(pairstep_partition_commands_total{role=\"primary\"}[1m]))"))
                .containsExactly("pairstep_partition_commands_total");
        assertThat(metricNames("sum by (instance) (a_bytes{area=\"heap\"}) / sum by (instance) (b_bytes > 0) and c"))
                .containsExactly("a_bytes", "b_bytes", "c");
    }

    private static JsonNode find(String kind) {
        return alerts.stream().filter(alert -> kind.equals(alert.get("kind").stringValue())).findFirst().orElse(null);
    }

    /** The value of a partition series of kv in Prometheus text, or NaN when absent. */
    private static double value(String scrape, String name, String partition) {
        Matcher matcher = Pattern.compile("(?m)^" + name + "\\{partition=\"" + partition + "\",role=\"[a-z]+\",service=\"kv\"} (\\S+)$")
                .matcher(scrape);
        return matcher.find() ? Double.parseDouble(matcher.group(1)) : Double.NaN;
    }

    private static HttpResponse<String> send(String method, String path, String body) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .header("Authorization", "Bearer " + node.accessToken().text())
                .build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

}
