package io.pairstep.runtime;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One thread per node that watches every {@link GuardedService} of the node: every
 * {@link #PERIOD_MILLIS} it lets each one keep a long command's partners informed and give up a
 * command that ran past its limit. Commands run on their replica's own thread; this thread only
 * looks, so a command that ends in time costs its replica two atomic operations and no thread switch.
 */
final class ServiceWatchdog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ServiceWatchdog.class);

    /** How often the watchdog looks; a command's limit is met within this much. */
    static final long PERIOD_MILLIS = 10;

    private final Set<GuardedService> watched = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean running = true;

    ServiceWatchdog(String name) {
        thread = new Thread(this::run, name);
        thread.setDaemon(true);
        // It must get the CPU even when a runaway command keeps every core busy.
        thread.setPriority(Thread.MAX_PRIORITY);
        thread.start();
    }

    void watch(GuardedService service) {
        watched.add(service);
    }

    void forget(GuardedService service) {
        watched.remove(service);
    }

    /** How many services it watches; for tests. */
    int size() {
        return watched.size();
    }

    private void run() {
        long period = TimeUnit.MILLISECONDS.toNanos(PERIOD_MILLIS);
        while (running) {
            LockSupport.parkNanos(period);
            long now = System.nanoTime();
            for (GuardedService service : watched) {
                try {
                    if (service.check(now)) {
                        watched.remove(service);
                    }
                } catch (RuntimeException | Error e) {
                    LOG.error("the watchdog failed on a service: {}", e.toString(), e);
                }
            }
        }
    }

    @Override
    public void close() {
        running = false;
        LockSupport.unpark(thread);
    }
}
