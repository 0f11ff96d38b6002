package io.pairstep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pairstep.cli.LocalSystem;
import io.pairstep.client.PairstepClient;
import io.pairstep.client.PairstepException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Plain Java objects as services, with real node processes: classes with no dependency on
 * Pairstep, uploaded with {@code deploy --jar/--class}, run in every mode and are
 * called through a typed proxy; one that answers with the wall clock is caught in DMR, where the
 * group releases no result and its report names the service and the method.
 */
class PojoServiceIT {

    /** This test's ports, away from the other suites that may run on the same machine. */
    private static final int BASE_PORT = 26000;
    private static final List<String> MODES = List.of("pair", "tmr", "dmr", "none");

    /** What the test's client knows of {@code it.artifacts.Ledger}. */
    interface Ledger {
        long deposit(String account, long amount);

        long withdraw(String account, long amount);

        long balance(String account);

        long balance();

        Map<String, Long> balances();

        List<String> journal();
    }

    /** What the test's client knows of {@code it.artifacts.Clock}. */
    interface Clock {
        long now();
    }

    @TempDir
    Path dir;

    @Test
    void plainObjectsRunInPairAndTmrAndAWallClockIsCaughtInDmr() throws Exception {
        Path jars = Files.createDirectories(dir.resolve("jars"));
        Path ledgerJar = ServiceJars.build(jars, "Ledger", ServiceJars.LEDGER);
        Path clockJar = ServiceJars.build(jars, "Clock", ServiceJars.CLOCK);
        long started = System.nanoTime();
        try (LocalSystem system = LocalSystem.start(dir.resolve("cluster"), 3, BASE_PORT, "interval", false)) {
            String cluster = system.dir().toString();
            phase("system started", started);
            for (String mode : MODES) {
                System.out.println("PojoServiceIT: " + system.cli("deploy", "ledger-" + mode, "--jar", ledgerJar.toString(), "--class",
                        "it.artifacts.Ledger", "--mode", mode, "--dir", cluster).strip());
            }
            assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
            phase("ledger deployed in every mode", started);
            try (PairstepClient client = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(5)))) {
                for (String mode : MODES) {
                    Ledger ledger = client.proxy(Ledger.class, "ledger-" + mode, "bank");
                    assertThat(ledger.deposit("alice", 100)).isEqualTo(100);
                    assertThat(ledger.deposit("bob", 20)).isEqualTo(20);
                    assertThat(ledger.withdraw("alice", 30)).isEqualTo(70);
                    assertThatThrownBy(() -> ledger.withdraw("bob", 50)).as(mode)
                            .isInstanceOfSatisfying(PairstepException.class, e -> {
                                assertThat(e.code()).isEqualTo(PairstepException.APPLICATION_ERROR);
                                assertThat(e.getMessage()).isEqualTo("withdraw threw java.lang.IllegalStateException: insufficient funds in bob: 20");
                            });
                    // The refused withdrawal changed nothing, on any replica.
                    assertThat(ledger.balance("bob")).as(mode).isEqualTo(20);
                    assertThat(ledger.balance()).as(mode).isEqualTo(90);
                    assertThat(ledger.balances()).as(mode).isEqualTo(Map.of("alice", 70L, "bob", 20L));
                    assertThat(ledger.journal()).as(mode).containsExactly("+100 alice", "+20 bob", "-30 alice");
                }
                // Any language can call it too: the same JSON command through the HTTP gateway.
                assertThat(system.cli("call", "ledger-pair", "--key", "bank", "{\"method\":\"balance\",\"args\":[\"alice\"]}",
                        "--dir", cluster).strip()).isEqualTo("70");
                assertThatThrownBy(() -> system.cli("call", "ledger-pair", "--key", "bank", "{\"method\":\"steal\",\"args\":[]}",
                        "--dir", cluster)).hasMessageContaining("no method \"steal\"; the commands are balance(), balance(String)");
                for (String lockstep : List.of("tmr", "dmr")) {
                    JsonNode group = group(system, "ledger-" + lockstep);
                    assertThat(group.has("halted")).as("the members agreed on everything: %s", group).isFalse();
                }
                assertThat(system.fullyProtected()).isTrue();
                phase("ledger called in every mode", started);

                // The wall clock in DMR: the two members answer differently, no self-check says which is
                // right, and a referee executing the command again answers differently still, so the
                // group halts rather than release any answer.
                System.out.println("PojoServiceIT: " + system.cli("deploy", "clock", "--jar", clockJar.toString(), "--class",
                        "it.artifacts.Clock", "--mode", "dmr", "--dir", cluster).strip());
                assertThat(system.awaitFullyProtected(Duration.ofSeconds(60))).isTrue();
                assertThatThrownBy(() -> client.proxy(Clock.class, "clock", "c").now()).as("no result leaves without agreement")
                        .isInstanceOf(PairstepException.class);
                // A short deadline from here: a halted group answers nothing but errors.
                try (PairstepClient impatient = PairstepClient.connect(system.clientOptions().withCallTimeout(Duration.ofSeconds(2)))) {
                    Clock clock = impatient.proxy(Clock.class, "clock", "c");
                    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                            .until(() -> group(system, "clock").has("halted"));
                    String reason = group(system, "clock").get("halted").asString();
                    System.out.println("PojoServiceIT: clock halted: " + reason);
                    // The referee executes the entry again, and reads yet another time: nobody agrees.
                    assertThat(reason).contains("entry 1 (service clock, method now)", "output digest")
                            .containsAnyOf("no majority among 3 members", "the two members disagree");
                    String events = system.cli("events", "--dir", cluster);
                    assertThat(events).contains("clock/0 releases no more results", "(service clock, method now)");
                    assertThatThrownBy(clock::now).as("still nothing released").isInstanceOf(PairstepException.class);

                    // An operator trusts the orderer: the group serves again, rebuilt from it.
                    String trusted = null;
                    for (JsonNode replica : group(system, "clock").get("replicas")) {
                        if (replica.get("role").asString().equals("primary")) {
                            trusted = replica.get("node").asString();
                        }
                    }
                    System.out.println("PojoServiceIT: " + system.cli("resume", "clock", "--trust", trusted, "--dir", cluster).strip());
                    assertThat(group(system, "clock").has("halted")).as("resumed").isFalse();
                    assertThat(system.cli("events", "--dir", cluster)).contains("clock/0 resumed from its member on " + trusted);
                }
                assertThatThrownBy(() -> system.cli("resume", "clock", "--trust", "n1", "--dir", cluster))
                        .as("a group that is not halted").hasMessageContaining("is not halted; only a halted group can be resumed");
                phase("clock caught and resumed", started);
            }
        }
    }

    /** Where the time goes, for a machine where this test runs slowly. */
    private static void phase(String what, long startedNanos) {
        System.out.printf("PojoServiceIT: %s after %.1f s%n", what, (System.nanoTime() - startedNanos) / 1e9);
    }

    private static JsonNode group(LocalSystem system, String service) {
        for (JsonNode group : system.status().get("groups")) {
            if (group.get("service").asString().equals(service) && group.get("partition").asInt() == 0) {
                return group;
            }
        }
        throw new AssertionError("no group " + service + "/0 in the status");
    }
}
