package io.pairstep.client;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.core.replica.Reply;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.Partitioner;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class PairstepClientTest {

    private static final String KV = "kv";

    private FakeNode n1;
    private FakeNode n2;
    private List<FakeNode> nodes;
    private PairstepClient client;

    @BeforeEach
    void startNodes() throws InterruptedException {
        n1 = new FakeNode("n1");
        n2 = new FakeNode("n2");
        nodes = List.of(n1, n2);
        // One partition, primary on n1, until a test moves it.
        StatusJson.serve(nodes, StatusJson.of(nodes, KV, 1, 1, p -> "n1"));
    }

    @AfterEach
    void stop() {
        if (client != null) {
            client.close();
        }
        n1.close();
        n2.close();
    }

    private PairstepClient connect(Duration callTimeout, Duration attemptTimeout) {
        client = PairstepClient.connect(ClientOptions.of(n1.address(), n2.address())
                .withCallTimeout(callTimeout)
                .withAttemptTimeout(attemptTimeout));
        return client;
    }

    private PairstepClient connect() {
        return connect(Duration.ofSeconds(8), Duration.ofSeconds(3));
    }

    private static byte[] bytes(String text) {
        return text.getBytes(UTF_8);
    }

    private static PairstepException failure(CompletableFuture<byte[]> call) {
        Throwable thrown = call.handle((ok, error) -> error).join();
        assertThat(thrown).isInstanceOf(PairstepException.class);
        return (PairstepException) thrown;
    }

    @Test
    void routesEachKeyToThePrimaryOfItsPartition() throws Exception {
        StatusJson.serve(nodes, StatusJson.of(nodes, KV, 4, 1, p -> p % 2 == 0 ? "n1" : "n2"));
        n1.answeringOk();
        n2.answeringOk();
        connect();

        Map<Integer, String> keyOfPartition = new TreeMap<>();
        for (int i = 0; keyOfPartition.size() < 4; i++) {
            keyOfPartition.putIfAbsent(Partitioner.partition("key-" + i, 4), "key-" + i);
        }
        for (Map.Entry<Integer, String> entry : keyOfPartition.entrySet()) {
            int partition = entry.getKey();
            FakeNode primary = partition % 2 == 0 ? n1 : n2;
            byte[] answer = client.callSync(KV, entry.getValue(), bytes("get " + entry.getValue()));

            assertThat(new String(answer, UTF_8)).isEqualTo(primary.id + ":get " + entry.getValue());
            Frame.ClientRequest request = primary.nextRequest("get " + entry.getValue()).request();
            assertThat(request.service()).isEqualTo(KV);
            assertThat(request.partition()).isEqualTo(partition);
            assertThat(request.session()).isNotZero();
            assertThat(request.sequence()).isEqualTo(1);
        }
        assertThat(n1.received).allSatisfy(r -> assertThat(r.request().partition() % 2).isZero());
        assertThat(n2.received).allSatisfy(r -> assertThat(r.request().partition() % 2).isOne());
        assertThat(client.topology().partitions(KV)).isEqualTo(4);
        assertThat(client.topology().primary(KV, 1)).contains("n2");
    }

    @Test
    void sequentialCallsReuseTheSessionWithTheNextSequence() throws Exception {
        n1.answeringOk();
        connect();

        client.callSync(KV, "a", bytes("1"));
        client.callSync(KV, "a", bytes("2"));
        client.callSync(KV, "b", bytes("3"));

        Frame.ClientRequest first = n1.nextRequest("1").request();
        Frame.ClientRequest second = n1.nextRequest("2").request();
        Frame.ClientRequest third = n1.nextRequest("3").request();
        assertThat(List.of(second.session(), third.session())).containsOnly(first.session());
        assertThat(List.of(first.sequence(), second.sequence(), third.sequence())).containsExactly(1L, 2L, 3L);
    }

    @Test
    void notPrimaryWithAHintRetriesAtTheHintedNodeWithTheSameSessionAndSequence() throws Exception {
        n1.responder = r -> FakeNode.reply(r, new Reply.NotPrimary(2, "n2"));
        n2.answeringOk();
        connect();

        byte[] answer = client.callSync(KV, "k", bytes("put"));

        assertThat(new String(answer, UTF_8)).isEqualTo("n2:put");
        Frame.ClientRequest refused = n1.nextRequest().request();
        Frame.ClientRequest served = n2.nextRequest().request();
        assertThat(served.session()).isEqualTo(refused.session());
        assertThat(served.sequence()).isEqualTo(refused.sequence());
        assertThat(served.requestId()).isNotEqualTo(refused.requestId());
    }

    @Test
    void notPrimaryWithoutAHintRefreshesTheTopologyAndRetriesAtTheNewPrimary() throws Exception {
        connect().topology(); // connected; the takeover happens during the call
        n1.responder = r -> {
            StatusJson.serve(nodes, StatusJson.of(nodes, KV, 1, 2, p -> "n2"));
            return FakeNode.reply(r, new Reply.NotPrimary(2, ""));
        };
        n2.answeringOk();

        byte[] answer = client.callSync(KV, "k", bytes("put"));

        assertThat(new String(answer, UTF_8)).isEqualTo("n2:put");
        Frame.ClientRequest refused = n1.nextRequest().request();
        Frame.ClientRequest served = n2.nextRequest().request();
        assertThat(served.session()).isEqualTo(refused.session());
        assertThat(served.sequence()).isEqualTo(refused.sequence());
        assertThat(client.topology().primary(KV, 0)).contains("n2");
        assertThat(client.topology().group(KV, 0).orElseThrow().epoch()).isEqualTo(2);
    }

    @Test
    void whenThePrimaryDiesMidCallTheCallSucceedsAtTheNewPrimaryWithoutWaitingForTheAttemptTimeout() throws Exception {
        Duration attemptTimeout = Duration.ofSeconds(4);
        connect(Duration.ofSeconds(8), attemptTimeout);
        n2.answeringOk(); // n1 holds the request: it dies before answering

        long start = System.nanoTime();
        CompletableFuture<byte[]> call = client.call(KV, "k", bytes("put"));
        Frame.ClientRequest lost = n1.nextRequest().request();
        StatusJson.serve(nodes, StatusJson.of(nodes, KV, 1, 2, p -> "n2")); // the takeover
        n1.close();

        byte[] answer = call.get(5, TimeUnit.SECONDS);
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(new String(answer, UTF_8)).isEqualTo("n2:put");
        Frame.ClientRequest retried = n2.nextRequest().request();
        assertThat(retried.session()).isEqualTo(lost.session());
        assertThat(retried.sequence()).isEqualTo(lost.sequence());
        assertThat(elapsedMillis).isLessThan(attemptTimeout.toMillis());
    }

    @Test
    void aSilentPrimarysTakeoverIsLearntFromAWatchOnTheBackupAndTheCallMovesThere() throws Exception {
        // No background refresh within the test: only the watch can tell the client of the takeover.
        client = PairstepClient.connect(ClientOptions.of(n1.address(), n2.address())
                .withCallTimeout(Duration.ofSeconds(8))
                .withAttemptTimeout(Duration.ofMillis(100))
                .withRefreshInterval(Duration.ofMinutes(5)));
        client.refresh().get(5, TimeUnit.SECONDS);
        n2.answeringOk(); // n1 holds the request: it is paused

        CompletableFuture<byte[]> call = client.call(KV, "k", bytes("put"));
        Frame.ClientRequest held = n1.nextRequest().request();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> n2.watchRequests.get() > 0);
        StatusJson.serve(nodes, StatusJson.of(nodes, KV, 1, 2, p -> "n2")); // the takeover, published while watched

        assertThat(new String(call.get(5, TimeUnit.SECONDS), UTF_8)).isEqualTo("n2:put");
        Frame.ClientRequest moved = n2.nextRequest().request();
        assertThat(moved.session()).isEqualTo(held.session());
        assertThat(moved.sequence()).isEqualTo(held.sequence());
        assertThat(n1.watchRequests.get()).as("the suspect is not asked").isZero();
    }

    @Test
    void callsSharingAWatchThatEndsWithoutATakeoverWatchAgainAndStillMoveWhenItComes() throws Exception {
        client = PairstepClient.connect(ClientOptions.of(n1.address(), n2.address())
                .withCallTimeout(Duration.ofSeconds(8))
                .withAttemptTimeout(Duration.ofMillis(50))
                .withRefreshInterval(Duration.ofMinutes(5)));
        client.refresh().get(5, TimeUnit.SECONDS);
        n2.answeringOk(); // n1 holds every request

        List<CompletableFuture<byte[]>> calls = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            calls.add(client.call(KV, "k", bytes("c" + i)));
        }
        // Several watches end with the table unchanged; the calls share them and keep watching.
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> n2.watchRequests.get() >= 3);
        StatusJson.serve(nodes, StatusJson.of(nodes, KV, 1, 2, p -> "n2"));

        for (int i = 0; i < 3; i++) {
            assertThat(new String(calls.get(i).get(5, TimeUnit.SECONDS), UTF_8)).isEqualTo("n2:c" + i);
        }
    }

    @Test
    void aCallQueuedBehindAnOverloadedPrimaryChecksOnItSeldomAndStillMovesOnATakeover() throws Exception {
        client = PairstepClient.connect(ClientOptions.of(n1.address(), n2.address())
                .withCallTimeout(Duration.ofSeconds(20))
                .withAttemptTimeout(Duration.ofMillis(50))
                .withRefreshInterval(Duration.ofMinutes(5)));
        client.refresh().get(5, TimeUnit.SECONDS);
        n2.answeringOk(); // n1 holds every request: it is behind, and stays the primary

        CompletableFuture<byte[]> call = client.call(KV, "k", bytes("late"));
        n1.nextRequest();
        // While a takeover could still be under way, the call watches the backup back to back (each
        // watch is held 250 ms). Once it has waited past PATIENT_AFTER (2 s), it looks seldom.
        Thread.sleep(TimeUnit.NANOSECONDS.toMillis(Call.PATIENT_AFTER_NANOS) + 1000);
        int before = n2.watchRequests.get();
        Thread.sleep(3000);
        int during = n2.watchRequests.get() - before;
        // Back to back, 3 s of held watches would be about 12; checking every quarter of the time
        // waited (at most every second) makes about 3 to 4.
        assertThat(during).as("watches in 3 s after waiting 3 s").isBetween(1, 6);

        StatusJson.serve(nodes, StatusJson.of(nodes, KV, 1, 2, p -> "n2"));
        assertThat(new String(call.get(5, TimeUnit.SECONDS), UTF_8)).isEqualTo("n2:late");
    }

    /** What a client of a plain Java object service declares: the methods it calls, with JSON-friendly types. */
    interface Accounts {
        record Movement(String account, long amount) {}

        long deposit(String account, long amount);

        Map<String, List<Movement>> history();

        void freeze(String account);

        long withdraw(String account, long amount);

        default long depositTwice(String account, long amount) {
            deposit(account, amount);
            return deposit(account, amount);
        }
    }

    @Test
    void aTypedProxySendsMethodAndArgumentsAndDecodesGenericResults() throws Exception {
        n1.responder = r -> {
            String method = r.payload().replaceAll(".*\"method\":\"([a-zA-Z]+)\".*", "$1");
            return switch (method) {
                case "deposit" -> FakeNode.reply(r, new Reply.Ok(bytes("12")));
                case "history" -> FakeNode.reply(r, new Reply.Ok(bytes("{\"a\":[{\"account\":\"a\",\"amount\":5}]}")));
                case "freeze" -> FakeNode.reply(r, new Reply.Ok(bytes("null")));
                default -> FakeNode.reply(r, new Reply.ApplicationError("withdraw threw java.lang.IllegalStateException: insufficient funds"));
            };
        };
        connect();
        Accounts accounts = client.proxy(Accounts.class, KV, "a");

        assertThat(accounts.deposit("a", 5)).isEqualTo(12);
        assertThat(n1.nextRequest().payload()).isEqualTo("{\"method\":\"deposit\",\"args\":[\"a\",5]}");
        assertThat(accounts.history()).isEqualTo(Map.of("a", List.of(new Accounts.Movement("a", 5))));
        assertThat(n1.nextRequest().payload()).isEqualTo("{\"method\":\"history\",\"args\":[]}");
        accounts.freeze("a");
        assertThat(n1.nextRequest().payload()).isEqualTo("{\"method\":\"freeze\",\"args\":[\"a\"]}");
        assertThat(accounts.depositTwice("a", 1)).as("a default method runs in the client").isEqualTo(12);
        assertThatThrownBy(() -> accounts.withdraw("a", 100)).isInstanceOfSatisfying(PairstepException.class, e -> {
            assertThat(e.code()).isEqualTo(PairstepException.APPLICATION_ERROR);
            assertThat(e.getMessage()).isEqualTo("withdraw threw java.lang.IllegalStateException: insufficient funds");
        });
        assertThat(accounts.toString()).contains("Accounts proxy of service kv");
        assertThatThrownBy(() -> client.proxy(String.class, KV, "a")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("java.lang.String is not an interface");
    }

    @Test
    void anApplicationErrorSurfacesWithTheServiceMessageAndKeepsTheSession() throws Exception {
        n1.responder = r -> FakeNode.reply(r, new Reply.ApplicationError("insufficient funds"));
        connect();

        assertThatThrownBy(() -> client.callSync(KV, "k", bytes("withdraw 100")))
                .isInstanceOfSatisfying(PairstepException.class, e -> {
                    assertThat(e.code()).isEqualTo(PairstepException.APPLICATION_ERROR);
                    assertThat(e.getMessage()).isEqualTo("insufficient funds");
                });
        n1.answeringOk();
        client.callSync(KV, "k", bytes("deposit 100"));

        Frame.ClientRequest refused = n1.nextRequest("withdraw 100").request();
        Frame.ClientRequest next = n1.nextRequest("deposit 100").request();
        assertThat(next.session()).isEqualTo(refused.session());
        assertThat(next.sequence()).isEqualTo(refused.sequence() + 1);
    }

    @Test
    void aServiceMissingFromTheTopologyIsUnknown() {
        connect();

        assertThatThrownBy(() -> client.callSync("nope", "k", bytes("x")))
                .isInstanceOfSatisfying(PairstepException.class,
                        e -> assertThat(e.code()).isEqualTo(PairstepException.UNKNOWN_SERVICE));
        assertThat(n1.received).isEmpty();
    }

    @Test
    void aServiceTheFirstRoutingTableLacksIsFoundInALaterOne() throws Exception {
        // Right after a deploy, the node asked may not have applied it yet.
        String withService = n1.topologyJson;
        for (FakeNode node : nodes) {
            node.topologyJson = "{\"nodes\":[],\"groups\":[]}";
        }
        n1.answeringOk();
        connect().refresh().join();
        AtomicInteger asked = new AtomicInteger();
        for (FakeNode node : nodes) {
            node.onTopologyRequest = () -> {
                if (asked.incrementAndGet() == 2) {
                    nodes.forEach(n -> n.topologyJson = withService);
                }
            };
        }

        assertThat(new String(client.callSync(KV, "k", bytes("x")), UTF_8)).isEqualTo("n1:x");
        assertThat(asked.get()).isEqualTo(2);
    }

    @Test
    void aServiceMissingFromSeveralFreshRoutingTablesIsUnknown() {
        connect();
        int before = n1.topologyRequests.get() + n2.topologyRequests.get();

        assertThatThrownBy(() -> client.callSync("nope", "k", bytes("x")))
                .isInstanceOfSatisfying(PairstepException.class, e -> assertThat(e.code()).isEqualTo(PairstepException.UNKNOWN_SERVICE));
        assertThat(n1.topologyRequests.get() + n2.topologyRequests.get() - before).isEqualTo(Call.UNKNOWN_SERVICE_ANSWERS);
    }

    @Test
    void aNodeRefusingAnUnknownServiceFailsTheCallAfterARefresh() {
        n1.responder = r -> new Frame.Error(r.request().requestId(), "UNKNOWN_SERVICE", "no service \"kv\" here");
        connect();

        assertThatThrownBy(() -> client.callSync(KV, "k", bytes("x")))
                .isInstanceOfSatisfying(PairstepException.class, e -> {
                    assertThat(e.code()).isEqualTo(PairstepException.UNKNOWN_SERVICE);
                    assertThat(e.getMessage()).contains("no service");
                });
    }

    @Test
    void aProtocolRefusalIsRejectedWithItsCode() {
        n1.responder = r -> FakeNode.reply(r, new Reply.Rejected(Reply.STALE_SEQUENCE, "sequence 1 is stale"));
        connect();

        CompletableFuture<byte[]> call = client.call(KV, "k", bytes("x"), 77, 1);

        PairstepException error = failure(call);
        assertThat(error.code()).isEqualTo(PairstepException.REJECTED);
        assertThat(error.getMessage()).isEqualTo("STALE_SEQUENCE: sequence 1 is stale");
    }

    @Test
    void anIdleSessionTheServersForgotIsReplacedByANewOne() throws Exception {
        n1.answeringOk();
        connect();
        client.callSync(KV, "k", bytes("1"));
        Frame.ClientRequest first = n1.nextRequest("1").request();

        AtomicBoolean forgot = new AtomicBoolean();
        n1.responder = r -> forgot.compareAndSet(false, true)
                ? FakeNode.reply(r, new Reply.Rejected(Reply.SESSION_EXPIRED, "unknown session"))
                : FakeNode.reply(r, new Reply.Ok(bytes("ok")));
        assertThat(client.callSync(KV, "k", bytes("2"))).asString(UTF_8).isEqualTo("ok");

        Frame.ClientRequest expired = n1.nextRequest("2").request();
        Frame.ClientRequest renewed = n1.nextRequest("2").request();
        assertThat(expired.session()).isEqualTo(first.session());
        assertThat(expired.sequence()).isEqualTo(2);
        assertThat(renewed.session()).isNotEqualTo(first.session());
        assertThat(renewed.sequence()).isEqualTo(1);
    }

    @Test
    void anExplicitSessionIsSentAsGiven() throws Exception {
        n1.answeringOk();
        connect();

        client.call(KV, "k", bytes("x"), 0x1234_5678_9abcL, 1).get(5, TimeUnit.SECONDS);

        Frame.ClientRequest request = n1.nextRequest().request();
        assertThat(request.session()).isEqualTo(0x1234_5678_9abcL);
        assertThat(request.sequence()).isEqualTo(1);
    }

    @Test
    void aSilentPrimaryIsWaitedForNotFloodedAndTheCallEndsUnavailableAtItsDeadline() throws Exception {
        connect(Duration.ofMillis(600), Duration.ofMillis(150)); // n1 never answers

        long start = System.nanoTime();
        PairstepException error = failure(client.call(KV, "k", bytes("x")));
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(error.code()).isEqualTo(PairstepException.UNAVAILABLE);
        assertThat(error.getMessage()).contains("no answer from n1");
        assertThat(elapsedMillis).isBetween(500L, 2_000L);
        List<FakeNode.Received> attempts = new ArrayList<>();
        n1.received.drainTo(attempts);
        // The primary never changed, so the command was not sent again: a slow primary gets no extra load.
        assertThat(attempts).hasSize(1);
        Frame.ClientRequest firstAttempt = attempts.get(0).request();

        n1.answeringOk();
        client.callSync(KV, "k", bytes("next"));
        FakeNode.Received next = n1.nextRequest("next");
        assertThat(next.request().session()).isNotEqualTo(firstAttempt.session()); // the session was dropped
        assertThat(next.request().sequence()).isEqualTo(1);
    }

    @Test
    void concurrentCallsToOnePartitionUseDistinctSessions() throws Exception {
        connect(); // n1 holds every request until the test answers
        int calls = 8;
        List<CompletableFuture<byte[]>> futures = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            futures.add(client.call(KV, "same-key", bytes("c" + i)));
        }
        Map<String, FakeNode.Received> heldByPayload = new TreeMap<>(); // a slow machine may add retries
        while (heldByPayload.size() < calls) {
            FakeNode.Received r = n1.nextRequest();
            heldByPayload.putIfAbsent(r.payload(), r);
        }
        List<FakeNode.Received> held = new ArrayList<>(heldByPayload.values());

        Set<Long> sessions = new HashSet<>();
        for (FakeNode.Received r : held) {
            sessions.add(r.request().session());
            assertThat(r.request().sequence()).isEqualTo(1);
            r.reply(new Reply.Ok(bytes("done")));
        }
        assertThat(sessions).hasSize(calls);
        for (CompletableFuture<byte[]> future : futures) {
            assertThat(future.get(5, TimeUnit.SECONDS)).asString(UTF_8).isEqualTo("done");
        }

        n1.answeringOk();
        client.callSync(KV, "same-key", bytes("after"));
        Frame.ClientRequest after = n1.nextRequest("after").request();
        assertThat(sessions).contains(after.session());
        assertThat(after.sequence()).isEqualTo(2);
    }

    @Test
    void aCancelledCallStopsRetrying() throws Exception {
        connect(Duration.ofSeconds(8), Duration.ofMillis(100)); // n1 never answers
        CompletableFuture<byte[]> call = client.call(KV, "k", bytes("x"));
        n1.nextRequest();

        call.cancel(false);
        Thread.sleep(300);
        n1.received.clear();
        Thread.sleep(300);

        assertThat(n1.received).isEmpty();
    }

    @Test
    void closingTheClientEndsCallsInProgress() throws Exception {
        connect(); // n1 holds the request
        CompletableFuture<byte[]> call = client.call(KV, "k", bytes("x"));
        n1.nextRequest();

        client.close();

        assertThat(failure(call).code()).isEqualTo(PairstepException.CLOSED);
        assertThat(failure(client.call(KV, "k", bytes("y"))).code()).isEqualTo(PairstepException.CLOSED);
    }
}
