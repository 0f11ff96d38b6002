package io.pairstep.avail.snmp;

import io.pairstep.avail.alert.Alert;
import io.pairstep.avail.alert.ComponentAlert;
import io.pairstep.avail.alert.IncidentAlert;
import io.pairstep.avail.alert.Delivery;
import io.pairstep.avail.alert.ThresholdAlert;
import io.pairstep.avail.config.ActionConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import org.snmp4j.CommunityTarget;
import org.snmp4j.MessageDispatcherImpl;
import org.snmp4j.PDU;
import org.snmp4j.ScopedPDU;
import org.snmp4j.Snmp;
import org.snmp4j.Target;
import org.snmp4j.UserTarget;
import org.snmp4j.mp.MPv2c;
import org.snmp4j.mp.MPv3;
import org.snmp4j.mp.SnmpConstants;
import org.snmp4j.security.AuthHMAC192SHA256;
import org.snmp4j.security.AuthSHA;
import org.snmp4j.security.PrivAES128;
import org.snmp4j.security.SecurityLevel;
import org.snmp4j.security.SecurityProtocols;
import org.snmp4j.security.USM;
import org.snmp4j.security.UsmUser;
import org.snmp4j.smi.GenericAddress;
import org.snmp4j.smi.Integer32;
import org.snmp4j.smi.OID;
import org.snmp4j.smi.OctetString;
import org.snmp4j.smi.TimeTicks;
import org.snmp4j.smi.UdpAddress;
import org.snmp4j.smi.VariableBinding;
import org.snmp4j.transport.DefaultUdpTransportMapping;

/**
 * Sends each alert as an SNMP trap (an SNMPv2-Trap PDU) with SNMP4J, over UDP: SNMPv2c with a
 * community, or SNMPv3 with authentication (SHA or SHA-256) and privacy (AES-128). The notification
 * and its varbinds are those of {@link PairstepMib}: a component change carries the component's
 * type, id, previous state and the reason; a threshold alert the metric, subject, value and level.
 * Both carry the alert id and the sending node.
 *
 * <p>For SNMPv3 the node is the authoritative engine of its traps, so the receiver must know the
 * user under the node's engine id: the configured one, or {@link #engineId} of the node id, e.g. for
 * net-snmp {@code createUser -e 0x<engine id> <user> SHA-256 <auth> AES <priv>}.
 */
public final class SnmpTrapDelivery implements Delivery {

    /** The most a DisplayString holds, in bytes. */
    private static final int DISPLAY_STRING_MAX_BYTES = 255;

    private final ActionConfig.Snmp config;
    private final Snmp snmp;
    private final Target<UdpAddress> target;
    private final long startNanos = System.nanoTime();

    /**
     * Opens a UDP socket on an ephemeral port for sending.
     *
     * @param nodeId the sending node, from which the default SNMPv3 engine id is derived
     */
    public SnmpTrapDelivery(ActionConfig.Snmp config, String nodeId) throws IOException {
        this.config = config;
        UdpAddress address = (UdpAddress) GenericAddress.parse("udp:" + config.host() + "/" + config.port());
        if (address == null) {
            throw new IOException("cannot resolve SNMP target " + config.host() + ":" + config.port());
        }
        MessageDispatcherImpl dispatcher = new MessageDispatcherImpl();
        if (config.v3() == null) {
            dispatcher.addMessageProcessingModel(new MPv2c());
            CommunityTarget<UdpAddress> community = new CommunityTarget<>(address, new OctetString(config.community()));
            community.setVersion(SnmpConstants.version2c);
            this.target = community;
        } else {
            ActionConfig.SnmpV3 v3 = config.v3();
            SecurityProtocols protocols = SecurityProtocols.getInstance();
            // SNMP4J leaves SHA-1 out of its defaults as weak, but many receivers still expect it.
            protocols.addAuthenticationProtocol(new AuthSHA());
            protocols.addAuthenticationProtocol(new AuthHMAC192SHA256());
            protocols.addPrivacyProtocol(new PrivAES128());
            USM usm = new USM(protocols, new OctetString(engineId(v3, nodeId)), 0);
            OctetString user = new OctetString(v3.user());
            OID auth = v3.authProtocol() == ActionConfig.AuthProtocol.SHA ? AuthSHA.ID : AuthHMAC192SHA256.ID;
            usm.addUser(user, new UsmUser(user, auth, new OctetString(v3.authPassphrase()), PrivAES128.ID,
                    new OctetString(v3.privPassphrase())));
            dispatcher.addMessageProcessingModel(new MPv3(usm));
            UserTarget<UdpAddress> userTarget = new UserTarget<>();
            userTarget.setAddress(address);
            userTarget.setSecurityName(user);
            userTarget.setSecurityLevel(SecurityLevel.AUTH_PRIV);
            userTarget.setVersion(SnmpConstants.version3);
            this.target = userTarget;
        }
        target.setRetries(0);
        this.snmp = new Snmp(dispatcher, new DefaultUdpTransportMapping());
    }

