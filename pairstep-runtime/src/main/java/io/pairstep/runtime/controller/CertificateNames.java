package io.pairstep.runtime.controller;

import io.pairstep.core.control.ControlCommand;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCallListener;
import org.apache.ratis.thirdparty.io.grpc.Grpc;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.ServerInterceptor;
import org.apache.ratis.thirdparty.io.grpc.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a TLS controller, who may say what: every certificate the system's authority signed gets
 * through the handshake, but only a node's certificate may speak to the controller, and only for
 * the node it names. A node's certificate names it ({@code CN=n4}, as {@code pairstep certs} makes
 * them) and permits server authentication (every node serves the others); the client certificate
 * of {@code pairstep certs} permits only client authentication.
 *
 * <p>Checked on every request the controller's gRPC server receives:
 * <ul>
 *   <li>the caller's certificate must permit server authentication (or name no purposes at all),
 *       so a client's certificate can neither follow the log, vote nor submit a command;
 *   <li>{@code RegisterNode} must register the node the certificate names, so a node cannot join
 *       under another node's id;
 *   <li>a change of the controller's configuration may add only the caller;
 *   <li>a Raft request between replicas (append, vote, snapshot, election, read index) must come
 *       from the replica the certificate names.
 * </ul>
 * A refused call is closed with {@code PERMISSION_DENIED}, which its sender's log shows, and the
 * refusal is logged here with the certificate's subject.
 */
public final class CertificateNames implements ServerInterceptor {

    private static final Logger LOG = LoggerFactory.getLogger(CertificateNames.class);
    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String ANY_PURPOSE = "2.5.29.37.0";

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        X509Certificate certificate;
        try {
            certificate = peerCertificate(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
        } catch (SSLPeerUnverifiedException e) {
            certificate = null;
        }
        String refusal = certificate == null ? "the caller showed no certificate" : nodeCertificateRefusal(certificate);
        if (refusal != null) {
            refuse(call, refusal);
            return new ServerCall.Listener<>() {};
        }
        String name = commonName(certificate);
        return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(call, headers)) {
            private boolean refused;

            @Override
            public void onMessage(Q message) {
                if (refused) {
                    return;
                }
                String problem = refusal(name, message);
                if (problem != null) {
                    refused = true;
                    refuse(call, problem);
                    return;
                }
                super.onMessage(message);
            }

            @Override
            public void onHalfClose() {
                if (!refused) {
                    super.onHalfClose();
                }
            }
        };
    }

    private static void refuse(ServerCall<?, ?> call, String refusal) {
        LOG.warn("controller refused {}: {}", call.getMethodDescriptor().getFullMethodName(), refusal);
        call.close(Status.PERMISSION_DENIED.withDescription("refused by the controller: " + refusal), new Metadata());
    }

    private static X509Certificate peerCertificate(SSLSession session) throws SSLPeerUnverifiedException {
        if (session == null || session.getPeerCertificates().length == 0) {
            return null;
        }
        return session.getPeerCertificates()[0] instanceof X509Certificate x509 ? x509 : null;
    }

    /** Why this certificate is not a node's: it permits no server authentication or names no one; null when it is. */
    public static String nodeCertificateRefusal(X509Certificate certificate) {
        String subject = certificate.getSubjectX500Principal().getName();
        try {
            List<String> purposes = certificate.getExtendedKeyUsage();
            if (purposes != null && !purposes.contains(SERVER_AUTH) && !purposes.contains(ANY_PURPOSE)) {
                return "the certificate " + subject + " is not a node's (it does not permit server authentication; a client's"
                        + " certificate cannot take part in the controller)";
            }
        } catch (CertificateParsingException e) {
            return "the certificate " + subject + " has unreadable purposes: " + e.getMessage();
        }
        return commonName(certificate) == null ? "the certificate " + subject + " names no node (no CN)" : null;
    }

    /** The certificate's CN, which is the node id for a node's certificate; null when it has none. */
    public static String commonName(X509Certificate certificate) {
        try {
            for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return String.valueOf(rdn.getValue());
                }
            }
        } catch (InvalidNameException e) {
            return null;
        }
        return null;
    }

    /**
     * Why a request from the holder of the certificate named {@code name} is refused, or null when
     * it may pass.
     */
    static String refusal(String name, Object message) {
        if (message instanceof RaftProtos.RaftClientRequestProto request) {
            if (!request.hasWrite()) {
                return null;
            }
            ControlCommand command;
            try {
                command = ControlJson.decodeCommand(request.getMessage().getContent().toByteArray());
            } catch (IllegalArgumentException e) {
                return null; // not a command: the state machine refuses it itself (startTransaction)
            }
            if (command instanceof ControlCommand.RegisterNode register && !register.node().equals(name)) {
                return "a certificate for node " + name + " may not register node " + register.node();
            }
            return null;
        }
        if (message instanceof RaftProtos.SetConfigurationRequestProto change) {
            Set<String> added = new HashSet<>();
            change.getPeersList().forEach(p -> added.add(id(p.getId())));
            change.getListenersList().forEach(p -> added.add(id(p.getId())));
            if (change.getMode() == RaftProtos.SetConfigurationRequestProto.Mode.COMPARE_AND_SET) {
                change.getCurrentPeersList().forEach(p -> added.remove(id(p.getId())));
                change.getCurrentListenersList().forEach(p -> added.remove(id(p.getId())));
            }
            added.remove(name);
            return added.isEmpty() ? null : "a certificate for node " + name + " may not add " + added + " to the controller";
        }
        RaftProtos.RaftRpcRequestProto between = switch (message) {
            case RaftProtos.AppendEntriesRequestProto r -> r.getServerRequest();
            case RaftProtos.RequestVoteRequestProto r -> r.getServerRequest();
            case RaftProtos.InstallSnapshotRequestProto r -> r.getServerRequest();
            case RaftProtos.StartLeaderElectionRequestProto r -> r.getServerRequest();
            case RaftProtos.ReadIndexRequestProto r -> r.getServerRequest();
            default -> null;
        };
        if (between != null && !id(between.getRequestorId()).equals(name)) {
            return "a certificate for node " + name + " may not speak for controller replica " + id(between.getRequestorId());
        }
        return null;
    }

    private static String id(ByteString bytes) {
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
