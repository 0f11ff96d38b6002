package io.pairstep.core.control;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Ends the bake of upgrades (see {@link ServiceUpgrade.State#BAKING}): runs on the controller leader
 * beside the {@link Supervisor}, and once an upgrade has been baking for its bake time as this
 * leader saw it, proposes {@link ControlCommand.UpgradeBaked}. Pure: time arrives as arguments.
 *
 * <p>The controller's state has no clock, so the time is the leader's. A new leader starts counting
 * again: a bake may last longer than asked, never shorter.
 */
public final class BakeTimer {

    /** How long to wait before proposing again, in case a proposal was lost. */
    private static final long REPROPOSE_NANOS = 1_000_000_000L;

    private final Map<String, Long> bakingSinceNanos = new HashMap<>();
    private final Map<String, Long> proposedAtNanos = new HashMap<>();

    /** This controller replica just became leader: what it counted before may be from an older bake. */
    public void becameLeader() {
        bakingSinceNanos.clear();
        proposedAtNanos.clear();
    }

    /** The commands to propose now. */
    public List<ControlCommand> tick(long nowNanos, ControllerState state) {
        List<ControlCommand> done = new ArrayList<>();
        Map<String, Long> still = new HashMap<>();
        for (ServiceUpgrade upgrade : state.upgrades().values()) {
            if (upgrade.state() != ServiceUpgrade.State.BAKING) {
                continue;
            }
            String key = upgrade.service() + "@" + upgrade.to().version();
            long since = bakingSinceNanos.getOrDefault(key, nowNanos);
            still.put(key, since);
            Long proposed = proposedAtNanos.get(key);
            if (nowNanos - since >= upgrade.bakeMillis() * 1_000_000L && (proposed == null || nowNanos - proposed >= REPROPOSE_NANOS)) {
                proposedAtNanos.put(key, nowNanos);
                done.add(new ControlCommand.UpgradeBaked(upgrade.service(), upgrade.to().version()));
            }
        }
        bakingSinceNanos.clear();
        bakingSinceNanos.putAll(still);
        proposedAtNanos.keySet().retainAll(still.keySet());
        return done;
    }
}
