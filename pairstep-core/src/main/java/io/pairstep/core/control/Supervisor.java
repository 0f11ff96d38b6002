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
 * rebuilds them, which loads the machine further; under overload nodes were declared down again and
 * again (an open-loop bench past capacity: one node more than 20 times in 30 s, until no command got
 * through). So the silence that confirms a suspicion follows how late the node's heartbeats have
 * been: at least the configured confirmation, and {@link #JITTER_FACTOR} times the longest gap
 * between two of its heartbeats in the last {@link #JITTER_WINDOW_LEASES} leases, at most a lease.
 * A node whose heartbeats come on time (an idle or healthy system) is confirmed as fast as ever,
 * SIGSTOP included; closed connections (a killed process) and the lease itself are never slowed
 * down. A first attempt held the suspicions of a node longer after each false alarm instead, and
 * made SIGSTOP takeovers of a node paused every few seconds climb from 265 ms to 510 ms.
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
    /** Per node, its recent heartbeat gaps, oldest first, as pairs {arrival, gap}. */
    private final Map<String, java.util.ArrayDeque<long[]>> recentGaps = new HashMap<>();
    /** Per node, set while a suspicion of it has outlasted the configured confirmation but not its allowance. */
    private final java.util.Set<String> heldByJitter = new java.util.HashSet<>();
    private long falseAlarms;
    private long suspicionsOutlasted;

    /** How many times its longest recent heartbeat gap a node may be silent before a suspicion counts. */
    public static final int JITTER_FACTOR = 2;
    /** How far back, in leases, a node's heartbeat gaps count. */
    public static final int JITTER_WINDOW_LEASES = 4;

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
                falseAlarms++; // alive moments after it was declared down: it was slow, not gone
            }
        }
        Long last = lastHeardNanos.get(node);
        if (last != null && incarnation == heardIncarnations.getOrDefault(node, -1L) && nowNanos > last) {
            java.util.ArrayDeque<long[]> gaps = recentGaps.computeIfAbsent(node, k -> new java.util.ArrayDeque<>());
            gaps.addLast(new long[] {nowNanos, nowNanos - last});
            trimGaps(gaps, nowNanos);
        }
        if (heldByJitter.remove(node) && suspectedSinceNanos.containsKey(node)) {
            suspicionsOutlasted++; // the node spoke again before its allowance ran out
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
                recentGaps.remove(id);
                heldByJitter.remove(id);
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
                reason = "connection from a group member closed, and no heartbeat since" + allowanceNote(id, nowNanos);
            } else if (suspected != null && silentNanos >= suspicionConfirmNanos(id, nowNanos)) {
                reason = "suspected by a group member and silent for " + silentNanos / 1_000_000 + " ms" + allowanceNote(id, nowNanos);
            } else if (suspected != null && silentNanos >= settings.suspicionConfirmNanos()) {
                heldByJitter.add(id);
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
            heldByJitter.remove(id);
            downs.add(new NodeDown(id, member.incarnation(), reason));
        }
        return downs;
    }

    /** Heartbeats so far that came within a lease after their node was declared down. */
    public long falseAlarms() {
        return falseAlarms;
    }

    /**
     * Suspicions that had lasted the configured confirmation, and that the node's heartbeat then
     * ended within its allowance for late heartbeats: each a declaration avoided.
     */
    public long suspicionsOutlasted() {
        return suspicionsOutlasted;
    }

    private void trimGaps(java.util.ArrayDeque<long[]> gaps, long nowNanos) {
        long window = JITTER_WINDOW_LEASES * settings.leaseTimeoutNanos();
        while (!gaps.isEmpty() && nowNanos - gaps.peekFirst()[0] > window) {
            gaps.removeFirst();
        }
    }

    /**
     * The silence that confirms a suspicion of {@code node} now: the configured one, or {@link
     * #JITTER_FACTOR} times its longest recent heartbeat gap if that is more, at most a lease.
     */
    long suspicionConfirmNanos(String node, long nowNanos) {
        java.util.ArrayDeque<long[]> gaps = recentGaps.get(node);
        if (gaps == null) {
            return settings.suspicionConfirmNanos();
        }
        trimGaps(gaps, nowNanos);
        if (gaps.isEmpty()) {
            recentGaps.remove(node);
            return settings.suspicionConfirmNanos();
        }
        long longest = 0;
        for (long[] gap : gaps) {
            longest = Math.max(longest, gap[1]);
        }
        return Math.min(settings.leaseTimeoutNanos(), Math.max(settings.suspicionConfirmNanos(), JITTER_FACTOR * longest));
    }

    /** What a NodeDown's reason says when the node's late heartbeats raised the silence its suspicion needed. */
    private String allowanceNote(String node, long nowNanos) {
        long needed = suspicionConfirmNanos(node, nowNanos);
        return needed == settings.suspicionConfirmNanos() ? ""
                : " (its heartbeats came late lately, so a suspicion of it needed " + needed / 1_000_000 + " ms of silence)";
    }
}
