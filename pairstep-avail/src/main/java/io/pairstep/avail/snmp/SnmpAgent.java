package io.pairstep.avail.snmp;

import io.pairstep.avail.alert.ComponentState;
import io.pairstep.avail.config.SnmpAgentConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.snmp4j.CommandResponder;
import org.snmp4j.CommandResponderEvent;
import org.snmp4j.MessageDispatcherImpl;
import org.snmp4j.MessageException;
import org.snmp4j.PDU;
import org.snmp4j.Snmp;
import org.snmp4j.mp.MPv1;
import org.snmp4j.mp.MPv2c;
import org.snmp4j.mp.SnmpConstants;
import org.snmp4j.mp.StatusInformation;
import org.snmp4j.smi.Gauge32;
import org.snmp4j.smi.GenericAddress;
import org.snmp4j.smi.Integer32;
import org.snmp4j.smi.Null;
import org.snmp4j.smi.OID;
import org.snmp4j.smi.OctetString;
import org.snmp4j.smi.UdpAddress;
import org.snmp4j.smi.Variable;
import org.snmp4j.smi.VariableBinding;
import org.snmp4j.transport.DefaultUdpTransportMapping;

/**
 * A read-only SNMP agent for the current state of the system ({@code pairstepState} of
 * PAIRSTEP-MIB): GET, GETNEXT and GETBULK over SNMPv1 and v2c with one community, so that {@code
 * snmpget} and {@code snmpwalk} read the nodes and replica groups. Each request is answered from a
 * fresh {@link SystemView} of the runtime's latest controller state.
 *
 * <p>Plain SNMP4J: a {@link CommandResponder} on its own UDP socket, no agent framework, because the
 * tree is small, read-only and rebuilt for every request. A request with another community is
 * dropped unanswered, as agents do.
 */
public final class SnmpAgent implements AutoCloseable {

    /** GETBULK answers at most this many varbinds, so that an answer fits a UDP datagram. */
    private static final int BULK_VARBINDS_MAX = 100;

    private final SnmpAgentConfig config;
    private final Supplier<SystemView> view;
    private final Consumer<String> problems;
    private final Snmp snmp;

    private SnmpAgent(SnmpAgentConfig config, Supplier<SystemView> view, Consumer<String> problems) throws IOException {
        this.config = config;
        this.view = view;
        this.problems = problems;
        UdpAddress address = (UdpAddress) GenericAddress.parse("udp:" + config.host() + "/" + config.port());
        if (address == null) {
            throw new IOException("cannot resolve " + config.host());
        }
        MessageDispatcherImpl dispatcher = new MessageDispatcherImpl();
        dispatcher.addMessageProcessingModel(new MPv1());
        dispatcher.addMessageProcessingModel(new MPv2c());
        this.snmp = new Snmp(dispatcher, new DefaultUdpTransportMapping(address));
        snmp.addCommandResponder(new CommandResponder() {
            @Override
            public <A extends org.snmp4j.smi.Address> void processPdu(CommandResponderEvent<A> event) {
                respond(event);
            }
        });
    }

    /** Binds the agent's UDP port and starts answering; throws when the port cannot be bound. */
    public static SnmpAgent start(SnmpAgentConfig config, Supplier<SystemView> view, Consumer<String> problems) throws IOException {
        SnmpAgent agent = new SnmpAgent(config, view, problems);
        agent.snmp.listen();
        return agent;
    }

    public String describe() {
        return config.describe();
    }

    /** The MIB objects of a view, by OID: what GET and GETNEXT walk. */
    public static NavigableMap<OID, Variable> objects(SystemView view) {
        NavigableMap<OID, Variable> objects = new TreeMap<>();
        long up = view.nodes().stream().filter(SystemView.Node::up).count();
        long ok = view.groups().stream().filter(g -> g.health() == SystemView.Health.OK).count();
        objects.put(PairstepMib.instance(PairstepMib.NODES_UP), new Gauge32(up));
        objects.put(PairstepMib.instance(PairstepMib.GROUP_COUNT), new Gauge32(view.groups().size()));
        objects.put(PairstepMib.instance(PairstepMib.GROUPS_FULLY_PROTECTED), new Gauge32(ok));
        for (int row = 1; row <= view.nodes().size(); row++) {
            SystemView.Node node = view.nodes().get(row - 1);
            objects.put(cell(PairstepMib.NODE_NAME, row), text(node.id()));
            objects.put(cell(PairstepMib.NODE_STATE, row),
                    new Integer32(PairstepMib.value(node.up() ? ComponentState.UP : ComponentState.BROKEN)));
            objects.put(cell(PairstepMib.NODE_REPLICAS, row), new Gauge32(node.replicas()));
            objects.put(cell(PairstepMib.NODE_PRIMARIES, row), new Gauge32(node.primaries()));
        }
        for (int row = 1; row <= view.groups().size(); row++) {
            SystemView.Group group = view.groups().get(row - 1);
            objects.put(cell(PairstepMib.GROUP_NAME, row), text(group.name()));
            objects.put(cell(PairstepMib.GROUP_MODE, row), text(group.mode()));
            objects.put(cell(PairstepMib.GROUP_HEALTH, row), new Integer32(group.health().mibValue()));
            objects.put(cell(PairstepMib.GROUP_PRIMARY, row), text(group.primary()));
        }
        return objects;
    }

