package io.pairstep.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.client.TlsFiles;
import io.pairstep.runtime.controller.CertificateNames;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertsCommandTest {

    @TempDir
    Path dir;

    private X509Certificate certificate(String name) throws Exception {
        return CertsCommand.readCertificate(CertsCommand.files(dir, name).certificate());
    }

    @Test
    void makesACaAndNodeAndClientCertificatesSignedByItWithOwnerOnlyKeys() throws Exception {
        Cli run = Cli.run("certs", "--dir", dir.toString(), "--nodes", "2", "--host", "10.0.0.7,db.example.com");
        assertThat(run.exit()).as(run.err()).isZero();
        X509Certificate ca = certificate("ca");
        assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        for (String name : List.of("ca", "n1", "n2", "client")) {
            CertsCommand.CertificateFiles files = CertsCommand.files(dir, name);
            assertThat(run.out()).contains("wrote " + files.certificate(), "wrote " + files.key());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.key()))).as(name).isEqualTo("rw-------");
            X509Certificate certificate = certificate(name);
            certificate.verify(ca.getPublicKey());
            certificate.checkValidity();
        }
        X509Certificate n1 = certificate("n1");
        assertThat(n1.getSubjectX500Principal().getName()).isEqualTo("CN=n1");
        assertThat(n1.getBasicConstraints()).isEqualTo(-1);
        assertThat(n1.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(n1.getSubjectAlternativeNames()).extracting(name -> String.valueOf(name.get(1)))
                .containsExactlyInAnyOrder("localhost", "127.0.0.1", "10.0.0.7", "db.example.com", "n1");
        // The client's certificate is for client authentication only: the controller tells it from a node's by that.
        X509Certificate client = certificate("client");
        assertThat(client.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(CertificateNames.nodeCertificateRefusal(n1)).isNull();
        assertThat(CertificateNames.commonName(n1)).isEqualTo("n1");
        assertThat(CertificateNames.nodeCertificateRefusal(client)).contains("CN=client").contains("not a node's");
        // Netty takes them as they are, for both ends of a connection.
        TlsFiles files = new TlsFiles(CertsCommand.files(dir, "n1").certificate(), CertsCommand.files(dir, "n1").key(),
                CertsCommand.files(dir, "ca").certificate());
        assertThat(files.serverContext().isServer()).isTrue();
        assertThat(files.clientContext().isClient()).isTrue();
    }

    @Test
    void aSecondRunKeepsWhatExistsAndSignsNewNodesWithTheSameCa() throws Exception {
        CertsCommand.make(dir, List.of("n1"), Set.of("localhost"));
        byte[] caBefore = Files.readAllBytes(CertsCommand.files(dir, "ca").certificate());
        byte[] n1Before = Files.readAllBytes(CertsCommand.files(dir, "n1").key());
        List<Path> written = CertsCommand.make(dir, List.of("n1", "n2"), Set.of("localhost"));
        assertThat(written).containsExactly(CertsCommand.files(dir, "n2").certificate(), CertsCommand.files(dir, "n2").key());
        assertThat(Files.readAllBytes(CertsCommand.files(dir, "ca").certificate())).isEqualTo(caBefore);
        assertThat(Files.readAllBytes(CertsCommand.files(dir, "n1").key())).isEqualTo(n1Before);
        certificate("n2").verify(certificate("ca").getPublicKey());
    }

    @Test
    void renewIssuesEveryLeafAgainWithNewKeysSignedByTheSameCa() throws Exception {
        assertThat(Cli.run("certs", "--dir", dir.toString(), "--nodes", "2").exit()).isZero();
        byte[] caBefore = Files.readAllBytes(CertsCommand.files(dir, "ca").certificate());
        X509Certificate n1Before = certificate("n1");

        Cli run = Cli.run("certs", "--dir", dir.toString(), "--nodes", "2", "--renew");
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(Files.readAllBytes(CertsCommand.files(dir, "ca").certificate())).as("the same CA").isEqualTo(caBefore);
        for (String name : List.of("n1", "n2", "client")) {
            CertsCommand.CertificateFiles files = CertsCommand.files(dir, name);
            assertThat(run.out()).contains("wrote " + files.certificate(), "wrote " + files.key());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(files.key()))).as(name).isEqualTo("rw-------");
            certificate(name).verify(certificate("ca").getPublicKey());
        }
        X509Certificate n1 = certificate("n1");
        assertThat(n1.getSerialNumber()).isNotEqualTo(n1Before.getSerialNumber());
        assertThat(n1.getPublicKey()).as("a new key").isNotEqualTo(n1Before.getPublicKey());
        assertThat(n1.getSubjectX500Principal()).isEqualTo(n1Before.getSubjectX500Principal());
        TlsFiles files = new TlsFiles(CertsCommand.files(dir, "n1").certificate(), CertsCommand.files(dir, "n1").key(),
                CertsCommand.files(dir, "ca").certificate());
        assertThat(files.serverContext().isServer()).as("the new key matches the new certificate").isTrue();
        try (var left = Files.list(CertsCommand.directory(dir))) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".new"));
        }
    }

    @Test
    void renewWithoutACaIsRefusedAndWritesNothing() {
        Cli run = Cli.run("certs", "--dir", dir.toString(), "--renew");
        assertThat(run.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(run.err()).contains("--renew").contains("holds no CA");
        assertThat(Files.exists(CertsCommand.files(dir, "n1").certificate())).isFalse();
    }

    @Test
    void badOptionsAndAHalfCaAreRefusedAndWriteNothing() throws Exception {
        Cli badHost = Cli.run("certs", "--dir", dir.toString(), "--host", "not a host");
        assertThat(badHost.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(badHost.err()).contains("'not a host' is neither an IP address nor a host name");
        Cli badNodes = Cli.run("certs", "--dir", dir.toString(), "--nodes", "0");
        assertThat(badNodes.exit()).isEqualTo(ExitCodes.USAGE);
        assertThat(Files.exists(CertsCommand.directory(dir))).isFalse();

        Files.createDirectories(CertsCommand.directory(dir));
        Files.writeString(CertsCommand.files(dir, "ca").certificate(), "x");
        Cli half = Cli.run("certs", "--dir", dir.toString());
        assertThat(half.exit()).isEqualTo(ExitCodes.ERROR);
        assertThat(half.err()).contains("only one of ca.pem and ca.key");
        assertThat(Files.exists(CertsCommand.files(dir, "n1").certificate())).isFalse();
    }
}
