package io.pairstep.avail.alert;

import java.util.function.Consumer;

/**
 * Passes every alert to the node's event log, a callback the runtime provides. The callback runs on
 * the caller's thread, so it must itself be quick: append to a buffer, not write to disk.
 */
public final class EventLogAction implements AlertAction {

    private final Consumer<Alert> eventLog;

    public EventLogAction(Consumer<Alert> eventLog) {
        this.eventLog = eventLog;
    }

    @Override
    public void offer(Alert alert) {
        eventLog.accept(alert);
    }

    @Override
    public String describe() {
        return "event log";
    }

    @Override
    public void close() {}
}