    private static OID cell(OID column, int row) {
        return new OID(column).append(row);
    }

    private static OctetString text(String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        // A DisplayString holds at most 255 bytes.
        return new OctetString(bytes.length <= 255 ? bytes : Arrays.copyOf(bytes, 255));
    }

    private <A extends org.snmp4j.smi.Address> void respond(CommandResponderEvent<A> event) {
        PDU request = event.getPDU();
        if (request == null || !config.community().equals(new String(event.getSecurityName(), StandardCharsets.UTF_8))) {
            return;
        }
        int type = request.getType();
        if (type != PDU.GET && type != PDU.GETNEXT && type != PDU.GETBULK) {
            return;
        }
        event.setProcessed(true);
        boolean v1 = event.getMessageProcessingModel() == MPv1.ID;
        NavigableMap<OID, Variable> objects = objects(view.get());
        PDU response = (PDU) request.clone();
        response.setType(PDU.RESPONSE);
        response.setErrorStatus(PDU.noError);
        response.setErrorIndex(0);
        // clear() also zeroes the request id, which the manager matches the answer by.
        response.clear();
        response.setRequestID(request.getRequestID());
        if (type == PDU.GETBULK) {
            bulk(request, objects, response);
        } else {
            for (int i = 0; i < request.size(); i++) {
                OID asked = request.get(i).getOid();
                Map.Entry<OID, Variable> found = type == PDU.GET ? exact(objects, asked) : objects.higherEntry(asked);
                if (found != null) {
                    response.add(new VariableBinding(found.getKey(), found.getValue()));
                } else if (v1) {
                    // SNMPv1 has no exceptions in varbinds: the whole request fails at this varbind.
                    response = (PDU) request.clone();
                    response.setType(PDU.RESPONSE);
                    response.setErrorStatus(PDU.noSuchName);
                    response.setErrorIndex(i + 1);
                    break;
                } else {
                    response.add(new VariableBinding(asked, type == PDU.GET ? noSuch(objects, asked) : Null.endOfMibView));
                }
            }
        }
        try {
            int status = event.getMessageDispatcher().returnResponsePdu(event.getMessageProcessingModel(), event.getSecurityModel(),
                    event.getSecurityName(), event.getSecurityLevel(), response, event.getMaxSizeResponsePDU(),
                    event.getStateReference(), new StatusInformation());
            if (status != SnmpConstants.SNMP_ERROR_SUCCESS) {
                problems.accept(describe() + ": cannot answer " + event.getPeerAddress() + ": SNMP4J error " + status);
            }
        } catch (MessageException e) {
            problems.accept(describe() + ": cannot answer " + event.getPeerAddress() + ": " + e.getMessage());
        }
    }

    private static Map.Entry<OID, Variable> exact(NavigableMap<OID, Variable> objects, OID asked) {
        Variable value = objects.get(asked);
        return value == null ? null : Map.entry(asked, value);
    }

    /** noSuchInstance for a row or instance that does not exist of a known object, noSuchObject otherwise. */
    private static Variable noSuch(NavigableMap<OID, Variable> objects, OID asked) {
        for (OID column : PairstepMib.DEFINITIONS.values()) {
            if (asked.startsWith(column) && asked.size() == column.size() + 1) {
                Map.Entry<OID, Variable> next = objects.higherEntry(column);
                if (next != null && next.getKey().startsWith(column)) {
                    return Null.noSuchInstance;
                }
            }
        }
        return Null.noSuchObject;
    }

    /** GETBULK: the non-repeaters once each, then the repeaters walked {@code maxRepetitions} steps. */
    private static void bulk(PDU request, NavigableMap<OID, Variable> objects, PDU response) {
        int nonRepeaters = Math.max(0, Math.min(request.getNonRepeaters(), request.size()));
        for (int i = 0; i < nonRepeaters; i++) {
            response.add(next(objects, request.get(i).getOid()));
        }
        int repeaters = request.size() - nonRepeaters;
        OID[] cursors = new OID[repeaters];
        for (int i = 0; i < repeaters; i++) {
            cursors[i] = request.get(nonRepeaters + i).getOid();
        }
        int repetitions = Math.max(0, request.getMaxRepetitions());
        for (int r = 0; r < repetitions && repeaters > 0 && response.size() + repeaters <= BULK_VARBINDS_MAX; r++) {
            boolean anyLeft = false;
            for (int i = 0; i < repeaters; i++) {
                VariableBinding binding = next(objects, cursors[i]);
                response.add(binding);
                cursors[i] = binding.getOid();
                anyLeft |= !binding.getVariable().isException();
            }
            if (!anyLeft) {
                break;
            }
        }
    }

    private static VariableBinding next(NavigableMap<OID, Variable> objects, OID after) {
        Map.Entry<OID, Variable> found = objects.higherEntry(after);
        return found == null ? new VariableBinding(after, Null.endOfMibView) : new VariableBinding(found.getKey(), found.getValue());
    }

    @Override
    public void close() {
        try {
            snmp.close();
        } catch (IOException e) {
            problems.accept(describe() + ": closing: " + e.getMessage());
        }
    }
}
