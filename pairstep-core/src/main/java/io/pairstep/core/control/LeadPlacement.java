package io.pairstep.core.control;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the controller's lead should be: on a voter that hosts no primary, when there is one. When
 * the lead and a primary share a node, losing that node costs an election before the takeover can
 * even be decided; apart, a primary's node dies and the leader decides the takeover at once.
 *
 * <p>Runs on the leader. Pure: time arrives as arguments. A node incarnation must have been alive
 * for {@code settleNanos} before the lead moves to it: a node that registered a moment ago is still
 * starting, and its controller replica may not keep a lead yet.
 */
public final class LeadPlacement {

    private final long settleNanos;
    /** When each live node incarnation ({@code id#incarnation}) was first seen alive. */
    private final Map<String, Long> aliveSinceNanos = new HashMap<>();

    public LeadPlacement(long settleNanos) {
        this.settleNanos = settleNanos;
    }

    /**
     * The voter to hand the lead to, or null to keep it where it is.
     *
     * @param self the node leading now
     * @param voters the nodes that vote in the controller
     */
    public String target(ControllerState state, String self, List<String> voters, long nowNanos) {
        Map<String, Long> seen = new HashMap<>();
        for (Member member : state.members().values()) {
            if (member.alive()) {
                String key = key(member);
                seen.put(key, aliveSinceNanos.getOrDefault(key, nowNanos));
            }
        }
        aliveSinceNanos.clear();
        aliveSinceNanos.putAll(seen);
        if (primariesOn(state, self) == 0) {
            return null;
        }
        String target = null;
        for (String voter : voters) {
            Member member = state.members().get(voter);
            // A draining node hosts no primaries because it is about to stop: leading from it would
            // cost another election, and the controller moves the leader's primaries away meanwhile.
            if (voter.equals(self) || member == null || !member.alive() || primariesOn(state, voter) > 0
                    || state.draining().contains(voter) || nowNanos - aliveSinceNanos.get(key(member)) < settleNanos) {
                continue;
            }
            if (target == null || replicasOn(state, voter) < replicasOn(state, target)) {
                target = voter;
            }
        }
        return target;
    }

    private static String key(Member member) {
        return member.id() + "#" + member.incarnation();
    }

    private static int primariesOn(ControllerState state, String node) {
        int count = 0;
        for (GroupConfig group : state.groups().values()) {
            ReplicaAssignment primary = group.primary();
            count += primary != null && primary.node().equals(node) ? 1 : 0;
        }
        return count;
    }

    private static int replicasOn(ControllerState state, String node) {
        int count = 0;
        for (GroupConfig group : state.groups().values()) {
            count += group.replicaOn(node) != null ? 1 : 0;
        }
        return count;
    }
}
