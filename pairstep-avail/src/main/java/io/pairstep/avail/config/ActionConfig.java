package io.pairstep.avail.config;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;

/** One {@code actions:} entry: a place alerts are sent to besides the event log. */
public sealed interface ActionConfig {

    /** A short description for problem reports, e.g. {@code webhook http://ops:8080/alerts}. */
    String describe();

    /** How an e-mail connection to the SMTP server is protected. */
    enum Tls { NONE, STARTTLS, SSL }

    /** E-mail over SMTP. {@code user} and {@code password} are both null when the server needs no login. */
    record Email(String host, int port, Tls tls, String from, List<String> to, String user, String password,
            long timeoutMillis) implements ActionConfig {
        public Email {
            to = List.copyOf(to);
        }

        @Override
        public String describe() {
            return "email via smtp " + host + ":" + port;
        }
    }

    /** A JSON POST of every alert to {@code url}; each attempt gives up after {@code timeoutMillis}. */
    record Webhook(URI url, long timeoutMillis) implements ActionConfig {
        @Override
        public String describe() {
            return "webhook " + url;
        }
    }

    /** Runs {@code path} with {@code args} and the alert in its environment; killed after {@code timeoutMillis}. */
    record Program(Path path, List<String> args, long timeoutMillis) implements ActionConfig {
        public Program {
            args = List.copyOf(args);
        }

        @Override
        public String describe() {
            return "program " + path;
        }
    }

    /**
     * SNMP traps to {@code host:port}: SNMPv2c with {@code community} when {@code v3} is null,
     * otherwise SNMPv3 with authentication and privacy.
     */
    record Snmp(String host, int port, String community, SnmpV3 v3) implements ActionConfig {
        @Override
        public String describe() {
            return "snmp " + (v3 == null ? "v2c" : "v3") + " traps to " + host + ":" + port;
        }
    }

    /** The SNMPv3 authentication protocols offered. */
    enum AuthProtocol { SHA, SHA256 }

    /**
     * An SNMPv3 user with authentication and privacy (AES-128). The receiver must know this user
     * under the sender's engine id: {@code engineIdHex}, or when null one derived from the node id
     * (see {@code SnmpTrapDelivery.engineId}).
     */
    record SnmpV3(String user, AuthProtocol authProtocol, String authPassphrase, String privPassphrase,
            String engineIdHex) {}
}
