package io.pairstep.examples;

import io.pairstep.api.Context;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/** A plain {@link Context} for tests: every value is given, the generator is seeded. */
record TestContext(String service, int partition, long index, long timestampMillis, RandomGenerator random)
        implements Context {

    /** A context for the command at {@code index} of partition 0 of service "test". */
    static TestContext at(long index) {
        return new TestContext("test", 0, index, 1_700_000_000_000L + index, new SplittableRandom(index));
    }
}
