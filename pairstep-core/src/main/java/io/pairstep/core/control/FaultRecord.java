package io.pairstep.core.control;

import java.util.List;
import java.util.Objects;

/**
 * A fault someone injected (issue 4, item 7: "fault injected" is an event like any other state
 * change), as the controller keeps it so that every node's event log shows it. The node that carries
 * the fault out records it: the node whose replica was damaged, the node that kills itself, or, for a
 * signal the CLI sends to a local process itself, the node whose admin API the CLI asked to record
 * it. The controller keeps only the latest {@link ControllerState#FAULTS_KEPT_MAX}: the record exists
 * to become an event on every node, not to be an archive.
 *
 * @param seq the controller's number for the record, rising by one per record; 0 in a command, where
 *     the controller has not numbered it yet
 * @param faultId the recording side's id of the fault; a record with an id already kept is a retry
 *     and changes nothing
 * @param kind one of {@link #KINDS}: a replica fault ({@link #REPLICA_KINDS}) or a node fault
 *     ({@link #NODE_KINDS})
 * @param node the node the fault hit
 * @param service the service of the damaged replica; null for a node fault
 * @param partition the partition of the damaged replica; null for a node fault
 * @param seed the seed that chose what {@code corrupt} damaged, when there is one; else null
 * @param delayMillis the delay per command of {@code slow} (0 clears it); null for every other kind
 * @param outcome what the fault did, for people, cut at {@link #OUTCOME_CHARS_MAX}
 * @param requestedBy the node that received the admin request (it forwards it to {@code node} when
 *     that is another node)
 * @param timeMillis when the recording node injected it, by its clock (the controller reads none)
 */
public record FaultRecord(long seq, String faultId, String kind, String node, String service, Integer partition, Long seed,
        Long delayMillis, String outcome, String requestedBy, long timeMillis) {

    public static final String CORRUPT = "corrupt";
    public static final String DIVERGE = "diverge";
    public static final String SELF_CHECK = "self-check";
    public static final String CRASH_REPLICA = "crash-replica";
    public static final String SLOW = "slow";
    public static final String KILL_NODE = "kill-node";
    public static final String PAUSE_NODE = "pause-node";
    public static final String RESUME_NODE = "resume-node";

    /** The faults that hit one replica of a group: they name its service and partition. */
    public static final List<String> REPLICA_KINDS = List.of(CORRUPT, DIVERGE, SELF_CHECK, CRASH_REPLICA, SLOW);
    /** The faults that hit a whole node process. */
    public static final List<String> NODE_KINDS = List.of(KILL_NODE, PAUSE_NODE, RESUME_NODE);
    /** Every kind, replica faults first. */
    public static final List<String> KINDS = List.of(CORRUPT, DIVERGE, SELF_CHECK, CRASH_REPLICA, SLOW, KILL_NODE, PAUSE_NODE,
            RESUME_NODE);

    public static final int OUTCOME_CHARS_MAX = 500;
    /** Ids and names are short; a longer one is refused so that no record can swell the controller state. */
    public static final int NAME_CHARS_MAX = 200;

    public FaultRecord {
        Objects.requireNonNull(faultId, "faultId");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(node, "node");
        Objects.requireNonNull(requestedBy, "requestedBy");
        // An empty service is no service: a node fault reads the same whichever way it was written.
        service = service == null || service.isEmpty() ? null : service;
        outcome = cut(outcome == null ? "" : outcome, OUTCOME_CHARS_MAX);
    }

    /** A fault of one replica, numbered 0 for a command. */
    public static FaultRecord ofReplica(String faultId, String kind, String node, String service, int partition, Long seed,
            Long delayMillis, String outcome, String requestedBy, long timeMillis) {
        return new FaultRecord(0, faultId, kind, node, service, partition, seed, delayMillis, outcome, requestedBy, timeMillis);
    }

    /** A fault of a whole node, numbered 0 for a command. */
    public static FaultRecord ofNode(String faultId, String kind, String node, String outcome, String requestedBy, long timeMillis) {
        return new FaultRecord(0, faultId, kind, node, null, null, null, null, outcome, requestedBy, timeMillis);
    }

    /** True for a fault of one replica ({@link #REPLICA_KINDS}), false for a node fault. */
    public boolean replicaFault() {
        return REPLICA_KINDS.contains(kind);
    }

    /** The same record numbered {@code seq} by the controller. */
    FaultRecord withSeq(long seq) {
        return new FaultRecord(seq, faultId, kind, node, service, partition, seed, delayMillis, outcome, requestedBy, timeMillis);
    }

    /**
     * Why the controller cannot keep this record, or null when it can. Public so that an admin API
     * can refuse a bad request with the same words before it reaches the controller.
     */
    public String problem() {
        if (faultId.isEmpty() || faultId.length() > NAME_CHARS_MAX) {
            return "a fault record needs a fault id of 1 to " + NAME_CHARS_MAX + " characters";
        }
        if (!KINDS.contains(kind)) {
            return "fault " + faultId + ": kind must be one of " + String.join(", ", KINDS) + ", was \"" + kind + "\"";
        }
        if (node.isEmpty() || node.length() > NAME_CHARS_MAX || requestedBy.isEmpty() || requestedBy.length() > NAME_CHARS_MAX) {
            return "fault " + faultId + ": node and requestedBy must have 1 to " + NAME_CHARS_MAX + " characters";
        }
        if (replicaFault()) {
            if (service == null || service.length() > NAME_CHARS_MAX || partition == null || partition < 0) {
                return "fault " + faultId + ": a " + kind + " fault names the replica's service (1 to " + NAME_CHARS_MAX
                        + " characters) and partition (0 or more)";
            }
        } else if (service != null || partition != null || seed != null) {
            return "fault " + faultId + ": a " + kind + " fault hits a whole node and names no service, partition or seed";
        }
        if (SLOW.equals(kind) ? delayMillis == null || delayMillis < 0 : delayMillis != null) {
            return "fault " + faultId + ": " + (SLOW.equals(kind) ? "a slow fault needs its delay in ms (0 or more)"
                    : "only a slow fault has a delay in ms");
        }
        return null;
    }

    private static String cut(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 3) + "...";
    }
}
