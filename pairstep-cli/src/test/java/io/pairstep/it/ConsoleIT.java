package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LocalSystem;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.FluentWait;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * The web console in a real browser (Debian's chromium, headless, through its chromedriver) against
 * a 3-node system of real processes: it shows every node, the kill button of a primary's node
 * really kills that process, and the takeover appears on the page within a few seconds, with an
 * open incident naming the node that its button acknowledges. The page (with that incident open) is
 * saved as {@code target/console.png}.
 */
class ConsoleIT {

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Kept when the test fails, with the nodes' logs. */
    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS)
    Path dir;

    private static Path target() {
        return Path.of(System.getProperty("pairstep.jar", "target/pairstep.jar")).toAbsolutePath().getParent();
    }

    private ChromeDriver browser() throws IOException {
        return browser(dir.resolve("chromium-profile"));
    }

    /** Headless chromium with a fresh profile in {@code profile}, and {@code extraArguments}. */
    static ChromeDriver browser(Path profile, String... extraArguments) throws IOException {
        assertThat(CHROMIUM).as("chromium; scripts/install-test-deps installs it").isExecutable();
        assertThat(CHROMEDRIVER).as("chromedriver; scripts/install-test-deps installs it").isExecutable();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update",
                "--disable-sync", "--window-size=1400,900",
                "--user-data-dir=" + Files.createDirectories(profile));
        options.addArguments(extraArguments);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    @Test
    void theConsoleShowsEveryNodeAndATakeoverCausedThroughItsKillButton() throws Exception {
        try (LocalSystem system = LocalSystem.start(dir, 3, LocalSystem.freeBasePort(), "always", false, List.of("--wait", "240"))) {
            system.deploy("kv", "kv", "pair", 2);
            Path jars = Files.createDirectories(dir.resolve("jars"));
            Path v1 = ServiceJars.build(jars, "counters-1", "Counters", ServiceJars.counters(1, false, false));
            Path v2 = ServiceJars.build(jars, "counters-2", "Counters", ServiceJars.counters(2, false, false));
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("kv fully protected").isTrue();
            JsonNode status = system.status();
            List<String> nodes = new ArrayList<>();
            status.get("nodes").forEach(node -> nodes.add(node.get("http").asString()));

            ChromeDriver driver = browser();
            Process follower = null;
            try {
                // The page redraws when the system changes, so an element found may be replaced before it is read.
                FluentWait<WebDriver> wait = new WebDriverWait(driver, Duration.ofSeconds(20), Duration.ofMillis(100))
                        .ignoring(StaleElementReferenceException.class);
                // The page must be served by a node that survives, so that it can show the takeover:
                // open the console on a node that does not host kv/0's primary.
                String primaryAtStart = null;
                String consoleAddress = null;
                for (String address : nodes) {
                    driver.get("http://" + address + "/");
                    logIn(driver, wait, system.token().text());
                    for (JsonNode node : status.get("nodes")) {
                        wait.until(ExpectedConditions.presenceOfElementLocated(
                                By.cssSelector(".node[data-node='" + node.get("id").asString() + "'][data-state='up']")));
                    }
                    primaryAtStart = wait.until(d -> d.findElement(By.cssSelector("tr[data-group='kv/0']")).getDomAttribute("data-primary"));
                    if (!address.equals(system.clusterFile().node(primaryAtStart).http())) {
                        consoleAddress = address;
                        break;
                    }
                }
                assertThat(consoleAddress).as("a node without kv/0's primary").isNotNull();
                String victim = primaryAtStart;
                long victimPid = system.clusterFile().node(victim).pid();
                List<String> survivors = nodes.stream().filter(a -> !a.equals(system.clusterFile().node(victim).http())).toList();
                assertThat(driver.findElements(By.cssSelector(".node"))).hasSize(3);
                assertThat(driver.findElements(By.cssSelector(".node[data-leader='true']"))).as("one controller leader marked").hasSize(1);
                assertThat(driver.findElements(By.cssSelector("tr[data-group='kv/0'] .replica"))).hasSize(2);
                wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("#events li[data-type='service-deployed']")));

                // Deploy through the console: the new service's group appears; a taken name is refused on the page.
                deployFromConsole(driver, "bank", "bank", "2");
                wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-group='bank/1']")));
                assertThat(driver.findElement(By.id("notice")).getText()).contains("Deployed bank");
                // A jar chosen from disk: uploaded, checked for its class, deployed by digest.
                deployJarFromConsole(driver, "counters", v1, "it.artifacts.Counters");
                wait.until(d -> d.findElement(By.id("notice")).getText().contains("Deployed counters"));
                wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-group='counters/0']")));
                deployJarFromConsole(driver, "counters2", v1, "it.artifacts.NoSuchClass");
                wait.until(d -> d.findElement(By.id("notice")).getText().contains("the jar was refused"));
                assertThat(driver.findElement(By.id("notice")).getText()).contains("it.artifacts.NoSuchClass");
                deployFromConsole(driver, "kv", "kv", "1");
                wait.until(d -> d.findElement(By.id("notice")).getText().contains("already deployed"));
                assertThat(driver.findElement(By.id("notice")).getDomAttribute("class")).contains("error");

                // pairstep events --follow, reading the stream of the node about to die first.
                follower = follow(system.clusterFile().node(victim).http() + "," + String.join(",", survivors), system.token().text());
                Process following = follower;
                await().atMost(Duration.ofSeconds(20)).until(() -> followed.stream().anyMatch(l -> l.contains("service-deployed")));

                // Events already on the page (there may have been takeovers while the system started).
                // Events are only ever added, never redrawn: the first is the newest.
                long lastSeqBefore = Long.parseLong(driver.findElement(By.cssSelector("#events li")).getDomAttribute("data-seq"));
                String killButton = "button.kill[data-node='" + victim + "']";
                wait.until(d -> {
                    d.findElement(By.cssSelector(killButton)).click();
                    return true;
                });
                wait.until(ExpectedConditions.alertIsPresent()).accept();

                // The takeover, within a few seconds: a new primary for kv/0, the event, and the dead node.
                FluentWait<WebDriver> takeover = new WebDriverWait(driver, Duration.ofSeconds(15), Duration.ofMillis(50))
                        .ignoring(StaleElementReferenceException.class);
                takeover.until(d -> {
                    List<WebElement> rows = d.findElements(By.cssSelector("tr[data-group='kv/0']"));
                    String primary = rows.isEmpty() ? "" : rows.get(0).getDomAttribute("data-primary");
                    return primary != null && !primary.isEmpty() && !primary.equals(victim);
                });
                WebElement takeoverEvent = takeover.until(d -> d.findElements(By.cssSelector("#events li[data-type='takeover']")).stream()
                        .filter(li -> Long.parseLong(li.getDomAttribute("data-seq")) > lastSeqBefore)
                        .filter(li -> li.getText().contains("kv/0") && li.getText().contains("took over from " + victim))
                        .findFirst().orElse(null));
                takeover.until(ExpectedConditions.presenceOfElementLocated(
                        By.cssSelector(".node[data-node='" + victim + "'][data-state='down']")));
                assertThat(takeoverEvent.getText()).contains("TAKEOVER");
                assertThat(driver.findElement(By.id("notice")).getText()).contains(victim, "SIGKILL");
                // The kill button killed the real process.
                await().atMost(Duration.ofSeconds(5)).until(() -> !runs(victimPid));
                // The rebuilt backup shows up (syncing or already in sync) on the page too.
                wait.until(d -> d.findElements(By.cssSelector("tr[data-group='kv/0'] .replica")).size() == 2
                        || !d.findElements(By.cssSelector("#events li[data-type='replica-inserted']")).isEmpty());
                // The kill opened an incident naming the node: it stands out at the top, and its button acknowledges it.
                WebElement incident = wait.until(d -> d.findElements(By.cssSelector("#incidents li[data-state='open']")).stream()
                        .filter(li -> li.getText().contains("node-down · " + victim)).findFirst().orElse(null));
                String incidentId = incident.getDomAttribute("data-incident");
                assertThat(incident.getText()).contains("is down", "start-node --id " + victim);
                screenshot(driver, target().resolve("console.png"));
                wait.until(d -> {
                    d.findElement(By.cssSelector("button.ack[data-incident='" + incidentId + "']")).click();
                    return true;
                });
                wait.until(ExpectedConditions.presenceOfElementLocated(
                        By.cssSelector("#incidents li[data-incident='" + incidentId + "'][data-state='acknowledged']")));
                assertThat(driver.findElement(By.id("notice")).getText()).contains("Incident " + incidentId + " acknowledged");

                // The follower lost its node, went on with another, and printed every event once.
                await().atMost(Duration.ofSeconds(20)).until(() -> followed.stream().anyMatch(l -> l.contains("took over from " + victim)));
                assertThat(followedErrors).anyMatch(l -> l.contains("trying"));
                List<String> withoutTimes = followed.stream().map(l -> l.substring(l.indexOf("  v"))).toList();
                assertThat(withoutTimes).doesNotHaveDuplicates();
                assertThat(following.isAlive()).isTrue();

                // The CLI shows the same takeover, and the surviving nodes' logs agree event for event.
                String events = system.cli("events", "--dir", dir.toString());
                assertThat(events).contains("takeover", "took over from " + victim);
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                    List<String> first = comparable(survivors.get(0), system.token().text());
                    List<String> second = comparable(survivors.get(1), system.token().text());
                    // Each node's log starts when the node started: compare from the later start.
                    long from = Math.max(version(first.get(0)), version(second.get(0)));
                    assertThat(first.stream().filter(e -> version(e) >= from).toList())
                            .isEqualTo(second.stream().filter(e -> version(e) >= from).toList())
                            .anyMatch(e -> e.contains("took over from " + victim));
                });

                // The killed node comes back; then the console's charts, upgrade and drain.
                system.restart(victim);
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(90))).as("fully protected after the restart").isTrue();
                chartsUpgradeAndDrain(driver, wait, system, v2);
            } catch (RuntimeException | AssertionError e) {
                screenshot(driver, target().resolve("console-failure.png"));
                throw e;
            } finally {
                driver.quit();
                if (follower != null) {
                    follower.destroyForcibly();
                }
            }
        }
    }

    /**
     * Under load on counters, its chart shows the throughput the nodes measured; the upgrade form
     * uploads version 2's jar with a bake of 15 s, the page shows the bake, and the rolling upgrade
     * completes (every replica on version 2, the page's service on version 2); a node drained from its button shows as draining, and undrained
     * again.
     */
    private static void chartsUpgradeAndDrain(ChromeDriver driver, FluentWait<WebDriver> wait, LocalSystem system, Path v2)
            throws Exception {
        FluentWait<WebDriver> slow = new WebDriverWait(driver, Duration.ofSeconds(120), Duration.ofMillis(200))
                .ignoring(StaleElementReferenceException.class);
        java.util.concurrent.atomic.AtomicBoolean loading = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicLong failures = new java.util.concurrent.atomic.AtomicLong();
        try (io.pairstep.client.PairstepClient client = io.pairstep.client.PairstepClient.connect(
                system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
            Thread load = Thread.ofPlatform().daemon().name("console-it-load").start(() -> {
                for (long i = 0; loading.get(); i++) {
                    String key = "c" + (i % 50);
                    try {
                        client.call("counters", key, ("{\"op\":\"incr\",\"key\":\"" + key + "\",\"by\":1}")
                                .getBytes(java.nio.charset.StandardCharsets.UTF_8)).join();
                    } catch (RuntimeException e) {
                        failures.incrementAndGet();
                    }
                }
            });
            try {
                String chart = "figure.chart[data-service='counters']";
                slow.until(d -> {
                    String throughput = d.findElement(By.cssSelector(chart)).getDomAttribute("data-throughput");
                    return throughput != null && !throughput.isEmpty() && Long.parseLong(throughput) > 0;
                });
                assertThat(driver.findElement(By.cssSelector(chart + " figcaption")).getText()).contains("commands/s", "p99");

                WebElement form = driver.findElement(By.id("upgrade"));
                new Select(form.findElement(By.name("service"))).selectByVisibleText("counters");
                form.findElement(By.name("jar")).sendKeys(v2.toAbsolutePath().toString());
                WebElement bake = form.findElement(By.name("bake"));
                bake.clear();
                bake.sendKeys("15");
                form.findElement(By.cssSelector("button[type='submit']")).click();
                wait.until(d -> d.findElement(By.id("notice")).getText().contains("Upgrading counters from version 1 to 2"));
                assertThat(driver.findElement(By.id("notice")).getText()).contains("baking 15 s");
                // The service shows the upgrade under way, then its bake: every primary on version 2, version 1 kept as backup.
                String baking = slow.until(d -> d.findElements(By.cssSelector(".service[data-service='counters'] .upgrade[data-upgrade-state='baking']"))
                        .stream().map(WebElement::getText).findFirst().orElse(null));
                assertThat(baking).contains("upgrade to version 2: baking", "version 1 kept as backup for 15 s");
                slow.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(".service[data-service='counters'][data-version='2']")));
                slow.until(d -> {
                    JsonNode status = system.status();
                    for (JsonNode group : status.get("groups")) {
                        if (group.get("service").asString().equals("counters")) {
                            for (JsonNode replica : group.get("replicas")) {
                                if (replica.get("version").asLong() != 2 || !replica.get("state").asString().equals("ok")) {
                                    return false;
                                }
                            }
                        }
                    }
                    return true;
                });
                screenshot(driver, target().resolve("console-charts.png"));
            } finally {
                loading.set(false);
                load.join(30_000);
            }
            assertThat(failures.get()).as("client errors during the upgrade started from the console").isZero();
        }

        // Drain a node that is not serving the page, then let it take replicas again.
        String served = java.net.URI.create(driver.getCurrentUrl()).getAuthority();
        String drained = system.clusterFile().nodes().stream().filter(n -> !n.http().equals(served)).findFirst().orElseThrow().id();
        wait.until(d -> {
            d.findElement(By.cssSelector("button.drain[data-node='" + drained + "'][data-action='drain']")).click();
            return true;
        });
        wait.until(ExpectedConditions.alertIsPresent()).accept();
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(".node[data-node='" + drained + "'][data-draining='true']")));
        assertThat(driver.findElement(By.id("notice")).getText()).contains("Draining " + drained);
        wait.until(d -> {
            d.findElement(By.cssSelector("button.drain[data-node='" + drained + "'][data-action='undrain']")).click();
            return true;
        });
        wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector(".node[data-node='" + drained + "'][data-draining='false']")));
        assertThat(driver.findElement(By.id("notice")).getText()).contains("Node " + drained + " takes replicas again");
    }

    /**
     * The console asks for the token the first time; its cookie is the host's, so the consoles of
     * the other nodes (other ports) are logged in already. A wrong token is refused on the page.
     */
    static void logIn(WebDriver driver, FluentWait<WebDriver> wait, String token) {
        wait.until(d -> d.findElement(By.id("login")).isDisplayed() || d.findElement(By.id("main")).isDisplayed());
        if (driver.findElement(By.id("main")).isDisplayed()) {
            return;
        }
        assertThat(driver.findElements(By.cssSelector(".node"))).isEmpty();
        submitToken(driver, "not-the-token-of-this-system");
        wait.until(d -> d.findElement(By.id("login-error")).getText().contains("wrong access token"));
        assertThat(driver.findElement(By.id("main")).isDisplayed()).isFalse();
        submitToken(driver, token);
        wait.until(d -> d.findElement(By.id("main")).isDisplayed());
    }

    private static void submitToken(WebDriver driver, String token) {
        WebElement field = driver.findElement(By.id("token"));
        field.clear();
        field.sendKeys(token);
        driver.findElement(By.cssSelector("#login button[type='submit']")).click();
    }

    private static void deployFromConsole(WebDriver driver, String name, String example, String partitions) {
        WebElement form = driver.findElement(By.id("deploy"));
        WebElement nameField = form.findElement(By.name("name"));
        nameField.clear();
        nameField.sendKeys(name);
        new Select(form.findElement(By.name("example"))).selectByVisibleText(example);
        ((org.openqa.selenium.JavascriptExecutor) driver).executeScript("arguments[0].value = ''", form.findElement(By.name("jar")));
        WebElement partitionsField = form.findElement(By.name("partitions"));
        partitionsField.clear();
        partitionsField.sendKeys(partitions);
        form.findElement(By.cssSelector("button[type='submit']")).click();
    }

    private static void deployJarFromConsole(WebDriver driver, String name, Path jar, String className) {
        WebElement form = driver.findElement(By.id("deploy"));
        WebElement nameField = form.findElement(By.name("name"));
        nameField.clear();
        nameField.sendKeys(name);
        new Select(form.findElement(By.name("example"))).selectByValue("");
        form.findElement(By.name("jar")).sendKeys(jar.toAbsolutePath().toString());
        WebElement classField = form.findElement(By.name("class"));
        classField.clear();
        classField.sendKeys(className);
        WebElement partitionsField = form.findElement(By.name("partitions"));
        partitionsField.clear();
        partitionsField.sendKeys("1");
        form.findElement(By.cssSelector("button[type='submit']")).click();
    }

    private final List<String> followed = new CopyOnWriteArrayList<>();
    private final List<String> followedErrors = new CopyOnWriteArrayList<>();

    /** Starts {@code pairstep events --follow} on the given nodes; its lines land in {@link #followed} and {@link #followedErrors}. */
    private Process follow(String cluster, String token) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        ProcessBuilder builder = new ProcessBuilder(java, "-jar", System.getProperty("pairstep.jar"), "events", "--follow", "--cluster", cluster);
        // The token as an operator's script would give it, through the environment.
        builder.environment().put("PAIRSTEP_TOKEN", token);
        Process process = builder.start();
        process.getOutputStream().close();
        collect(process.getInputStream(), followed);
        collect(process.getErrorStream(), followedErrors);
        return process;
    }

    private static void collect(java.io.InputStream stream, List<String> lines) {
        Thread.ofPlatform().daemon().name("console-it-follow").start(() -> {
            try (var reader = new java.io.BufferedReader(new java.io.InputStreamReader(stream, java.nio.charset.StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // The process was stopped.
            }
        });
    }

    /** Whether a process runs: a dead one that nobody has reaped yet (a zombie) does not. */
    private static boolean runs(long pid) throws IOException {
        Path stat = Path.of("/proc/" + pid + "/stat");
        if (!Files.exists(stat)) {
            return false;
        }
        String text = Files.readString(stat);
        int close = text.lastIndexOf(')');
        return close < 0 || close + 2 >= text.length() || text.charAt(close + 2) != 'Z';
    }

    private static long version(String comparableEvent) {
        return Long.parseLong(comparableEvent.substring(0, comparableEvent.indexOf('.')));
    }

    /** A node's events as (version, index, type, message): the same on every node. */
    private static List<String> comparable(String http, String token) throws Exception {
        try (HttpClient client = HttpClient.newHttpClient()) {
            HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create("http://" + http + "/v1/events"))
                    .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(response.statusCode()).isEqualTo(200);
            List<String> events = new ArrayList<>();
            for (JsonNode event : JSON.readTree(response.body())) {
                events.add(event.get("version").asLong() + "." + event.get("index").asInt() + " " + event.get("type").asString()
                        + " " + event.get("message").asString());
            }
            return events;
        }
    }

    private static void screenshot(WebDriver driver, Path file) throws IOException {
        // Clicks scroll the page: show it from the top, where the incidents and nodes are.
        ((org.openqa.selenium.JavascriptExecutor) driver).executeScript("window.scrollTo(0, 0)");
        File shot = ((ChromeDriver) driver).getScreenshotAs(OutputType.FILE);
        Files.copy(shot.toPath(), file, StandardCopyOption.REPLACE_EXISTING);
        System.out.println("ConsoleIT: screenshot " + file);
    }
}
