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
            } else if (closed != null && nowNanos - closed >= settings.suspicionConfirmNanos()) {
                // A peer's connection to it closed and it has not renewed its lease since: a live
                // node heartbeats well within the confirmation time.
                reason = "connection from a group member closed, and no heartbeat since";
            } else if (suspected != null && silentNanos >= settings.suspicionConfirmNanos()) {
                reason = "suspected by a group member and silent for " + silentNanos / 1_000_000 + " ms";
            }
            if (reason == null) {
                continue;
            }
            Long proposed = proposedAtNanos.get(id);
            if (proposed != null && nowNanos - proposed < settings.leaseTimeoutNanos()) {
                continue;
            }
            proposedAtNanos.put(id, nowNanos);
            downs.add(new NodeDown(id, member.incarnation(), reason));
        }
        return downs;
    }
}
