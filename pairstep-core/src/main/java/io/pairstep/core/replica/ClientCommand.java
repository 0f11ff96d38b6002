package io.pairstep.core.replica;

/**
 * A client's command as it reaches a replica.
 *
 * @param requestId chosen by the runtime to route the reply back; opaque to the protocol
 * @param session the client session; a session has at most one command in flight
 * @param sequence the command's number in its session, from 1; a retry repeats it
 * @param payload the command bytes
 */
public record ClientCommand(long requestId, long session, long sequence, byte[] payload) {}
