package io.pairstep.avail.snmp;

import io.pairstep.avail.alert.ComponentChange;
import io.pairstep.avail.alert.ComponentState;
import io.pairstep.avail.alert.ComponentType;
import io.pairstep.avail.threshold.ThresholdTransition;
import java.util.LinkedHashMap;
import java.util.Map;
import org.snmp4j.smi.OID;

/**
 * The object identifiers of {@code PAIRSTEP-MIB} ({@code src/main/resources/mib/PAIRSTEP-MIB.txt}),
 * the only place the trap sender takes them from. A test checks every entry of {@link #DEFINITIONS}
 * against the MIB text and against net-snmp's {@code snmptranslate}.
 *
 * <p>The enterprise number {@value #ENTERPRISE_NUMBER} is NOT registered with IANA for Pairstep. IANA
 * assigns private enterprise numbers in sequence and has not reached it, so it collides with no one
 * today; register a number before traps leave a test network, and change it here and in the MIB.
 */
public final class PairstepMib {

    /** Pairstep's private enterprise number under {@code 1.3.6.1.4.1}, unregistered (see above). */
    public static final int ENTERPRISE_NUMBER = 99277;

    public static final OID PAIRSTEP_MIB = new OID(new int[] {1, 3, 6, 1, 4, 1, ENTERPRISE_NUMBER});
    public static final OID NOTIFICATIONS = child(PAIRSTEP_MIB, 0);
    public static final OID OBJECTS = child(PAIRSTEP_MIB, 1);
    public static final OID CONFORMANCE = child(PAIRSTEP_MIB, 2);
    public static final OID STATE = child(PAIRSTEP_MIB, 3);

    public static final OID COMPONENT_BROKEN = child(NOTIFICATIONS, 1);
    public static final OID COMPONENT_FIXED = child(NOTIFICATIONS, 2);
    public static final OID COMPONENT_REMOVED = child(NOTIFICATIONS, 3);
    public static final OID COMPONENT_INSERTED = child(NOTIFICATIONS, 4);
    public static final OID THRESHOLD_FIRED = child(NOTIFICATIONS, 5);
    public static final OID THRESHOLD_CLEARED = child(NOTIFICATIONS, 6);

    public static final OID ALERT_ID = child(OBJECTS, 1);
    public static final OID NODE_ID = child(OBJECTS, 2);
    public static final OID COMPONENT_TYPE = child(OBJECTS, 3);
    public static final OID COMPONENT_ID = child(OBJECTS, 4);
    public static final OID PREVIOUS_STATE = child(OBJECTS, 5);
    public static final OID REASON = child(OBJECTS, 6);
    public static final OID METRIC = child(OBJECTS, 7);
    public static final OID SUBJECT = child(OBJECTS, 8);
    public static final OID VALUE = child(OBJECTS, 9);
    public static final OID LEVEL = child(OBJECTS, 10);

    public static final OID NODES_UP = child(STATE, 1);
    public static final OID GROUP_COUNT = child(STATE, 2);
    public static final OID GROUPS_FULLY_PROTECTED = child(STATE, 3);
    public static final OID NODE_TABLE = child(STATE, 4);
    public static final OID NODE_ENTRY = child(NODE_TABLE, 1);
    public static final OID NODE_INDEX = child(NODE_ENTRY, 1);
    public static final OID NODE_NAME = child(NODE_ENTRY, 2);
    public static final OID NODE_STATE = child(NODE_ENTRY, 3);
    public static final OID NODE_REPLICAS = child(NODE_ENTRY, 4);
    public static final OID NODE_PRIMARIES = child(NODE_ENTRY, 5);
    public static final OID GROUP_TABLE = child(STATE, 5);
    public static final OID GROUP_ENTRY = child(GROUP_TABLE, 1);
    public static final OID GROUP_INDEX = child(GROUP_ENTRY, 1);
    public static final OID GROUP_NAME = child(GROUP_ENTRY, 2);
    public static final OID GROUP_MODE = child(GROUP_ENTRY, 3);
    public static final OID GROUP_HEALTH = child(GROUP_ENTRY, 4);
    public static final OID GROUP_PRIMARY = child(GROUP_ENTRY, 5);

    public static final OID COMPLIANCES = child(CONFORMANCE, 1);
    public static final OID GROUPS = child(CONFORMANCE, 2);
    public static final OID COMPLIANCE = child(COMPLIANCES, 1);
    public static final OID OBJECTS_GROUP = child(GROUPS, 1);
    public static final OID NOTIFICATIONS_GROUP = child(GROUPS, 2);
    public static final OID STATE_GROUP = child(GROUPS, 3);

