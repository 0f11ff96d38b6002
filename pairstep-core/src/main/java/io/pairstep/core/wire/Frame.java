package io.pairstep.core.wire;

import io.pairstep.core.lockstep.LockstepMessage;
import io.pairstep.core.replica.PeerMessage;
import io.pairstep.core.replica.Reply;

/**
 * Everything that crosses a Pairstep socket: between nodes, and between clients and nodes. Each
 * frame is sent length-prefixed; {@link FrameCodec} turns frames into bytes and back.
 */
public sealed interface Frame {

    /** First frame on a node-to-node connection: who is calling. */
    record Hello(String node, long incarnation) implements Frame {}

    /** Replication traffic of one group in mode {@code pair} or {@code none}. */
    record Peer(PeerMessage message) implements Frame {}

    /** Replication and voting traffic of one group in mode {@code dmr} or {@code tmr}. */
    record Lockstep(LockstepMessage message) implements Frame {}

    /** A node renews its lease with the controller leader. */
    record Heartbeat(String node, long incarnation) implements Frame {}

    /**
     * A group member tells the controller leader it lost touch with {@code suspect}.
     *
     * @param connectionClosed true when its connection to the suspect closed (strong evidence: the
     *     kernel closes a killed process's sockets), false when the suspect only went silent
     */
    record Suspect(String reporter, String suspect, boolean connectionClosed, String reason) implements Frame {}

    /**
     * A client command.
     *
     * @param requestId chosen by the client, echoed in the response
     * @param service the service name
     * @param partition the partition, computed by the client from its key
     * @param session the client session
     * @param sequence the command's number in the session
     * @param payload the command
     */
    record ClientRequest(long requestId, String service, int partition, long session, long sequence, byte[] payload)
            implements Frame {}

    /** The answer to a {@link ClientRequest}. */
    record ClientResponse(long requestId, Reply reply) implements Frame {}

    /** A client asks any node for the system's routing table. */
    record TopologyRequest(long requestId) implements Frame {}

    /**
     * A client asks a node for the routing table once the epoch of one group is past {@code
     * afterEpoch}: the node answers with a {@link TopologyResponse} as soon as it applies such a
     * configuration, or after {@code waitMillis} with what it has. This is how a client learns of a
     * takeover the moment it is decided, instead of polling.
     */
    record TopologyWatch(long requestId, String service, int partition, long afterEpoch, int waitMillis) implements Frame {}

    /**
     * The routing table: the JSON document of {@code GET /v1/status}, which lists nodes with their
     * addresses and every group with its primary.
     */
    record TopologyResponse(long requestId, String json) implements Frame {}

    /** Refusal of a frame that this node cannot serve, such as an unknown service. */
    record Error(long requestId, String code, String message) implements Frame {}
}
