package io.pairstep.it;

import io.pairstep.cli.LocalSystem;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One local system for the test methods of a class, for methods that each deploy services of their
 * own and inject their faults into those alone, so that none needs a fresh system. A start of
 * three node JVMs costs a CI run more than ten seconds, a stop a few more. A method that leaves the
 * system unable to heal (a failed one may) costs only itself: the system is stopped, and the next
 * method starts a new one in a directory of its own.
 *
 * <p>A class registers it as a static extension ({@code @RegisterExtension}), which checks the
 * system after each method and stops it after the last.
 */
final class SharedSystem implements AfterEachCallback, AfterAllCallback, AutoCloseable {

    private static final Duration HEAL = Duration.ofSeconds(60);

    /** Read when the system starts: a class's static {@code @TempDir} is set only once its tests begin. */
    private final Supplier<Path> root;
    private final int nodes;
    private LocalSystem system;
    private int started;

    SharedSystem(Supplier<Path> root, int nodes) {
        this.root = root;
        this.nodes = nodes;
    }

    /** The running system; started on first use, and again after {@link #afterEach} stopped a broken one. */
    LocalSystem get() {
        if (system == null) {
            started++;
            system = LocalSystem.start(root.get().resolve("system-" + started), nodes, LocalSystem.freeBasePort(), "always", false);
        }
        return system;
    }

    /**
     * After each method: every node up and every group fully protected (at once when the method
     * passed, within a minute at most), or the system is stopped and the next method gets a new one.
     */
    @Override
    public void afterEach(ExtensionContext context) {
        if (system != null && !system.awaitFullyProtected(HEAL)) {
            System.out.println("SharedSystem: " + system.dir() + " did not heal within " + HEAL.toSeconds() + " s; stopping it: "
                    + system.status());
            close();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close();
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
