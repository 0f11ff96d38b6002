package io.pairstep.runtime.controller;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.core.control.ControlCommand;
import org.apache.ratis.proto.RaftProtos;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;

/** What the holder of a node's certificate may ask of a TLS controller: only for the node it names. */
class CertificateNamesTest {

    private static RaftProtos.RaftClientRequestProto write(ControlCommand command) {
        return RaftProtos.RaftClientRequestProto.newBuilder()
                .setMessage(RaftProtos.ClientMessageEntryProto.newBuilder().setContent(ByteString.copyFrom(ControlJson.encodeCommand(command))))
                .setWrite(RaftProtos.WriteRequestTypeProto.getDefaultInstance())
                .build();
    }

    private static RaftProtos.RaftPeerProto peer(String id) {
        return RaftProtos.RaftPeerProto.newBuilder().setId(ByteString.copyFromUtf8(id)).setAddress("127.0.0.1:1").build();
    }

    private static RaftProtos.RaftRpcRequestProto from(String id) {
        return RaftProtos.RaftRpcRequestProto.newBuilder().setRequestorId(ByteString.copyFromUtf8(id)).build();
    }

    @Test
    void aNodeRegistersOnlyUnderTheIdItsCertificateNames() {
        ControlCommand n4 = new ControlCommand.RegisterNode("n4", "127.0.0.1:7141", "127.0.0.1:7142", 1, 99);
        assertThat(CertificateNames.refusal("n4", write(n4))).isNull();
        assertThat(CertificateNames.refusal("client", write(n4))).isEqualTo("a certificate for node client may not register node n4");
        assertThat(CertificateNames.refusal("n3", write(n4))).isEqualTo("a certificate for node n3 may not register node n4");
        // Other commands name no sender: any node may submit them (the admin API runs on every node).
        assertThat(CertificateNames.refusal("n3", write(new ControlCommand.Bootstrap("system")))).isNull();
        // Something that is not a command is the state machine's to refuse.
        RaftProtos.RaftClientRequestProto junk = write(n4).toBuilder()
                .setMessage(RaftProtos.ClientMessageEntryProto.newBuilder().setContent(ByteString.copyFromUtf8("junk"))).build();
        assertThat(CertificateNames.refusal("n3", junk)).isNull();
    }

    @Test
    void aConfigurationChangeMayAddOnlyTheCaller() {
        RaftProtos.SetConfigurationRequestProto joinN4 = RaftProtos.SetConfigurationRequestProto.newBuilder()
                .setMode(RaftProtos.SetConfigurationRequestProto.Mode.COMPARE_AND_SET)
                .addPeers(peer("n1")).addPeers(peer("n2")).addPeers(peer("n3"))
                .addListeners(peer("n5")).addListeners(peer("n4"))
                .addCurrentPeers(peer("n1")).addCurrentPeers(peer("n2")).addCurrentPeers(peer("n3"))
                .addCurrentListeners(peer("n5"))
                .build();
        assertThat(CertificateNames.refusal("n4", joinN4)).isNull();
        assertThat(CertificateNames.refusal("n5", joinN4)).isEqualTo("a certificate for node n5 may not add [n4] to the controller");
        // Without compare-and-set the current lists mean nothing: everything listed counts as added.
        RaftProtos.SetConfigurationRequestProto unconditional = joinN4.toBuilder()
                .setMode(RaftProtos.SetConfigurationRequestProto.Mode.SET_UNCONDITIONALLY).build();
        assertThat(CertificateNames.refusal("n4", unconditional)).startsWith("a certificate for node n4 may not add [");
    }

    @Test
    void raftRequestsBetweenReplicasComeFromTheReplicaTheCertificateNames() {
        RaftProtos.AppendEntriesRequestProto append = RaftProtos.AppendEntriesRequestProto.newBuilder().setServerRequest(from("n1")).build();
        assertThat(CertificateNames.refusal("n1", append)).isNull();
        assertThat(CertificateNames.refusal("n2", append)).isEqualTo("a certificate for node n2 may not speak for controller replica n1");
        RaftProtos.RequestVoteRequestProto vote = RaftProtos.RequestVoteRequestProto.newBuilder().setServerRequest(from("n3")).build();
        assertThat(CertificateNames.refusal("n3", vote)).isNull();
        assertThat(CertificateNames.refusal("client", vote)).contains("may not speak for controller replica n3");
    }
}
