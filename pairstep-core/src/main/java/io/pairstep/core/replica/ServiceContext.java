package io.pairstep.core.replica;

import io.pairstep.api.Context;
import io.pairstep.core.GroupId;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * The deterministic context of one command, reused from command to command. Public for the
 * lockstep protocol, whose members must draw the same numbers as a pair's.
 */
public final class ServiceContext implements Context {

    private final GroupId group;
    private long index;
    private long timestampMillis;
    private SplittableRandom random;

    public ServiceContext(GroupId group) {
        this.group = group;
    }

    public void moveTo(long index, long timestampMillis) {
        this.index = index;
        this.timestampMillis = timestampMillis;
        this.random = null;
    }

    @Override
    public String service() {
        return group.service();
    }

    @Override
    public int partition() {
        return group.partition();
    }

    @Override
    public long index() {
        return index;
    }

    @Override
    public long timestampMillis() {
        return timestampMillis;
    }

    @Override
    public RandomGenerator random() {
        if (random == null) {
            // The seed depends only on the group and the position, so every replica draws the same numbers.
            long seed = group.service().hashCode() * 0x9E3779B97F4A7C15L + group.partition() * 0xBF58476D1CE4E5B9L + index;
            random = new SplittableRandom(seed);
        }
        return random;
    }
}
