package io.pairstep.runtime.events;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControllerState;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventLogTest {

    /** A clock the test moves by hand. */
    private static final class ManualClock extends Clock {
        Instant now = Instant.parse("2026-11-21T10:00:00Z");

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private final ManualClock clock = new ManualClock();
    private final ControllerState state = new ControllerState();

    private ControllerState next(ControlCommand command) {
        state.apply(command);
        return state.copy();
    }

    @Test
    void theFirstStateIsTheBaselineAndLaterOnesAreNumberedTimedAndVersioned() {
        EventLog log = new EventLog(100, clock);
        log.onState(next(new ControlCommand.Bootstrap("s")));
        assertThat(log.all()).isEmpty();
        log.onState(next(new ControlCommand.RegisterNode("n1", "h1", "r1", 1, 11)));
        assertThat(log.all()).extracting(Event::node).containsExactly("n1");

        clock.now = clock.now.plusSeconds(5);
        ControllerState two = next(new ControlCommand.RegisterNode("n2", "h2", "r2", 1, 12));
        log.onState(two);
        clock.now = clock.now.plusSeconds(5);
        log.onState(next(new ControlCommand.RegisterNode("n3", "h3", "r3", 1, 13)));

        List<Event> events = log.all();
        assertThat(events).extracting(Event::seq).containsExactly(1L, 2L, 3L);
        assertThat(events).extracting(Event::node).containsExactly("n1", "n2", "n3");
        assertThat(events.get(1).version()).isEqualTo(two.version());
        assertThat(events.get(1).time()).isEqualTo(Instant.parse("2026-11-21T10:00:05Z"));
        assertThat(log.afterSeq(2)).extracting(Event::node).containsExactly("n3");
        assertThat(log.since(Instant.parse("2026-11-21T10:00:06Z"))).extracting(Event::node).containsExactly("n3");
        assertThat(log.afterVersion(two.version())).extracting(Event::node).containsExactly("n3");

        // A state delivered again changes nothing.
        log.onState(state.copy());
        assertThat(log.all()).hasSize(3);
    }

    @Test
    void theRingKeepsTheNewestEventsAndSubscribersHearEachOnce() throws Exception {
        EventLog log = new EventLog(3, clock);
        List<Event> heard = new ArrayList<>();
        AutoCloseable subscription = log.subscribe(heard::add);
        log.onState(next(new ControlCommand.Bootstrap("s")));
        for (int i = 1; i <= 5; i++) {
            log.onState(next(new ControlCommand.RegisterNode("n" + i, "h", "r", 1, i)));
        }
        assertThat(log.all()).extracting(Event::seq).containsExactly(3L, 4L, 5L);
        assertThat(heard).extracting(Event::seq).containsExactly(1L, 2L, 3L, 4L, 5L);
        subscription.close();
        log.onState(next(new ControlCommand.RegisterNode("n6", "h", "r", 1, 6)));
        assertThat(heard).hasSize(5);
        assertThat(log.nextSeq()).isEqualTo(7);
    }

    @Test
    void eventsAreJsonWithTheirFields() {
        EventLog log = new EventLog(10, clock);
        log.onState(next(new ControlCommand.Bootstrap("s")));
        log.onState(next(new ControlCommand.RegisterNode("n1", "127.0.0.1:1", "127.0.0.1:2", 3, 99)));
        String json = EventJson.json(log.all());
        assertThat(json).startsWith("[{").contains("\"seq\":1", "\"type\":\"node-up\"", "\"pid\":99", "\"time\":\"2026-11-21T10:00:00Z\"");
    }
}
