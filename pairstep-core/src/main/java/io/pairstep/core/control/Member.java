package io.pairstep.core.control;

/**
 * A node of the system as the controller knows it.
 *
 * @param id stable node id, such as {@code n1}
 * @param http host:port of the node's HTTP gateway and admin API
 * @param rpc host:port of the node's binary transport
 * @param incarnation raised by the node every time its process starts; replicas of an older
 *     incarnation are gone
 * @param pid the operating-system process id of this incarnation, for operators and fault tools
 * @param alive false once the controller has declared this incarnation down
 */
public record Member(String id, String http, String rpc, long incarnation, long pid, boolean alive) {

    Member withAlive(boolean value) {
        return new Member(id, http, rpc, incarnation, pid, value);
    }
}
