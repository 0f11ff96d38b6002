package io.pairstep.runtime;

import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs one node in the foreground until the process is told to stop. */
public final class NodeMain {

    private static final Logger LOG = LoggerFactory.getLogger(NodeMain.class);

    private NodeMain() {}

    /** Starts the node and blocks until a shutdown signal; throws when the node cannot start. */
    public static void run(NodeConfig config) throws Exception {
        Node node = new Node(config);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            LOG.info("node {} stopping", config.id());
            node.close();
            stopped.countDown();
        }, "pairstep-shutdown"));
        try {
            node.start();
        } catch (Exception e) {
            node.close();
            throw e;
        }
        stopped.await();
    }
}