    /** Every name the MIB defines, with its OID, in MIB order. */
    public static final Map<String, OID> DEFINITIONS = definitions();

    private PairstepMib() {}

    /** The notification sent for a component change. */
    public static OID notification(ComponentChange change) {
        return switch (change) {
            case BROKEN -> COMPONENT_BROKEN;
            case FIXED -> COMPONENT_FIXED;
            case REMOVED -> COMPONENT_REMOVED;
            case INSERTED -> COMPONENT_INSERTED;
        };
    }

    /** The notification sent for a threshold that fired or cleared. */
    public static OID notification(ThresholdTransition transition) {
        return switch (transition) {
            case FIRED -> THRESHOLD_FIRED;
            case CLEARED -> THRESHOLD_CLEARED;
            case NONE -> throw new IllegalArgumentException("no notification for a threshold that did not change");
        };
    }

    /** The MIB's {@code PairstepComponentType} value. */
    public static int value(ComponentType type) {
        return switch (type) {
            case NODE -> 1;
            case REPLICA -> 2;
        };
    }

    /** The MIB's {@code PairstepComponentState} value. */
    public static int value(ComponentState state) {
        return switch (state) {
            case UP -> 1;
            case BROKEN -> 2;
            case REMOVED -> 3;
            case ABSENT -> 4;
        };
    }

    /** The instance of a scalar object carried in a trap: the object's OID plus {@code .0}. */
    public static OID instance(OID object) {
        return child(object, 0);
    }

    private static OID child(OID parent, int arc) {
        return new OID(parent).append(arc);
    }

    private static Map<String, OID> definitions() {
        Map<String, OID> names = new LinkedHashMap<>();
        names.put("pairstepMib", PAIRSTEP_MIB);
        names.put("pairstepNotifications", NOTIFICATIONS);
        names.put("pairstepComponentBroken", COMPONENT_BROKEN);
        names.put("pairstepComponentFixed", COMPONENT_FIXED);
        names.put("pairstepComponentRemoved", COMPONENT_REMOVED);
        names.put("pairstepComponentInserted", COMPONENT_INSERTED);
        names.put("pairstepThresholdFired", THRESHOLD_FIRED);
        names.put("pairstepThresholdCleared", THRESHOLD_CLEARED);
        names.put("pairstepObjects", OBJECTS);
        names.put("pairstepAlertId", ALERT_ID);
        names.put("pairstepNodeId", NODE_ID);
        names.put("pairstepComponentType", COMPONENT_TYPE);
        names.put("pairstepComponentId", COMPONENT_ID);
        names.put("pairstepPreviousState", PREVIOUS_STATE);
        names.put("pairstepReason", REASON);
        names.put("pairstepMetric", METRIC);
        names.put("pairstepSubject", SUBJECT);
        names.put("pairstepValue", VALUE);
        names.put("pairstepLevel", LEVEL);
        names.put("pairstepConformance", CONFORMANCE);
        names.put("pairstepCompliances", COMPLIANCES);
        names.put("pairstepGroups", GROUPS);
        names.put("pairstepCompliance", COMPLIANCE);
        names.put("pairstepAlertObjectsGroup", OBJECTS_GROUP);
        names.put("pairstepAlertNotificationsGroup", NOTIFICATIONS_GROUP);
        names.put("pairstepStateGroup", STATE_GROUP);
        names.put("pairstepState", STATE);
        names.put("pairstepNodesUp", NODES_UP);
        names.put("pairstepGroupCount", GROUP_COUNT);
        names.put("pairstepGroupsFullyProtected", GROUPS_FULLY_PROTECTED);
        names.put("pairstepNodeTable", NODE_TABLE);
        names.put("pairstepNodeEntry", NODE_ENTRY);
        names.put("pairstepNodeIndex", NODE_INDEX);
        names.put("pairstepNodeName", NODE_NAME);
        names.put("pairstepNodeState", NODE_STATE);
        names.put("pairstepNodeReplicas", NODE_REPLICAS);
        names.put("pairstepNodePrimaries", NODE_PRIMARIES);
        names.put("pairstepGroupTable", GROUP_TABLE);
        names.put("pairstepGroupEntry", GROUP_ENTRY);
        names.put("pairstepGroupIndex", GROUP_INDEX);
        names.put("pairstepGroupName", GROUP_NAME);
        names.put("pairstepGroupMode", GROUP_MODE);
        names.put("pairstepGroupHealth", GROUP_HEALTH);
        names.put("pairstepGroupPrimary", GROUP_PRIMARY);
        return java.util.Collections.unmodifiableMap(names);
    }
}
