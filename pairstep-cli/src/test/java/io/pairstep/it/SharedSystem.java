package io.pairstep.it;

import io.pairstep.cli.LocalSystem;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One local system for the test methods of a class, for methods that each deploy services of their
 * own and inject their faults into those alone, so that none needs a fresh system. A start of
 * three node JVMs costs a CI run more than ten seconds, a stop a few more. A method that leaves the
 * system unable to heal (a failed one may) costs only itself: the system is stopped, and the next
 * method starts a new one in a directory of its own.
 */
final class SharedSystem implements AutoCloseable {

    private static final Duration HEAL = Duration.ofSeconds(60);

    private final Path root;
    private final int nodes;
    private LocalSystem system;
    private int started;

    SharedSystem(Path root, int nodes) {
        this.root = root;
        this.nodes = nodes;
    }

    /** The running system; started on first use, and again after {@link #afterEach} stopped a broken one. */
    LocalSystem get() {
        if (system == null) {
            started++;
            system = LocalSystem.start(root.resolve("system-" + started), nodes, LocalSystem.freeBasePort(), "always", false);
        }
        return system;
    }

    /**
     * Call after each method: every node up and every group fully protected (at once when the method
     * passed, within a minute at most), or the system is stopped and the next method gets a new one.
     */
    void afterEach() {
        if (system != null && !system.awaitFullyProtected(HEAL)) {
            System.out.println("SharedSystem: " + system.dir() + " did not heal within " + HEAL.toSeconds() + " s; stopping it: "
                    + system.status());
            close();
        }
    }

    @Override
    public void close() {
        if (system != null) {
            try {
                system.close();
            } finally {
                system = null;
            }
        }
    }
}
