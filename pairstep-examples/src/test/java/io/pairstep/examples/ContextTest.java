package io.pairstep.examples;

import static io.pairstep.examples.Commands.outcome;
import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The examples take nothing from the context: any context gives the same results and state. */
class ContextTest {

    @Test
    void testContextCarriesItsValues() {
        Context context = new TestContext("kv", 3, 17, 1_234L, new SplittableRandom(5));
        assertThat(context.service()).isEqualTo("kv");
        assertThat(context.partition()).isEqualTo(3);
        assertThat(context.index()).isEqualTo(17);
        assertThat(context.timestampMillis()).isEqualTo(1_234L);
        assertThat(context.random().nextLong()).isEqualTo(new SplittableRandom(5).nextLong());
        assertThat(TestContext.at(4).index()).isEqualTo(4);
    }

    @Test
    void resultsDoNotDependOnTheContext() {
        check("kv", List.of(
                "{\"op\":\"put\",\"key\":\"a\",\"value\":{\"x\":1}}",
                "{\"op\":\"incr\",\"key\":\"n\",\"by\":3}",
                "{\"op\":\"cas\",\"key\":\"n\",\"expect\":3,\"value\":4}",
                "{\"op\":\"incr\",\"key\":\"a\"}",
                "{\"op\":\"get\",\"key\":\"a\"}",
                "{\"op\":\"delete\",\"key\":\"a\"}",
                "{\"op\":\"nope\"}"));
        check("bank", List.of(
                "{\"op\":\"open\",\"account\":\"a\",\"balance\":10}",
                "{\"op\":\"open\",\"account\":\"b\",\"balance\":0}",
                "{\"op\":\"transfer\",\"from\":\"a\",\"to\":\"b\",\"amount\":4}",
                "{\"op\":\"transfer\",\"from\":\"b\",\"to\":\"a\",\"amount\":5}",
                "{\"op\":\"balance\",\"account\":\"b\"}",
                "{\"op\":\"total\"}"));
    }

    private static void check(String name, List<String> commands) {
        Service one = Examples.create(name);
        Service two = Examples.create(name);
        long index = 1;
        for (String command : commands) {
            Context first = new TestContext(name, 0, index, 1_000L * index, new SplittableRandom(index));
            Context second = new TestContext("other", 7, index + 1_000, 99L, new SplittableRandom(-index));
            assertThat(outcome(two, command, second)).as(command).isEqualTo(outcome(one, command, first));
            assertThat(two.snapshot()).as("after %s", command).isEqualTo(one.snapshot());
            index++;
        }
    }
}
