package io.pairstep.avail.alert;

import io.pairstep.avail.Metric;
import io.pairstep.avail.threshold.Direction;
import io.pairstep.avail.threshold.ThresholdRule;
import io.pairstep.avail.threshold.ThresholdTransition;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** Alerts and helpers shared by the action tests. */
public final class Alerts {

    private Alerts() {}

    public static ComponentAlert nodeBroken(String id) {
        return new ComponentAlert(id, 1_763_700_000_000L, "n1", ComponentType.NODE, "n2", ComponentChange.BROKEN,
                ComponentState.UP, "connection closed; lease expired");
    }

    public static ThresholdAlert diskLow(String id) {
        return new ThresholdAlert(id, 1_763_700_000_000L, "n1", Metric.NODE_DISK_FREE_BYTES, "/var/lib/pairstep",
                ThresholdTransition.FIRED, 5.0e8, new ThresholdRule(Direction.BELOW, 1.0e9, 2.0e9, 30_000));
    }

    /** Offers the alert and returns how long the call took, in ms. */
    public static double offerMillis(AlertAction action, Alert alert) {
        long start = System.nanoTime();
        action.offer(alert);
        return (System.nanoTime() - start) / 1e6;
    }

    /** A loopback port that nothing listens on (it was free a moment ago). */
    public static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    /** A thread-safe list of reported problems, also printed so a failing test shows them. */
    public static final class Problems implements Consumer<String> {
        private final List<String> messages = new CopyOnWriteArrayList<>();

        @Override
        public void accept(String message) {
            System.out.println("problem: " + message);
            messages.add(message);
        }

        public List<String> messages() {
            return List.copyOf(messages);
        }
    }
}
