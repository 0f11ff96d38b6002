package io.pairstep.avail.threshold;

/**
 * When a monitored value is alarming. The alert fires when the value stays at or beyond {@code
 * fireLevel} for {@code holdMillis}, and clears when it stays strictly back past {@code clearLevel}
 * for {@code holdMillis}. The gap between the two levels (hysteresis) and the hold time together
 * keep an alert from flapping when the value hovers around a level.
 *
 * @param direction which side of the levels is bad
 * @param fireLevel the level the value must reach, on the bad side, to fire
 * @param clearLevel the level the value must pass, back on the good side, to clear; for {@link
 *     Direction#ABOVE} not above {@code fireLevel}, for {@link Direction#BELOW} not below it
 * @param holdMillis how long each condition must hold without interruption; 0 acts on the first sample
 */
public record ThresholdRule(Direction direction, double fireLevel, double clearLevel, long holdMillis) {

    public ThresholdRule {
        if (direction == null) {
            throw new IllegalArgumentException("direction is required");
        }
        if (!Double.isFinite(fireLevel) || !Double.isFinite(clearLevel)) {
            throw new IllegalArgumentException("levels must be finite numbers");
        }
        if (direction == Direction.ABOVE ? clearLevel > fireLevel : clearLevel < fireLevel) {
            throw new IllegalArgumentException(clearLevelProblem(direction, fireLevel));
        }
        if (holdMillis < 0) {
            throw new IllegalArgumentException("hold time must not be negative");
        }
    }

    /** Why a clear level is on the wrong side of the fire level; shared with configuration checks. */
    public static String clearLevelProblem(Direction direction, double fireLevel) {
        return direction == Direction.ABOVE
                ? "must not be above fire (" + fireLevel + ") for direction above"
                : "must not be below fire (" + fireLevel + ") for direction below";
    }
}
