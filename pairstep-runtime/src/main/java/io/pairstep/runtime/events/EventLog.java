package io.pairstep.runtime.events;

import io.pairstep.core.control.ControllerState;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The event log of one node: the events {@link EventDiff} finds between consecutive controller
 * states, numbered and timed by this node and kept in a bounded ring in memory.
 *
 * <p>Every node applies the same controller states in the same order, so every node's log holds the
 * same events; what differs between nodes is only {@link Event#seq()} and {@link Event#time()}. The
 * first state a node hears (the one it recovered at start) is the baseline and yields no events, so
 * a node's log begins when the node started; the ring forgets the oldest events beyond its capacity.
 *
 * <p>{@link #onState} is meant for the controller's listener thread, which calls it in order and
 * never concurrently. Readers may call the other methods from any thread.
 */
public final class EventLog {

    private static final Logger LOG = LoggerFactory.getLogger(EventLog.class);

    /** How many events a node keeps by default. */
    public static final int CAPACITY_DEFAULT = 10_000;

    private final int capacity;
    private final Clock clock;
    /** Guarded by {@code this}. */
    private final ArrayDeque<Event> ring;
    /** Guarded by {@code this}. */
    private ControllerState previous;
    /** Guarded by {@code this}. */
    private long nextSeq = 1;
    private final List<Consumer<Event>> subscribers = new CopyOnWriteArrayList<>();

    public EventLog(int capacity, Clock clock) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
        }
        this.capacity = capacity;
        this.clock = clock;
        this.ring = new ArrayDeque<>(Math.min(capacity, 1024));
    }

    /** Takes the next applied controller state; records and publishes what changed since the last one. */
    public void onState(ControllerState state) {
        List<Event> added = new ArrayList<>();
        synchronized (this) {
            if (previous == null) {
                previous = state;
                return;
            }
            if (state.version() <= previous.version()) {
                // Not newer (a repeated delivery): nothing can have happened.
                return;
            }
            List<Change> changes = EventDiff.between(previous, state);
            previous = state;
            Instant now = clock.instant();
            for (int i = 0; i < changes.size(); i++) {
                Change change = changes.get(i);
                Event event = new Event(nextSeq++, state.version(), i, now, change.type(), change.node(), change.component(),
                        change.message(), change.fields());
                if (ring.size() == capacity) {
                    ring.removeFirst();
                }
                ring.addLast(event);
                added.add(event);
            }
        }
        // Outside the lock: a subscriber may read the log. The single caller thread keeps the order.
        for (Event event : added) {
            for (Consumer<Event> subscriber : subscribers) {
                try {
                    subscriber.accept(event);
                } catch (RuntimeException e) {
                    LOG.warn("event subscriber failed: {}", e.toString());
                }
            }
        }
    }

    /** The retained events with a sequence number above {@code seq}, oldest first. */
    public List<Event> afterSeq(long seq) {
        return select(e -> e.seq() > seq);
    }

    /** The retained events this node applied at or after {@code time}, oldest first. */
    public List<Event> since(Instant time) {
        return select(e -> !e.time().isBefore(time));
    }

    /** The retained events of controller versions above {@code version}: comparable across nodes. */
    public List<Event> afterVersion(long version) {
        return select(e -> e.version() > version);
    }

    /** Every retained event, oldest first. */
    public List<Event> all() {
        return select(e -> true);
    }

    private synchronized List<Event> select(Predicate<Event> filter) {
        List<Event> selected = new ArrayList<>();
        for (Event event : ring) {
            if (filter.test(event)) {
                selected.add(event);
            }
        }
        return selected;
    }

    /** The number the next event will get. */
    public synchronized long nextSeq() {
        return nextSeq;
    }

    /**
     * Calls {@code subscriber} with every event recorded from now on, in order, on the thread that
     * records it; it must not block. Closing the returned handle stops the calls.
     */
    public AutoCloseable subscribe(Consumer<Event> subscriber) {
        subscribers.add(subscriber);
        return () -> subscribers.remove(subscriber);
    }
}
