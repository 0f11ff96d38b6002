package io.pairstep.avail.config;

/**
 * The {@code snmpAgent:} entry: the node answers SNMP GET requests (v1 and v2c, read-only) for the
 * current state of the system on {@code host:port} (UDP), to requests with {@code community}.
 */
public record SnmpAgentConfig(String host, int port, String community) {

    /** For problem reports, e.g. {@code snmp agent on 127.0.0.1:1161}. */
    public String describe() {
        return "snmp agent on " + host + ":" + port;
    }
}
