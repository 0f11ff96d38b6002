package io.pairstep.avail.alert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

class QueuedActionTest {

    /** A delivery that holds every alert until released. */
    private static final class HeldDelivery implements Delivery {
        final CountDownLatch started = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final List<String> delivered = new CopyOnWriteArrayList<>();

        @Override
        public void deliver(Alert alert) throws InterruptedException {
            started.countDown();
            release.await();
            delivered.add(alert.id());
        }

        @Override
        public String describe() {
            return "held";
        }
    }

    @Test
    void aFullQueueDropsNewAlertsReportsItOnceAndNeverBlocks() throws Exception {
        HeldDelivery delivery = new HeldDelivery();
        Alerts.Problems problems = new Alerts.Problems();
        try (QueuedAction action = new QueuedAction(delivery, 2, RetryPolicy.NONE, problems)) {
            action.offer(Alerts.nodeBroken("a1"));
            delivery.started.await();

            for (int i = 2; i <= 5; i++) {
                assertThat(Alerts.offerMillis(action, Alerts.nodeBroken("a" + i))).isLessThan(200);
            }
            assertThat(problems.messages()).singleElement().asString()
                    .isEqualTo("held: queue full (2 alerts waiting), dropping new alerts, first a4");

            delivery.release.countDown();
            await().until(() -> delivery.delivered.size() == 3);
            assertThat(delivery.delivered).containsExactly("a1", "a2", "a3");
        }
    }

    @Test
    void closingReportsWhatWasNotDelivered() throws Exception {
        HeldDelivery delivery = new HeldDelivery();
        Alerts.Problems problems = new Alerts.Problems();
        QueuedAction action = new QueuedAction(delivery, 10, RetryPolicy.NONE, problems);
        action.offer(Alerts.nodeBroken("a1"));
        delivery.started.await();
        action.offer(Alerts.nodeBroken("a2"));

        action.close();

        assertThat(problems.messages()).containsExactly("held: closed with 2 alerts undelivered");
    }
}
