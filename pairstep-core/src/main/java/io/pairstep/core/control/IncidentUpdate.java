package io.pairstep.core.control;

/**
 * One entry of an incident's history: what changed and when.
 *
 * @param timeMillis when, in ms since the epoch, as the proposing node's clock read it
 * @param state the incident's state after the update
 * @param message what happened, for people
 */
public record IncidentUpdate(long timeMillis, IncidentState state, String message) {}
