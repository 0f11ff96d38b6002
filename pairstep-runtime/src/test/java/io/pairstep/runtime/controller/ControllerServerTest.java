package io.pairstep.runtime.controller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.pairstep.core.Mode;
import io.pairstep.core.control.ControlCommand.Bootstrap;
import io.pairstep.core.control.ControlCommand.Deploy;
import io.pairstep.core.control.ControlCommand.NodeDown;
import io.pairstep.core.control.ControlCommand.RegisterNode;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.GroupConfig;
import io.pairstep.core.control.ServiceSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ControllerServerTest {

    static final ServiceSpec KV = new ServiceSpec("kv", 1, Mode.PAIR, 2, "example:kv", "", "");
    static final Duration WAIT = Duration.ofSeconds(15);

    @TempDir
    Path dir;

    final List<ControllerServer> all = new ArrayList<>();

    @AfterEach
    void closeAll() {
        all.forEach(ControllerServer::close);
    }

    @Test
    void replicatesEverywhereFailsOverAndRecoversAfterRestart() throws Exception {
        Map<String, String> peers = freePeers(3);
        Map<String, ControllerServer> servers = new LinkedHashMap<>();
        Map<String, Recorder> recorders = new LinkedHashMap<>();
        Map<String, List<Boolean>> leadership = new LinkedHashMap<>();
        for (String id : peers.keySet()) {
            ControllerServer server = server(id, peers, ControllerServer.Settings.DEFAULTS);
            Recorder recorder = new Recorder();
            server.addListener(recorder);
            server.addListener(recorder.second());
            List<Boolean> changes = new CopyOnWriteArrayList<>();
            server.addLeadershipListener(changes::add);
            servers.put(id, server);
            recorders.put(id, recorder);
            leadership.put(id, changes);
        }
        for (ControllerServer server : servers.values()) {
            server.start();
        }

        ControllerServer leader = awaitLeader(servers.values());
        ControllerServer follower = servers.values().stream().filter(s -> s != leader).findFirst().orElseThrow();
        await().atMost(WAIT).until(() -> lastReported(leadership.get(leader.nodeId())));

        // Everything goes through a follower's client.
        assertChanged(follower.submit(new Bootstrap("sys-1")));
        for (String id : peers.keySet()) {
            assertChanged(follower.submit(new RegisterNode(id, "127.0.0.1:80" + id.substring(1), "127.0.0.1:90" + id.substring(1), 1, 0)));
        }
        assertChanged(follower.submit(new Deploy(KV)));

        // Refused commands come back with their reason, and change nothing.
        ControlResult again = follower.submit(new Deploy(KV)).get(10, TimeUnit.SECONDS);
        assertThat(again.accepted()).isFalse();
        assertThat(again.reason()).contains("already deployed");
        ControlResult foreign = leader.submit(new Bootstrap("sys-2")).get(10, TimeUnit.SECONDS);
        assertThat(foreign).isEqualTo(new ControlResult(false, false, "this controller belongs to system sys-1, not sys-2"));
        ControlResult unchanged = follower.submit(new Bootstrap("sys-1")).get(10, TimeUnit.SECONDS);
        assertThat(unchanged).isEqualTo(new ControlResult(true, false, ""));

        // A reply means the leader applied the command; the followers follow within a heartbeat.
        String expected = awaitSameState(servers.values(), 5);
        for (ControllerServer server : servers.values()) {
            ControllerState state = server.current();
            assertThat(state.systemId()).isEqualTo("sys-1");
            assertThat(state.version()).isEqualTo(5);
            assertThat(state.members()).containsOnlyKeys("n1", "n2", "n3");
            assertThat(state.groups()).hasSize(2);
            assertThat(state.groups().values()).allSatisfy(g -> assertThat(g.replicas()).hasSize(2));
        }
        for (Recorder recorder : recorders.values()) {
            await().atMost(WAIT).until(() -> recorder.versions.size() == 6);
            assertThat(recorder.versions).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
            assertThat(json(recorder.last)).isEqualTo(expected);
            recorder.assertOrderly();
        }

        // A listener added late hears the current state at once.
        Recorder late = new Recorder();
        follower.addListener(late);
        await().atMost(WAIT).until(() -> late.versions.equals(List.of(5L)));

        // The leader goes away; the two others elect a new one and go on. (The leader may have
        // changed since the start, if a loaded machine delayed heartbeats.)
        ControllerServer closing = awaitLeader(servers.values());
        String oldLeader = closing.nodeId();
        closing.close();
        assertThat(lastReported(leadership.get(oldLeader))).isFalse();
        leadership.values().forEach(ControllerServerTest::assertAlternates);
        List<ControllerServer> rest = servers.values().stream().filter(s -> s != closing).toList();
        ControllerServer newLeader = awaitLeader(rest);
        assertThat(newLeader.nodeId()).isNotEqualTo(oldLeader);
        await().atMost(WAIT).until(() -> lastReported(leadership.get(newLeader.nodeId())));
        ControllerServer survivor = rest.stream().filter(s -> s != newLeader).findFirst().orElseThrow();
        assertChanged(survivor.submit(new NodeDown(oldLeader, 1, "test: leader closed")));
        String afterDown = awaitSameState(rest, 6);
        for (ControllerServer server : rest) {
            ControllerState state = server.current();
            assertThat(state.members().get(oldLeader).alive()).isFalse();
            assertThat(state.version()).isEqualTo(6);
            for (GroupConfig group : state.groups().values()) {
                assertThat(group.replicaOn(oldLeader)).isNull();
                assertThat(group.primary()).isNotNull();
            }
            await().atMost(WAIT).until(() -> recorders.get(server.nodeId()).versions.contains(6L));
        }

        // Everything stops; everything starts again on the same directories and recovers.
        rest.forEach(ControllerServer::close);
        Map<String, ControllerServer> restarted = new LinkedHashMap<>();
        Map<String, Recorder> restartedRecorders = new LinkedHashMap<>();
        for (String id : peers.keySet()) {
            ControllerServer server = server(id, peers, ControllerServer.Settings.DEFAULTS);
            Recorder recorder = new Recorder();
            server.addListener(recorder);
            restarted.put(id, server);
            restartedRecorders.put(id, recorder);
        }
        for (ControllerServer server : restarted.values()) {
            server.start();
        }
        await().atMost(WAIT).until(() -> restarted.values().stream().allMatch(s -> json(s.current()).equals(afterDown)));
        for (Recorder recorder : restartedRecorders.values()) {
            await().atMost(WAIT).until(() -> recorder.last != null && json(recorder.last).equals(afterDown));
            recorder.assertOrderly();
        }
        // And the group still works.
        ControllerServer anyServer = restarted.get("n3");
        awaitLeader(restarted.values());
        assertChanged(anyServer.submit(new RegisterNode(oldLeader, "127.0.0.1:8000", "127.0.0.1:9000", 2, 0)));
        await().atMost(WAIT).until(() -> restarted.values().stream().allMatch(s -> s.current().members().get(oldLeader).alive()));
    }

    @Test
    void recoversFromSnapshotsAfterRestart() throws Exception {
        Map<String, String> peers = freePeers(3);
        ControllerServer.Settings settings = ControllerServer.Settings.DEFAULTS.withSnapshotThreshold(3);
        List<ControllerServer> servers = new ArrayList<>();
        for (String id : peers.keySet()) {
            servers.add(server(id, peers, settings));
        }
        for (ControllerServer server : servers) {
            server.start();
        }
        awaitLeader(servers);
        ControllerServer client = servers.get(0);
        assertChanged(client.submit(new Bootstrap("sys-snap")));
        for (int incarnation = 1; incarnation <= 3; incarnation++) {
            for (String id : peers.keySet()) {
                assertChanged(client.submit(new RegisterNode(id, "h:" + incarnation, "r:" + incarnation, incarnation, 0)));
            }
        }
        assertChanged(client.submit(new Deploy(KV)));
        String expected = awaitSameState(servers, 11);
        for (String id : peers.keySet()) {
            await().atMost(WAIT).until(() -> !snapshotFiles(id).isEmpty());
        }
        servers.forEach(ControllerServer::close);

        // Every replica wrote snapshots of the whole state; the newest ones are readable.
        for (String id : peers.keySet()) {
            List<Path> snapshots = snapshotFiles(id);
            assertThat(snapshots.size()).isBetween(1, 2);
            ControllerState fromSnapshot = ControlJson.decodeState(Files.readAllBytes(snapshots.getLast()));
            assertThat(fromSnapshot.systemId()).isEqualTo("sys-snap");
            assertThat(fromSnapshot.version()).isGreaterThanOrEqualTo(3);
            assertThat(Files.exists(snapshots.getLast().resolveSibling(snapshots.getLast().getFileName() + ".md5"))).isTrue();
        }

        List<ControllerServer> restarted = new ArrayList<>();
        for (String id : peers.keySet()) {
            restarted.add(server(id, peers, settings));
        }
        for (ControllerServer server : restarted) {
            server.start();
        }
        await().atMost(WAIT).until(() -> restarted.stream().allMatch(s -> json(s.current()).equals(expected)));
        awaitLeader(restarted);
        ControlResult result = restarted.get(2).submit(new Deploy(KV)).get(10, TimeUnit.SECONDS);
        assertThat(result.accepted()).isFalse();
        assertThat(result.reason()).contains("already deployed");
    }

    @Test
    void submitFailsClearlyWithoutAMajority() throws Exception {
        Map<String, String> peers = freePeers(3);
        ControllerServer alone = server("n1", peers, ControllerServer.Settings.DEFAULTS.withSubmitTimeout(Duration.ofSeconds(1)));
        alone.start();
        long start = System.nanoTime();
        assertThatThrownBy(() -> alone.submit(new Bootstrap("sys-1")).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(ControllerUnavailableException.class)
                .hasMessageContaining("could not commit Bootstrap to the controller group")
                .hasMessageContaining("no leader with a majority was reachable");
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        assertThat(alone.isLeader()).isFalse();
        assertThat(alone.leaderId()).isNull();
        assertThat(alone.current().systemId()).isNull();

        alone.close();
        assertThatThrownBy(() -> alone.submit(new Bootstrap("sys-1")).get(10, TimeUnit.SECONDS))
                .cause()
                .isInstanceOf(ControllerUnavailableException.class)
                .hasMessageContaining("closed");
    }

    /** Voters n1, n2, n3 ({@code seeds}) and a listener n4, started, with the system bootstrapped. */
    private Map<String, ControllerServer> threeVotersAndAListener(Map<String, String> seeds, String n4Address) throws Exception {
        Map<String, ControllerServer> servers = new LinkedHashMap<>();
        for (String id : seeds.keySet()) {
            servers.put(id, server(id, seeds, ControllerServer.Settings.DEFAULTS));
        }
        servers.put("n4", listener("n4", n4Address, seeds));
        for (ControllerServer server : servers.values()) {
            server.start();
        }
        awaitLeader(servers.values().stream().limit(3).toList());
        assertChanged(servers.get("n2").submit(new Bootstrap("sys-1")));
        return servers;
    }

    @Test
    void movesTheVoteOfADeadVoterToAListenerOneChangeAtATime() throws Exception {
        Map<String, String> seeds = new LinkedHashMap<>(freePeers(4));
        String n4Address = seeds.remove("n4");
        Map<String, ControllerServer> servers = threeVotersAndAListener(seeds, n4Address);
        await().atMost(WAIT).until(() -> servers.get("n2").listenerIds().equals(List.of("n4")));
        assertThat(servers.get("n4").isVoter()).isFalse();
        assertThat(servers.get("n2").voterIds()).containsExactly("n1", "n2", "n3");

        // A node that is neither voter nor listener cannot take a vote; nothing changes.
        assertThatThrownBy(() -> servers.get("n2").replaceVoter("n1", "n9", WAIT).get(20, TimeUnit.SECONDS))
                .cause().isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n9 neither votes in nor listens");
        assertThat(servers.get("n2").voterIds()).containsExactly("n1", "n2", "n3");

        // n1 dies for good; its vote moves to n4 while the other two keep the majority.
        servers.get("n1").close();
        servers.get("n3").replaceVoter("n1", "n4", WAIT).get(20, TimeUnit.SECONDS);
        for (String id : List.of("n2", "n3", "n4")) {
            await().atMost(WAIT).until(() -> servers.get(id).voterIds().equals(List.of("n2", "n3", "n4")));
        }
        await().atMost(WAIT).until(() -> servers.get("n4").isVoter());
        assertThat(Files.readString(dir.resolve("n4").resolve("controller-voters"))).contains("n4=" + n4Address).doesNotContain("n1=");
        // Repeating it changes nothing.
        servers.get("n2").replaceVoter("n1", "n4", WAIT).get(20, TimeUnit.SECONDS);
        assertThat(servers.get("n2").voterIds()).containsExactly("n2", "n3", "n4");
        // A second removal that picked the same node would leave two voters: refused.
        assertThatThrownBy(() -> servers.get("n2").replaceVoter("n3", "n4", WAIT).get(20, TimeUnit.SECONDS))
                .cause().isInstanceOf(IllegalArgumentException.class).hasMessageContaining("n4 already votes");
        assertThat(servers.get("n2").voterIds()).containsExactly("n2", "n3", "n4");

        // The new configuration has its own majority: n4 and one of n2, n3.
        servers.get("n2").close();
        assertChanged(servers.get("n4").submit(new RegisterNode("n5", "127.0.0.1:8005", "127.0.0.1:9005", 1, 0)));

        // Restarted on its data directory with the original seeds, n4 still votes.
        servers.get("n4").close();
        ControllerServer n4 = listener("n4", n4Address, seeds);
        ControllerServer n2 = server("n2", seeds, ControllerServer.Settings.DEFAULTS);
        n4.start();
        n2.start();
        assertThat(n4.isVoter()).isTrue();
        assertThat(n4.voterIds()).containsExactly("n2", "n3", "n4");
        await().atMost(WAIT).until(() -> n4.current().members().containsKey("n5"));
        assertChanged(n2.submit(new RegisterNode("n6", "127.0.0.1:8006", "127.0.0.1:9006", 1, 0)));

        // The removed voter, started again on its old data directory, is refused.
        ControllerServer n1 = server("n1", seeds, ControllerServer.Settings.DEFAULTS);
        assertThatThrownBy(n1::start)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("node n1 no longer votes in the controller")
                .hasMessageContaining("n2, n3, n4")
                .hasMessageContaining("empty data directory");

        // On an empty data directory, with the same seeds (itself among them), it joins as a listener.
        Files.move(dir.resolve("n1"), dir.resolve("n1.removed"));
        ControllerServer fresh = server("n1", seeds, ControllerServer.Settings.DEFAULTS);
        fresh.start();
        await().atMost(WAIT).until(() -> fresh.current().members().containsKey("n6"));
        assertThat(fresh.isVoter()).isFalse();
        assertThat(fresh.voterIds()).containsExactly("n2", "n3", "n4");
        await().atMost(WAIT).until(() -> n2.listenerIds().equals(List.of("n1")));
        assertChanged(fresh.submit(new RegisterNode("n7", "127.0.0.1:8007", "127.0.0.1:9007", 1, 0)));
    }

    @Test
    void aMoveThatStoppedAfterThePromotionIsFinishedByAskingAgainEvenOfTheLeader() throws Exception {
        Map<String, String> seeds = new LinkedHashMap<>(freePeers(4));
        String n4Address = seeds.remove("n4");
        Map<String, ControllerServer> servers = threeVotersAndAListener(seeds, n4Address);
        await().atMost(WAIT).until(() -> servers.get("n3").listenerIds().equals(List.of("n4")));

        // The move stops after its promotion: four voters, n1 among them, and n1 leads.
        servers.get("n3").promoteOnly("n4", WAIT);
        await().atMost(WAIT).until(() -> servers.get("n3").voterIds().equals(List.of("n1", "n2", "n3", "n4")));
        await().atMost(WAIT).ignoreExceptions()
                .until(() -> servers.get("n1").transferLeadership("n1", Duration.ofSeconds(3)).get(5, TimeUnit.SECONDS));
        await().atMost(WAIT).until(() -> servers.get("n1").isLeader());

        // Asked again (with any other voter, as the API does then), it only takes n1 out; the lead moves first.
        servers.get("n3").replaceVoter("n1", "n2", WAIT).get(20, TimeUnit.SECONDS);
        for (String id : List.of("n2", "n3", "n4")) {
            await().atMost(WAIT).until(() -> servers.get(id).voterIds().equals(List.of("n2", "n3", "n4")));
        }
        assertThat(servers.get("n1").isLeader()).isFalse();
        assertChanged(servers.get("n4").submit(new RegisterNode("n5", "127.0.0.1:8005", "127.0.0.1:9005", 1, 0)));
    }

    @Test
    void rejectsBadConfiguration() {
        Map<String, String> peers = Map.of("n1", "127.0.0.1:1", "n2", "127.0.0.1:2");
        assertThatThrownBy(() -> new ControllerServer("n9", peers, dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("n9 is not one of the controller peers");
        assertThatThrownBy(() -> new ControllerServer("n1", Map.of("n1", "nohost"), dir))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("host:port");
        assertThatThrownBy(() -> new ControllerServer("n1", peers, dir).submit(new Bootstrap("s")).join())
                .hasMessageContaining("not started");
    }

    // ---- helpers ----

    private ControllerServer server(String id, Map<String, String> peers, ControllerServer.Settings settings) {
        ControllerServer server = new ControllerServer(id, peers, dir.resolve(id).resolve("controller"), settings);
        all.add(server);
        return server;
    }

    private ControllerServer listener(String id, String address, Map<String, String> voters) {
        ControllerServer server = new ControllerServer(id, address, voters, dir.resolve(id).resolve("controller"),
                ControllerServer.Settings.DEFAULTS);
        all.add(server);
        return server;
    }

    private List<Path> snapshotFiles(String id) throws IOException {
        Path root = dir.resolve(id).resolve("controller");
        if (!Files.exists(root)) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+"))
                    .sorted((a, b) -> Long.compare(snapshotIndex(a), snapshotIndex(b)))
                    .toList();
        }
    }

    private static long snapshotIndex(Path snapshot) {
        String name = snapshot.getFileName().toString();
        return Long.parseLong(name.substring(name.indexOf('_') + 1));
    }

    private static boolean lastReported(List<Boolean> changes) {
        return !changes.isEmpty() && changes.getLast();
    }

    /** Leadership is reported only when it changes: true, false, true... */
    private static void assertAlternates(List<Boolean> changes) {
        for (int i = 0; i < changes.size(); i++) {
            assertThat(changes.get(i)).isEqualTo(i % 2 == 0);
        }
    }

    /** Waits until every server shows the same state at {@code version}, and returns it as JSON. */
    private static String awaitSameState(Collection<ControllerServer> servers, long version) {
        AtomicReference<String> agreed = new AtomicReference<>();
        await().atMost(WAIT).until(() -> {
            Set<String> states = new HashSet<>();
            for (ControllerServer server : servers) {
                ControllerState state = server.current();
                if (state.version() != version) {
                    return false;
                }
                states.add(json(state));
            }
            agreed.set(states.iterator().next());
            return states.size() == 1;
        });
        return agreed.get();
    }

    private static ControllerServer awaitLeader(Iterable<ControllerServer> servers) {
        List<ControllerServer> leaders = new ArrayList<>();
        await().atMost(WAIT).pollInterval(Duration.ofMillis(20)).until(() -> {
            leaders.clear();
            servers.forEach(s -> {
                if (s.isLeader()) {
                    leaders.add(s);
                }
            });
            if (leaders.size() != 1) {
                return false;
            }
            String id = leaders.getFirst().nodeId();
            for (ControllerServer server : servers) {
                if (!id.equals(server.leaderId())) {
                    return false;
                }
            }
            return true;
        });
        return leaders.getFirst();
    }

    private static void assertChanged(CompletableFuture<ControlResult> future) throws Exception {
        assertThat(future.get(10, TimeUnit.SECONDS)).isEqualTo(new ControlResult(true, true, ""));
    }

    private static String json(ControllerState state) {
        return new String(ControlJson.encodeState(state), StandardCharsets.UTF_8);
    }

    private static Map<String, String> freePeers(int count) throws IOException {
        Map<String, String> peers = new LinkedHashMap<>();
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 1; i <= count; i++) {
                ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
                sockets.add(socket);
                peers.put("n" + i, "127.0.0.1:" + socket.getLocalPort());
            }
        } finally {
            for (ServerSocket socket : sockets) {
                socket.close();
            }
        }
        return peers;
    }

    /** Records what a state listener hears, and whether calls ever overlapped or changed threads. */
    static final class Recorder implements Consumer<ControllerState> {
        final List<Long> versions = new CopyOnWriteArrayList<>();
        final Set<String> threads = ConcurrentHashMap.newKeySet();
        final AtomicInteger inside = new AtomicInteger();
        volatile boolean overlapped;
        volatile ControllerState last;

        @Override
        public void accept(ControllerState state) {
            enter();
            try {
                versions.add(state.version());
                last = state;
            } finally {
                inside.decrementAndGet();
            }
        }

        /** A second listener sharing the overlap check, to see that two listeners never run at once. */
        Consumer<ControllerState> second() {
            return state -> {
                enter();
                inside.decrementAndGet();
            };
        }

        private void enter() {
            if (inside.incrementAndGet() > 1) {
                overlapped = true;
            }
            threads.add(Thread.currentThread().getName());
            try {
                Thread.sleep(2);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void assertOrderly() {
            assertThat(overlapped).isFalse();
            assertThat(threads).hasSize(1);
            assertThat(threads.iterator().next()).startsWith("pairstep-controller-events-");
            for (int i = 1; i < versions.size(); i++) {
                assertThat(versions.get(i)).isGreaterThanOrEqualTo(versions.get(i - 1));
            }
        }
    }
}
