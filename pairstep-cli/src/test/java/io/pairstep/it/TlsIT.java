package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.ClusterFile;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.ClientOptions;
import io.pairstep.client.PairstepClient;
import io.pairstep.runtime.access.PeerHttp;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A system started with {@code cluster start --tls}, in real processes: node to node, client to
 * node and the controller speak mutual TLS with the certificates of {@code pairstep certs}, and
 * each node's HTTP server speaks HTTPS only. It serves calls end to end (HTTPS gateway and Java
 * client); a client without a certificate signed by the system's authority gets no answer, a node
 * with a certificate of another authority never joins, and neither does one with the client's
 * certificate or another node's.
 */
class TlsIT {

    @TempDir
    Path dir;

    @Test
    void aTlsSystemServesCallsAndRefusesClientsAndNodesWithoutItsCertificates() throws Exception {
        Path system = dir.resolve("system");
        int basePort = LocalSystem.freeBasePort();
        try (LocalSystem cluster = LocalSystem.start(system, 3, basePort, "none", false, List.of("--tls", "--wait", "240"))) {
            for (String name : List.of("ca", "n1", "n2", "n3", "client")) {
                Path key = system.resolve("certs").resolve(name + ".key");
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).as(name).isEqualTo("rw-------");
            }
            assertThat(cluster.tls()).isTrue();
            cluster.deploy("kv", "kv", "pair", 1);
            assertThat(cluster.awaitFullyProtected(Duration.ofSeconds(60))).as("kv's backup syncs over TLS").isTrue();

            // The HTTP gateway's client and the replication both cross the TLS transport.
            assertThat(cluster.cli("call", "kv", "--key", "a", "{\"op\":\"put\",\"key\":\"a\",\"value\":1}", "--dir", system.toString()))
                    .contains("ok");
            try (PairstepClient client = PairstepClient.connect(cluster.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
                byte[] answer = client.call("kv", "a", "{\"op\":\"incr\",\"key\":\"a\",\"by\":5}".getBytes(StandardCharsets.UTF_8))
                        .get(60, TimeUnit.SECONDS);
                assertThat(new String(answer, StandardCharsets.UTF_8)).isEqualTo("{\"value\":6}");
            }

            httpsServesTheApiAndNothingInClear(cluster, system);
            theConsoleWorksOverHttps(cluster);

            // Without a certificate, or with one of another authority, a client gets nothing through.
            Path other = dir.resolve("other");
            LocalSystem.run("certs", "--dir", other.toString(), "--nodes", "4");
            List<ClientOptions> strangers = List.of(cluster.clientOptions().withTls(null),
                    cluster.clientOptions().withTls(LocalSystem.clientTls(other)));
            for (ClientOptions stranger : strangers) {
                try (PairstepClient client = PairstepClient.connect(stranger.withCallTimeout(Duration.ofSeconds(3)))) {
                    assertThatThrownBy(() -> client.call("kv", "a", "{\"op\":\"incr\",\"key\":\"a\",\"by\":100}"
                            .getBytes(StandardCharsets.UTF_8)).get(60, TimeUnit.SECONDS)).as("tls " + stranger.tls()).isNotNull();
                }
            }

            // A fourth node with a certificate of the other authority tries to join: every node refuses it.
            List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                    System.getProperty("pairstep.jar"), "node", "--id", "n4", "--data", dir.resolve("n4").toString(),
                    "--http", "127.0.0.1:" + (basePort + 41), "--rpc", "127.0.0.1:" + (basePort + 42),
                    "--system", cluster.clusterFile().system(), "--token-file", ClusterFile.tokenFile(system).toString(),
                    "--tls-cert", other.resolve("certs/n4.pem").toString(), "--tls-key", other.resolve("certs/n4.key").toString(),
                    "--tls-ca", other.resolve("certs/ca.pem").toString()));
            command.add("--seeds");
            command.add(String.join(",", cluster.clusterFile().nodes().stream().map(n -> n.id() + "@" + n.rpc()).toList()));
            Path log = dir.resolve("n4.log");
            Process intruder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(new File("/dev/null")).start();
            try {
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500))
                        .until(() -> Files.readString(log).contains("TLS refused"));
                assertThat(intruder.isAlive()).isTrue();
                JsonNode status = cluster.status();
                assertThat(status.get("nodes").valueStream().map(n -> n.get("id").asString())).containsExactly("n1", "n2", "n3");
                assertThat(Files.readString(log)).doesNotContain("node n4 up");
            } finally {
                intruder.destroyForcibly();
                assertThat(intruder.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }

            // Certificates of the system's own authority, but not a node's own: the client's, and n3's
            // under the id n4. The controller refuses both (the client's is no node's; n3's names n3).
            Path certs = system.resolve("certs");
            refusedByTheController(cluster, system, "client", certs.resolve("client.pem"), certs.resolve("client.key"), basePort + 51,
                    "is not a node's");
            refusedByTheController(cluster, system, "n3", certs.resolve("n3.pem"), certs.resolve("n3.key"), basePort + 61,
                    "a certificate for node n3 may not");

            // Nothing the strangers sent was applied.
            assertThat(cluster.cli("call", "kv", "--key", "a", "{\"op\":\"get\",\"key\":\"a\"}", "--dir", system.toString()))
                    .contains("{\"value\":6}");
        }
    }

    /**
     * The web console in headless chromium over HTTPS (the test's browser does not know the system's
     * authority, so it is told to accept the certificate): the token is asked for, every node shows,
     * and events arrive over the HTTPS event stream. The page is saved as {@code target/console-https.png}.
     */
    private void theConsoleWorksOverHttps(LocalSystem cluster) throws Exception {
        org.openqa.selenium.chrome.ChromeDriver driver = ConsoleIT.browser(dir.resolve("chromium-profile"), "--ignore-certificate-errors");
        try {
            org.openqa.selenium.support.ui.FluentWait<org.openqa.selenium.WebDriver> wait =
                    new org.openqa.selenium.support.ui.WebDriverWait(driver, Duration.ofSeconds(30), Duration.ofMillis(100))
                            .ignoring(org.openqa.selenium.StaleElementReferenceException.class);
            driver.get("https://" + cluster.clusterFile().node("n1").http() + "/");
            assertThat(driver.getCurrentUrl()).startsWith("https://");
            ConsoleIT.logIn(driver, wait, cluster.token().text());
            for (String node : List.of("n1", "n2", "n3")) {
                wait.until(org.openqa.selenium.support.ui.ExpectedConditions.presenceOfElementLocated(
                        org.openqa.selenium.By.cssSelector(".node[data-node='" + node + "'][data-state='up']")));
            }
            wait.until(org.openqa.selenium.support.ui.ExpectedConditions.presenceOfElementLocated(
                    org.openqa.selenium.By.cssSelector("tr[data-group='kv/0']")));
            wait.until(org.openqa.selenium.support.ui.ExpectedConditions.presenceOfElementLocated(
                    org.openqa.selenium.By.cssSelector("#events li[data-type='service-deployed']")));
            Path shot = Path.of(System.getProperty("pairstep.jar", "target/pairstep.jar")).toAbsolutePath().getParent()
                    .resolve("console-https.png");
            Files.copy(driver.getScreenshotAs(org.openqa.selenium.OutputType.FILE).toPath(), shot,
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } finally {
            driver.quit();
        }
    }

    /**
     * Starts a node n4 with a certificate of the system's authority that is not n4's and waits until
     * a controller member logs its refusal ({@code expected}); n4 never becomes a member.
     */
    private void refusedByTheController(LocalSystem cluster, Path system, String whose, Path certificate, Path key, int httpPort,
            String expected) throws Exception {
        List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-jar",
                System.getProperty("pairstep.jar"), "node", "--id", "n4", "--data", dir.resolve("n4-" + whose).toString(),
                "--http", "127.0.0.1:" + httpPort, "--rpc", "127.0.0.1:" + (httpPort + 1),
                "--system", cluster.clusterFile().system(), "--token-file", ClusterFile.tokenFile(system).toString(),
                "--tls-cert", certificate.toString(), "--tls-key", key.toString(),
                "--tls-ca", system.resolve("certs/ca.pem").toString(), "--seeds",
                String.join(",", cluster.clusterFile().nodes().stream().map(n -> n.id() + "@" + n.rpc()).toList())));
        Path log = dir.resolve("n4-" + whose + ".log");
        Process intruder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(new File("/dev/null")).start();
        try {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> {
                for (ClusterFile.Node node : cluster.clusterFile().nodes()) {
                    String text = Files.readString(ClusterFile.logFile(system, node.id()));
                    if (text.contains("controller refused") && text.contains(expected)) {
                        return true;
                    }
                }
                return false;
            });
            // Long enough for a registration that got through to show in the status.
            Thread.sleep(3000);
            JsonNode status = cluster.status();
            // (n4's own log may say it is up: its registration is refused after it started, and it keeps asking.)
            assertThat(status.get("nodes").valueStream().map(n -> n.get("id").asString())).as(whose).containsExactly("n1", "n2", "n3");
        } finally {
            intruder.destroyForcibly();
            assertThat(intruder.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
    }

    /**
     * The nodes' HTTP servers speak HTTPS only, with the node's certificate: the CLI (which finds
     * ca.pem through cluster.json, or takes --ca) works; a plain HTTP request is answered 400 and
     * served nothing; the token is still required over HTTPS; the gateway answers a client that
     * trusts ca.pem and no client that does not; jars cross between nodes over HTTPS.
     */
    private void httpsServesTheApiAndNothingInClear(LocalSystem cluster, Path system) throws Exception {
        Path ca = system.resolve("certs").resolve("ca.pem");
        String n1 = cluster.clusterFile().node("n1").http();
        String n2 = cluster.clusterFile().node("n2").http();
        String token = cluster.token().text();

        // The CLI with --dir finds the authority in cluster.json; with --cluster it is given --ca.
        assertThat(cluster.cli("status", "--dir", system.toString())).contains("n1").contains("n3").contains("kv");
        assertThat(cluster.cli("status", "--cluster", n2, "--ca", ca.toString(), "--token-file",
                ClusterFile.tokenFile(system).toString())).contains("kv");
        // Without the authority the CLI speaks plain HTTP and is told why it gets nothing.
        assertThatThrownBy(() -> cluster.cli("status", "--cluster", n2, "--token-file", ClusterFile.tokenFile(system).toString()))
                .hasMessageContaining("serves HTTPS only").hasMessageContaining("--ca FILE").hasMessageNotContaining("Exception");
        // With another system's authority the node's certificate is not trusted.
        Path other = dir.resolve("other-ca");
        LocalSystem.run("certs", "--dir", other.toString(), "--nodes", "1");
        assertThatThrownBy(() -> cluster.cli("status", "--cluster", n2, "--ca", other.resolve("certs/ca.pem").toString(),
                "--token-file", ClusterFile.tokenFile(system).toString()))
                .hasMessageContaining("not signed by the authority");

        // Plain HTTP: 400 HTTPS_REQUIRED, with or without the token, and no data.
        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> clear = plain.send(HttpRequest.newBuilder(URI.create("http://" + n1 + "/v1/status"))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(clear.statusCode()).isEqualTo(400);
        assertThat(clear.body()).contains("HTTPS_REQUIRED").doesNotContain("\"nodes\"").doesNotContain("kv");
        HttpResponse<String> clearCall = plain.send(HttpRequest.newBuilder(URI.create("http://" + n1 + "/v1/services/kv/call?key=a"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"op\":\"incr\",\"key\":\"a\",\"by\":1000}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(clearCall.statusCode()).isEqualTo(400);
        assertThat(clearCall.body()).contains("HTTPS_REQUIRED");

        // HTTPS trusting ca.pem: the admin API wants the token as before.
        PeerHttp trusting = PeerHttp.of(ca, Duration.ofSeconds(5));
        HttpResponse<String> withToken = trusting.client().send(HttpRequest.newBuilder(trusting.uri(n1, "/v1/nodes"))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(withToken.statusCode()).isEqualTo(200);
        assertThat(withToken.body()).contains("\"n3\"").contains("\"http\":\"" + n1 + "\"");
        HttpResponse<String> withoutToken = trusting.client().send(HttpRequest.newBuilder(trusting.uri(n1, "/v1/nodes")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(withoutToken.statusCode()).isEqualTo(401);
        // The system-wide partition figures are gathered from the other nodes over HTTPS.
        HttpResponse<String> figures = trusting.client().send(HttpRequest.newBuilder(trusting.uri(n1, "/v1/metrics/partitions"))
                .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(figures.statusCode()).isEqualTo(200);
        assertThat(figures.body()).contains("\"n2\":\"ok\"").contains("\"n3\":\"ok\"");

        // The console's page and the event stream (server-sent events) are served over HTTPS too.
        HttpResponse<String> console = trusting.client().send(HttpRequest.newBuilder(trusting.uri(n1, "/")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(console.statusCode()).isEqualTo(200);
        assertThat(console.body()).containsIgnoringCase("<html");
        HttpResponse<java.io.InputStream> stream = trusting.client().send(HttpRequest.newBuilder(trusting.uri(n1, "/v1/events/stream?since=0"))
                .header("Authorization", "Bearer " + token).header("Accept", "text/event-stream").build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
            String line = lines.readLine();
            while (line != null && !line.startsWith("data:")) {
                line = lines.readLine();
            }
            assertThat(line).as("the first event over HTTPS").isNotNull().contains("\"type\"");
        }

        // The gateway over HTTPS: a client trusting ca.pem gets its answer (the data path needs no token) ...
        HttpResponse<String> call = trusting.client().send(HttpRequest.newBuilder(trusting.uri(n2, "/v1/services/kv/call?key=a"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"op\":\"get\",\"key\":\"a\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(call.statusCode()).isEqualTo(200);
        assertThat(call.body()).isEqualTo("{\"value\":6}");
        // ... one that trusts only the JDK's usual authorities gets no connection.
        HttpClient usual = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        assertThatThrownBy(() -> usual.send(HttpRequest.newBuilder(URI.create("https://" + n2 + "/v1/services/kv/call?key=a"))
                .POST(HttpRequest.BodyPublishers.ofString("{\"op\":\"incr\",\"key\":\"a\",\"by\":1000}")).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(SSLHandshakeException.class);

        // A jar uploaded to one node is copied to the others over HTTPS.
        Path jar = ServiceJars.build(Files.createDirectories(dir.resolve("jars")), "Tally", ServiceJars.TALLY);
        assertThat(cluster.cli("deploy", "tally", "--jar", jar.toString(), "--class", "it.artifacts.Tally", "--dir", system.toString()))
                .contains("deployed tally");
        for (ClusterFile.Node node : cluster.clusterFile().nodes()) {
            try (var files = Files.list(Path.of(node.data()).resolve("artifacts"))) {
                assertThat(files.filter(f -> f.toString().endsWith(".jar")).count()).as(node.id()).isEqualTo(1);
            }
        }
        assertThat(cluster.cli("call", "tally", "--key", "x", "5", "--dir", system.toString())).contains("=5");
    }
}
