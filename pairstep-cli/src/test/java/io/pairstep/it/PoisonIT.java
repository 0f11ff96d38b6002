package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LedgerLoad;
import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import io.pairstep.client.PairstepException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * Poison commands with real JVM processes: the example {@code faulty} (kv plus commands that break
 * their replica) under load from several clients, each checked against a model of its keys. In
 * the middle of the load one command overflows the stack, one runs out of memory and one loops forever. Each must be
 * quarantined (in the status, with its session, sequence and payload), its caller must get the
 * {@code POISON} error (and so must a retry of it), the group must heal to full strength, the
 * poison must leave no trace in the state, and the normal commands must see no error and no wrong
 * result (nothing lost, nothing run twice). The methods share one system of three nodes (see
 * {@link SharedSystem}), each with a service of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PoisonIT {

    private static final int CLIENTS = 4;
    private static final String EXAMPLE = "faulty";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Static: a field of the instance would be a new directory, deleted after each method, even with one instance. */
    @TempDir
    static java.nio.file.Path dir;

    @RegisterExtension
    static final SharedSystem shared = new SharedSystem(() -> dir, 3);
    /** The service of the method that runs: the example faulty, deployed under a name of its own. */
    private String service;



    @Test
    void pairQuarantinesAStackOverflowAndAnEndlessLoopWhileServingEverythingElse() throws Exception {
        poisonUnderLoad("pair");
    }

    @Test
    void tmrQuarantinesAStackOverflowAndAnEndlessLoopWhileServingEverythingElse() throws Exception {
        poisonUnderLoad("tmr");
    }

    private void poisonUnderLoad(String mode) throws Exception {
        long seed = Long.getLong("pairstep.seed", System.nanoTime());
        System.out.println("PoisonIT " + mode + ": seed " + seed + " (rerun with -Dpairstep.seed=" + seed + ")");
        service = EXAMPLE + "-" + mode;
        LocalSystem system = shared.get();
        system.deploy(service, EXAMPLE, mode, 1);
        assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
        try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(30)))) {
            KvModelLoad load = new KvModelLoad(client, service, CLIENTS, seed);
            load.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= 300);

            // Through the HTTP gateway: the caller sees 422 with the code POISON.
            String stackOverflow = "{\"op\":\"stack-overflow\"}";
            long epochBefore = group(system).get("epoch").asLong();
            HttpResponse<String> answer = post(system, stackOverflow);
            System.out.println("PoisonIT: stack-overflow -> " + answer.statusCode() + " " + answer.body());
            assertThat(answer.statusCode()).isEqualTo(422);
            assertThat(JSON.readTree(answer.body()).get("code").asString()).isEqualTo("POISON");
            assertThat(JSON.readTree(answer.body()).get("error").asString()).contains("StackOverflowError");
            healedAndServing(system, load, epochBefore, stackOverflow);

            // An OutOfMemoryError inside the service is contained the same way.
            String outOfMemory = "{\"op\":\"out-of-memory\"}";
            epochBefore = group(system).get("epoch").asLong();
            answer = post(system, outOfMemory);
            System.out.println("PoisonIT: out-of-memory -> " + answer.statusCode() + " " + answer.body());
            assertThat(answer.statusCode()).isEqualTo(422);
            assertThat(JSON.readTree(answer.body()).get("code").asString()).isEqualTo("POISON");
            assertThat(JSON.readTree(answer.body()).get("error").asString()).contains("OutOfMemoryError");
            healedAndServing(system, load, epochBefore, outOfMemory);

            // Through the Java client with an explicit session, so that a retry is the same command.
            String spin = "{\"op\":\"spin\"}";
            epochBefore = group(system).get("epoch").asLong();
            long session = 0x5EED0000L + (seed & 0xFFFF);
            PairstepException poison = poisonError(client, spin, session);
            System.out.println("PoisonIT: spin -> " + poison);
            assertThat(poison.getMessage()).contains("watchdog");
            assertThat(poisonError(client, spin, session).getMessage()).as("a retry is refused, not run").contains("quarantined");
            healedAndServing(system, load, epochBefore, spin);

            load.stop();
            System.out.printf("PoisonIT %s: %d acknowledged, %d wrong, %d errors, status %s%n", mode, load.acknowledged.get(),
                    load.wrong.size(), load.errors.size(), group(system));
            assertThat(load.wrong).as("results that differ from the model").isEmpty();
            assertThat(load.errors).as("client-visible errors on normal commands").isEmpty();
            for (Map.Entry<String, Long> entry : load.model.entrySet()) {
                assertThat(LedgerLoad.call(client, service, entry.getKey(), "{\"op\":\"get\",\"key\":\"" + entry.getKey() + "\"}"))
                        .as(entry.getKey()).isEqualTo("{\"value\":" + entry.getValue() + "}");
            }
            // Every poison command wrote this key before it broke: no replica that serves kept it.
            assertThat(LedgerLoad.call(client, service, "poisoned", "{\"op\":\"get\",\"key\":\"poisoned\"}"))
                    .isEqualTo("{\"value\":null}");
            // And the rebuilt replicas are in the group: the one that crashed, restarted on its node.
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
        }
    }

    /** The group is past {@code epochBefore}, fully protected, holds {@code payload} in quarantine, and serves 200 more commands. */
    private void healedAndServing(LocalSystem system, KvModelLoad load, long epochBefore, String payload) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> group(system).get("epoch").asLong() > epochBefore && quarantined(group(system), payload) != null);
        JsonNode entry = quarantined(group(system), payload);
        System.out.println("PoisonIT: quarantined " + entry);
        assertThat(entry.get("session").asString()).isNotBlank();
        assertThat(entry.get("sequence").asLong()).isPositive();
        assertThat(entry.get("reason").asString()).isNotBlank();
        assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).as("healed after %s", payload).isTrue();
        long acknowledged = load.acknowledged.get();
        await().atMost(Duration.ofSeconds(60)).until(() -> !load.running.get() || load.acknowledged.get() >= acknowledged + 200);
        assertThat(load.errors).as("client-visible errors on normal commands").isEmpty();
        assertThat(load.wrong).as("results that differ from the model").isEmpty();
    }

    private PairstepException poisonError(PairstepClient client, String command, long session) throws Exception {
        try {
            byte[] result = client.call(service, "p", command.getBytes(StandardCharsets.UTF_8), session, 1).get(60, TimeUnit.SECONDS);
            throw new AssertionError("the poison command returned " + new String(result, StandardCharsets.UTF_8));
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(PairstepException.class);
            PairstepException failure = (PairstepException) e.getCause();
            assertThat(failure.code()).as("%s", failure).isEqualTo(PairstepException.POISON);
            return failure;
        }
    }

    private HttpResponse<String> post(LocalSystem system, String command) throws Exception {
        try (HttpClient http = HttpClient.newHttpClient()) {
            HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + system.httpAddresses().get(0) + "/v1/services/" + service
                            + "/call?key=p"))
                    .timeout(Duration.ofSeconds(60))
                    .POST(HttpRequest.BodyPublishers.ofString(command))
                    .build();
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        }
    }

    private static JsonNode quarantined(JsonNode group, String payload) {
        if (!group.has("quarantined")) {
            return null;
        }
        for (JsonNode entry : group.get("quarantined")) {
            if (entry.get("payload").asString().equals(payload)) {
                return entry;
            }
        }
        return null;
    }

    private JsonNode group(LocalSystem system) {
        for (JsonNode group : system.status().get("groups")) {
            if (group.get("service").asString().equals(service) && group.get("partition").asInt() == 0) {
                return group;
            }
        }
        throw new AssertionError("no group " + service + "/0 in the status");
    }
}
