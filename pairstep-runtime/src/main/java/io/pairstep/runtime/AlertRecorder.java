package io.pairstep.runtime;

import io.pairstep.avail.alert.Alert;
import io.pairstep.avail.alert.Delivery;
import io.pairstep.avail.alert.ThresholdAlert;
import io.pairstep.avail.threshold.ThresholdTransition;
import io.pairstep.core.control.AlertRecord;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Puts a node's threshold alerts into the cluster-wide event log: each one goes to the controller as
 * a {@link ControlCommand.RecordAlert}, and every node's event log then shows it as a {@code
 * threshold-fired} or {@code threshold-cleared} event. The event log is derived from controller
 * states on every node, so this is the one way an alert raised on one node appears on all of them.
 *
 * <p>A {@link io.pairstep.avail.alert.QueuedAction} runs it on a thread of its own and retries with
 * back-off, so the monitor thread never waits for the controller, and an alert raised while the
 * controller elects a leader is recorded once it has one. A retry after a submission that went
 * through changes nothing: the controller recognises the alert id.
 *
 * <p>Component alerts (broken, fixed, ...) are not recorded: they come from the event log already.
 */
final class AlertRecorder implements Delivery {

    /** Longer than the controller's own submit timeout, which ends every attempt first. */
    private static final long ANSWER_WAIT_SECONDS = 20;

    private final Function<ControlCommand, CompletableFuture<ControlResult>> propose;

    AlertRecorder(Function<ControlCommand, CompletableFuture<ControlResult>> propose) {
        this.propose = propose;
    }

    /** True for the alerts this records: threshold alerts. */
    static boolean records(Alert alert) {
        return alert instanceof ThresholdAlert;
    }

    /** The controller command recording a threshold alert. */
    static ControlCommand.RecordAlert command(ThresholdAlert alert) {
        // A node metric is about the node (a data directory is a part of it); a partition metric about its group.
        String component = alert.metric().perPartition() ? alert.subject() : alert.nodeId();
        String transition = alert.transition() == ThresholdTransition.FIRED ? AlertRecord.FIRED : AlertRecord.CLEARED;
        return new ControlCommand.RecordAlert(new AlertRecord(0, alert.id(), alert.nodeId(), component, transition,
                alert.metric().metricName(), alert.subject(), alert.value(), alert.level(), alert.rule().direction().configName(),
                alert.rule().holdMillis(), alert.timeMillis(), alert.summary()));
    }

    @Override
    public void deliver(Alert alert) throws Exception {
        if (!(alert instanceof ThresholdAlert threshold)) {
            return;
        }
        ControlResult result = propose.apply(command(threshold)).get(ANSWER_WAIT_SECONDS, TimeUnit.SECONDS);
        if (!result.accepted()) {
            // Refused while this node is not registered yet (just started, or re-registering): worth a retry.
            throw new IllegalStateException("the controller refused it: " + result.reason());
        }
    }

    @Override
    public String describe() {
        return "event log (controller)";
    }
}