    /**
     * The SNMPv3 engine id traps are sent with: the configured one, or else one derived from the
     * node id (RFC 3411 text format under SNMP4J's enterprise number), stable across restarts.
     */
    public static byte[] engineId(ActionConfig.SnmpV3 v3, String nodeId) {
        if (v3.engineIdHex() != null) {
            String hex = v3.engineIdHex();
            return HexFormat.of().parseHex(hex.startsWith("0x") ? hex.substring(2) : hex);
        }
        return MPv3.createLocalEngineID(new OctetString("pairstep-" + nodeId));
    }

    @Override
    public void deliver(Alert alert) throws IOException {
        PDU pdu = config.v3() == null ? new PDU() : new ScopedPDU();
        pdu.setType(PDU.TRAP);
        pdu.add(new VariableBinding(SnmpConstants.sysUpTime, new TimeTicks((System.nanoTime() - startNanos) / 10_000_000)));
        switch (alert) {
            // Incidents are called home, not trapped: their component changes were trapped already.
            case IncidentAlert incident -> {
                return;
            }
            case ComponentAlert component -> {
                pdu.add(new VariableBinding(SnmpConstants.snmpTrapOID, PairstepMib.notification(component.change())));
                addCommon(pdu, alert);
                pdu.add(new VariableBinding(PairstepMib.instance(PairstepMib.COMPONENT_TYPE),
                        new Integer32(PairstepMib.value(component.componentType()))));
                pdu.add(text(PairstepMib.COMPONENT_ID, component.componentId()));
                pdu.add(new VariableBinding(PairstepMib.instance(PairstepMib.PREVIOUS_STATE),
                        new Integer32(PairstepMib.value(component.previousState()))));
                pdu.add(text(PairstepMib.REASON, component.reason()));
            }
            case ThresholdAlert threshold -> {
                pdu.add(new VariableBinding(SnmpConstants.snmpTrapOID, PairstepMib.notification(threshold.transition())));
                addCommon(pdu, alert);
                pdu.add(text(PairstepMib.METRIC, threshold.metric().metricName()));
                pdu.add(text(PairstepMib.SUBJECT, threshold.subject()));
                pdu.add(text(PairstepMib.VALUE, Double.toString(threshold.value())));
                pdu.add(text(PairstepMib.LEVEL, Double.toString(threshold.level())));
            }
        }
        snmp.send(pdu, target);
    }

    private void addCommon(PDU pdu, Alert alert) {
        pdu.add(text(PairstepMib.ALERT_ID, alert.id()));
        pdu.add(text(PairstepMib.NODE_ID, alert.nodeId()));
    }

    /** A DisplayString varbind; longer text is cut to the 255 bytes the MIB allows, between characters. */
    private static VariableBinding text(OID object, String value) {
        String cut = value.length() > DISPLAY_STRING_MAX_BYTES ? value.substring(0, DISPLAY_STRING_MAX_BYTES) : value;
        while (cut.getBytes(StandardCharsets.UTF_8).length > DISPLAY_STRING_MAX_BYTES) {
            cut = cut.substring(0, cut.offsetByCodePoints(cut.length(), -1));
        }
        return new VariableBinding(PairstepMib.instance(object), new OctetString(cut.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public String describe() {
        return config.describe();
    }

    @Override
    public void close() {
        try {
            snmp.close();
        } catch (IOException e) {
            // Closing a UDP socket: nothing to recover.
        }
    }
}
