package io.pairstep.core.control;

import io.pairstep.core.control.ControlCommand.NodeDown;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decides when a node is gone. Runs on the controller leader only; its decisions become {@link
 * NodeDown} commands in the controller log. Pure: time arrives as arguments.
 *
 * <p>Three kinds of evidence, from strongest to weakest. A closed connection from the node to the
 * leader (the kernel closes every socket of a killed process at once) confirms death after a short
 * grace for reconnection. A group member's suspicion (its connection to the node broke, or the
 * node went silent) confirms death when the leader has not heard the node for a while either. A
 * lease that has not been renewed for {@code leaseTimeoutNanos} is death whatever else is known:
 * this is what catches a paused or partitioned node.
 *
 * <p>A suspicion is weak evidence: a node that is only slow (a collector pause, two cores shared by
 * four busy JVMs) goes silent too. Declared down, such a node drops every replica it holds and
 * rebuilds them, which loads the machine further, and under overload the nodes were declared down
 * again and again (an open-loop bench past capacity: 23 times in 30 s, until no command got
 * through). So a node that proves it was alive, with a heartbeat of the declared incarnation within
 * a lease of the declaration, makes its own suspicions count for less: each such false alarm
 * doubles the silence that confirms a suspicion of it, up to the lease, and each {@link
 * #FORGIVE_AFTER_LEASES} leases without one halve it again. Closed connections (a killed process)
 * and the lease itself are never slowed down.
 */
public final class Supervisor {

    /** Timing of failure detection. */
    public record Settings(long leaseTimeoutNanos, long reconnectGraceNanos, long suspicionConfirmNanos) {
        public Settings {
            if (leaseTimeoutNanos <= 0 || reconnectGraceNanos <= 0 || suspicionConfirmNanos <= reconnectGraceNanos) {
                throw new IllegalArgumentException("supervisor timeouts must be positive");
            }
        }
    }

    private final Settings settings;
    private final Map<String, Long> lastHeardNanos = new HashMap<>();
    /** The incarnation whose heartbeat set {@link #lastHeardNanos}. */
    private final Map<String, Long> heardIncarnations = new HashMap<>();
    private final Map<String, Long> disconnectedSinceNanos = new HashMap<>();
    private final Map<String, Long> suspectedSinceNanos = new HashMap<>();
    private final Map<String, Long> closedSinceNanos = new HashMap<>();
    private final Map<String, Long> proposedAtNanos = new HashMap<>();
    private final Map<String, Long> incarnations = new HashMap<>();
    /** Per node, the incarnation last proposed down and when: a heartbeat of it soon after is a false alarm. */
    private final Map<String, long[]> declared = new HashMap<>();
    /** Per node, how many times its suspicion confirmation has been doubled; absent is none. */
    private final Map<String, Integer> backoffs = new HashMap<>();
    /** Per node with a backoff, when it last changed. */
    private final Map<String, Long> backoffChangedNanos = new HashMap<>();

    private long falseAlarms;

    /** Leases without a false alarm after which a node's backoff is halved. */
    public static final int FORGIVE_AFTER_LEASES = 20;
    /** Doublings at most: the confirmation never exceeds the lease anyway. */
    static final int MAX_BACKOFF = 4;

    public Supervisor(Settings settings) {
        this.settings = settings;
    }

    /**
     * This controller replica just became leader. Every controller replica hears the heartbeats and
     * suspicions, so what this one heard as a follower is real evidence, and it is what makes a
     * takeover fast when the old leader's node was the one that died. Two limits: evidence older
     * than a lease is dropped, and every node gets at least half a lease from now, so a replica that
     * was itself cut off until a moment ago does not declare everyone down at once.
     */
    public void becameLeader(long nowNanos) {
        proposedAtNanos.clear();
        long floor = nowNanos - settings.leaseTimeoutNanos() / 2;
        lastHeardNanos.replaceAll((node, heard) -> Math.max(heard, floor));
        disconnectedSinceNanos.values().removeIf(since -> nowNanos - since > settings.leaseTimeoutNanos());
        suspectedSinceNanos.values().removeIf(since -> nowNanos - since > settings.leaseTimeoutNanos());
        closedSinceNanos.values().removeIf(since -> nowNanos - since > settings.leaseTimeoutNanos());
    }

    /** The node opened a new connection to this controller replica. */
    public void connected(String node, long nowNanos) {
        disconnectedSinceNanos.remove(node);
    }

    /** A heartbeat from this incarnation of the node arrived. */
    public void heartbeat(String node, long incarnation, long nowNanos) {
        long[] down = declared.get(node);
        if (down != null && down[0] == incarnation) {
            declared.remove(node);
            if (nowNanos - down[1] <= settings.leaseTimeoutNanos()) {
                // Alive moments after it was declared down: it was slow, not gone.
                falseAlarms++;
                backoffs.merge(node, 1, (a, b) -> Math.min(MAX_BACKOFF, a + b));
                backoffChangedNanos.put(node, nowNanos);
            }
        }
        lastHeardNanos.put(node, nowNanos);
        heardIncarnations.put(node, incarnation);
        disconnectedSinceNanos.remove(node);
        suspectedSinceNanos.remove(node);
        closedSinceNanos.remove(node);
    }

    /** The node's connection to this leader closed. */
    public void disconnected(String node, long nowNanos) {
        disconnectedSinceNanos.putIfAbsent(node, nowNanos);
    }

    /**
     * A member of one of the node's groups lost touch with it: its connection to the node closed,
     * or the node went silent.
     */
    public void suspected(String node, boolean connectionClosed, long nowNanos) {
        suspectedSinceNanos.putIfAbsent(node, nowNanos);
        if (connectionClosed) {
            closedSinceNanos.putIfAbsent(node, nowNanos);
        }
    }

    /** Returns the nodes to declare down now. Each is proposed again only after a lease timeout. */
    public List<ControlCommand> tick(long nowNanos, ControllerState state) {
        List<ControlCommand> downs = new ArrayList<>();
        for (Member member : state.members().values()) {
            String id = member.id();
            if (!member.alive()) {
                proposedAtNanos.remove(id);
                continue;
            }
            Long known = incarnations.put(id, member.incarnation());
            Long heard = heardIncarnations.get(id);
            boolean newIncarnation = known != null ? known != member.incarnation()
                    // First sight of this node on this leader: what it heard as a follower counts only
                    // if it came from this same incarnation.
                    : heard != null && heard != member.incarnation();
            if (newIncarnation) {
                // A new incarnation gets a full lease of its own: what was known of the old one says nothing.
                lastHeardNanos.put(id, nowNanos);
                disconnectedSinceNanos.remove(id);
                suspectedSinceNanos.remove(id);
                closedSinceNanos.remove(id);
                proposedAtNanos.remove(id);
            }
            long silentNanos = nowNanos - lastHeardNanos.computeIfAbsent(id, k -> nowNanos);
            String reason = null;
            Long disconnected = disconnectedSinceNanos.get(id);
            Long suspected = suspectedSinceNanos.get(id);
            Long closed = closedSinceNanos.get(id);
            if (silentNanos > settings.leaseTimeoutNanos()) {
                reason = "no heartbeat for " + silentNanos / 1_000_000 + " ms";
            } else if (disconnected != null && nowNanos - disconnected >= settings.reconnectGraceNanos()) {
                reason = "connection closed";
            } else if (closed != null && nowNanos - closed >= suspicionConfirmNanos(id, nowNanos)) {
                // A peer's connection to it closed and it has not renewed its lease since: a live
                // node heartbeats well within the confirmation time.
                reason = "connection from a group member closed, and no heartbeat since" + backoffNote(id);
            } else if (suspected != null && silentNanos >= suspicionConfirmNanos(id, nowNanos)) {
                reason = "suspected by a group member and silent for " + silentNanos / 1_000_000 + " ms" + backoffNote(id);
            }
            if (reason == null) {
                continue;
            }
            Long proposed = proposedAtNanos.get(id);
            if (proposed != null && nowNanos - proposed < settings.leaseTimeoutNanos()) {
                continue;
            }
            proposedAtNanos.put(id, nowNanos);
            declared.put(id, new long[] {member.incarnation(), nowNanos});
            downs.add(new NodeDown(id, member.incarnation(), reason));
        }
        return downs;
    }

    /** Heartbeats so far that came within a lease after their node was declared down. */
    public long falseAlarms() {
        return falseAlarms;
    }

    /**
     * The silence that confirms a suspicion of {@code node} now: the configured one, doubled per
     * false alarm still held against it, at most a lease. Forgives one doubling per {@link
     * #FORGIVE_AFTER_LEASES} leases without a false alarm.
     */
    long suspicionConfirmNanos(String node, long nowNanos) {
        Integer backoff = backoffs.get(node);
        if (backoff == null) {
            return settings.suspicionConfirmNanos();
        }
        long forgiveNanos = FORGIVE_AFTER_LEASES * settings.leaseTimeoutNanos();
        long since = backoffChangedNanos.get(node);
        while (backoff > 0 && nowNanos - since >= forgiveNanos) {
            backoff--;
            since += forgiveNanos;
        }
        if (backoff == 0) {
            backoffs.remove(node);
            backoffChangedNanos.remove(node);
            return settings.suspicionConfirmNanos();
        }
        backoffs.put(node, backoff);
        backoffChangedNanos.put(node, since);
        return confirmation(backoff);
    }

    /** How many false alarms the node's suspicion confirmation is doubled for, if any; for the reason of a NodeDown. */
    private String backoffNote(String node) {
        Integer backoff = backoffs.get(node);
        return backoff == null ? "" : " (after " + backoff + (backoff == 1 ? " false alarm" : " false alarms")
                + ", a suspicion of it needs " + confirmation(backoff) / 1_000_000 + " ms of silence)";
    }

    /** The configured confirmation doubled {@code backoff} times, at most a lease. */
    private long confirmation(int backoff) {
        return Math.min(settings.leaseTimeoutNanos(), settings.suspicionConfirmNanos() << backoff);
    }
}
