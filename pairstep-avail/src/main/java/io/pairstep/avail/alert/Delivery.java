package io.pairstep.avail.alert;

/**
 * Sends one alert somewhere, blocking until it is done; {@link QueuedAction} runs it on its own
 * thread. Each attempt must end by itself (every implementation has a time limit).
 */
public interface Delivery {

    /** Sends the alert, or throws why it could not be sent. */
    void deliver(Alert alert) throws Exception;

    /** Checks at start that the receiver can be reached, for an early, clear report; by default nothing. */
    default void check() throws Exception {}

    /** Where alerts go, for problem reports. */
    String describe();

    /** Releases connections and threads; by default nothing. */
    default void close() {}
}
