package io.pairstep.cli;

import io.pairstep.runtime.access.AccessToken;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code pairstep certs --dir DIR}: a self-signed certificate authority for one local system, and a
 * certificate signed by it for every node and for clients, as PEM files in {@code DIR/certs}. What
 * exists already is kept, so running it again with more nodes adds only their certificates.
 */
@Command(name = "certs", mixinStandardHelpOptions = true,
        description = {"Makes a self-signed CA and certificates signed by it for a local system's TLS, in DIR/certs:",
                "ca.pem, ca.key, then ID.pem and ID.key for each node (n1..nN) and for 'client'. Keys are owner-only.",
                "Files that exist are kept: a second run with more --nodes adds their certificates, signed by the same CA.",
                "A node's certificate names it (CN=ID) and is valid for localhost, 127.0.0.1 and every --host;",
                "the client's is valid for client authentication only, so it cannot take part in the controller.",
                "--renew issues the node and client certificates again, with new keys, signed by the same CA;",
                "nodes take theirs when they next start: `pairstep rolling-restart` rotates them with no downtime."})
public final class CertsCommand implements Callable<Integer> {

    /** Where the files go, under the system's directory. */
    static final String DIRECTORY = "certs";
    static final String CA = "ca";
    static final String CLIENT = "client";
    private static final Duration CA_VALIDITY = Duration.ofDays(3650);
    private static final Duration LEAF_VALIDITY = Duration.ofDays(825);
    private static final String SIGNATURE = "SHA256withECDSA";
    private static final Pattern DNS_NAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*");

    @Option(names = "--dir", required = true, paramLabel = "DIR", description = "The system's directory; files go to DIR/certs.")
    Path dir;

    @Option(names = "--nodes", paramLabel = "N", defaultValue = "3", description = "Certificates for nodes n1..nN (default: ${DEFAULT-VALUE}).")
    int nodes;

    @Option(names = "--host", paramLabel = "HOST", split = ",",
            description = "More host names or IP addresses the node certificates are valid for (besides localhost and 127.0.0.1).")
    List<String> hosts = new ArrayList<>();

    @Option(names = "--renew", description = "Issue the certificates of nodes n1..nN and the client again, with new keys, signed by"
            + " the existing CA (ca.pem and ca.key must be there); the old files are replaced.")
    boolean renew;

    @Spec
    CommandSpec spec;

    /** The files of one certificate: the certificate and its private key. */
    record CertificateFiles(Path certificate, Path key) {}

    static Path directory(Path systemDirectory) {
        return systemDirectory.resolve(DIRECTORY);
    }

    static CertificateFiles files(Path systemDirectory, String name) {
        Path certs = directory(systemDirectory);
        return new CertificateFiles(certs.resolve(name + ".pem"), certs.resolve(name + ".key"));
    }

    @Override
    public Integer call() {
        if (nodes < 1 || nodes > ClusterStartCommand.MAX_NODES) {
            throw new CliException("--nodes must be between 1 and " + ClusterStartCommand.MAX_NODES + ", got " + nodes, ExitCodes.USAGE);
        }
        Set<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1"));
        for (String host : hosts) {
            String h = host.strip();
            if (!isAddress(h) && !DNS_NAME.matcher(h).matches()) {
                throw new CliException("--host: '" + host + "' is neither an IP address nor a host name", ExitCodes.USAGE);
            }
            names.add(h);
        }
        List<String> ids = new ArrayList<>();
        for (int i = 1; i <= nodes; i++) {
            ids.add("n" + i);
        }
        PrintWriter out = spec.commandLine().getOut();
        for (Path made : make(dir.toAbsolutePath().normalize(), ids, names, renew)) {
            out.println("wrote " + made);
        }
        out.flush();
        return ExitCodes.OK;
    }

    /**
     * Makes what is missing of the CA and of the certificates of {@code ids} and the client; returns
     * the files written. Refuses a directory whose CA certificate lacks its key, or the reverse.
     */
    static List<Path> make(Path systemDirectory, List<String> ids, Set<String> names) {
        return make(systemDirectory, ids, names, false);
    }

    /**
     * As {@link #make(Path, List, Set)}; with {@code renew}, the certificates of {@code ids} and the
     * client are issued again (new keys, same CA) even where they exist, and a missing CA is refused.
     */
    static List<Path> make(Path systemDirectory, List<String> ids, Set<String> names, boolean renew) {
        List<Path> written = new ArrayList<>();
        try {
            Files.createDirectories(directory(systemDirectory));
            CertificateFiles ca = files(systemDirectory, CA);
            X509Certificate caCertificate;
            PrivateKey caKey;
            if (Files.exists(ca.certificate()) != Files.exists(ca.key())) {
                throw new CliException(directory(systemDirectory) + " holds only one of ca.pem and ca.key; restore the other or remove both");
            }
            if (renew && !Files.exists(ca.certificate())) {
                throw new CliException("--renew: " + directory(systemDirectory) + " holds no CA (ca.pem and ca.key) to sign new certificates"
                        + " with; without --renew, `pairstep certs` makes one");
            }
            if (Files.exists(ca.certificate())) {
                caCertificate = readCertificate(ca.certificate());
                caKey = readKey(ca.key());
            } else {
                KeyPair pair = keyPair();
                X500Name subject = new X500Name("CN=Pairstep CA " + systemDirectory.getFileName());
                caCertificate = sign(new JcaX509v3CertificateBuilder(subject, serial(), now(), until(CA_VALIDITY), subject, pair.getPublic())
                        .addExtension(Extension.basicConstraints, true, new BasicConstraints(0))
                        .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                        .addExtension(Extension.subjectKeyIdentifier, false, new JcaX509ExtensionUtils().createSubjectKeyIdentifier(pair.getPublic())),
                        pair.getPrivate());
                caKey = pair.getPrivate();
                write(ca, caCertificate, caKey, written);
            }
            List<String> all = new ArrayList<>(ids);
            all.add(CLIENT);
            for (String id : all) {
                CertificateFiles leaf = files(systemDirectory, id);
                if (!renew && Files.exists(leaf.certificate()) && Files.exists(leaf.key())) {
                    continue;
                }
                KeyPair pair = keyPair();
                List<GeneralName> alternatives = new ArrayList<>();
                for (String name : names) {
                    alternatives.add(isAddress(name) ? new GeneralName(GeneralName.iPAddress, name) : new GeneralName(GeneralName.dNSName, name));
                }
                if (!id.equals(CLIENT)) {
                    alternatives.add(new GeneralName(GeneralName.dNSName, id));
                }
                X509Certificate certificate = sign(new JcaX509v3CertificateBuilder(caCertificate, serial(), now(), until(LEAF_VALIDITY),
                        new X500Name("CN=" + id), pair.getPublic())
                        .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                        .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
                        // Nodes are servers to those that connect to them and clients of the others: both purposes.
                        // The client's certificate is for clients only, which is how the controller tells it
                        // from a node's and keeps it out.
                        .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(id.equals(CLIENT)
                                ? new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth}
                                : new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}))
                        .addExtension(Extension.subjectAlternativeName, false, new GeneralNames(alternatives.toArray(GeneralName[]::new)))
                        .addExtension(Extension.authorityKeyIdentifier, false, new JcaX509ExtensionUtils().createAuthorityKeyIdentifier(caCertificate)),
                        caKey);
                write(leaf, certificate, pair.getPrivate(), written);
            }
            return written;
        } catch (IOException | UncheckedIOException e) {
            throw new CliException("cannot write certificates in " + directory(systemDirectory) + ": " + ApiClient.describe(e));
        } catch (GeneralSecurityException | OperatorCreationException e) {
            throw new CliException("cannot make certificates: " + e.getMessage());
        }
    }

    private static boolean isAddress(String host) {
        // Only literal addresses: InetAddress would resolve a name through DNS.
        if (!host.matches("[0-9.]+") && !host.contains(":")) {
            return false;
        }
        try {
            InetAddress.getByName(host);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static KeyPair keyPair() throws GeneralSecurityException {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
        return generator.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(127, new SecureRandom()).add(BigInteger.ONE);
    }

    private static Date now() {
        // A minute back, so that a clock a little behind on another machine accepts it at once.
        return Date.from(Instant.now().minusSeconds(60));
    }

    private static Date until(Duration validity) {
        return Date.from(Instant.now().plus(validity));
    }

    private static X509Certificate sign(X509v3CertificateBuilder builder, PrivateKey signer)
            throws OperatorCreationException, GeneralSecurityException {
        X509CertificateHolder holder = builder.build(new JcaContentSignerBuilder(SIGNATURE).build(signer));
        return new JcaX509CertificateConverter().getCertificate(holder);
    }

    /** The certificate as PEM (readable by all), the key as PKCS#8 PEM, owner-only, which Netty reads as it is. */
    private static void write(CertificateFiles files, X509Certificate certificate, PrivateKey key, List<Path> written)
            throws IOException, GeneralSecurityException {
        // Each file is written beside its place and moved there in one step: a node starting meanwhile
        // reads either the old file or the new one, never half of one.
        Path newKey = files.key().resolveSibling(files.key().getFileName() + ".new");
        Files.deleteIfExists(newKey);
        Files.createFile(newKey, PosixFilePermissions.asFileAttribute(AccessToken.OWNER_ONLY));
        Files.writeString(newKey, pem("PRIVATE KEY", key.getEncoded()), StandardCharsets.US_ASCII);
        Path newCertificate = files.certificate().resolveSibling(files.certificate().getFileName() + ".new");
        Files.writeString(newCertificate, pem("CERTIFICATE", certificate.getEncoded()), StandardCharsets.US_ASCII);
        Files.move(newKey, files.key(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        Files.move(newCertificate, files.certificate(), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        written.add(files.certificate());
        written.add(files.key());
    }

    private static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static byte[] der(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        return Base64.getMimeDecoder().decode(text.replaceAll("-----[A-Z ]+-----", ""));
    }

    static X509Certificate readCertificate(Path file) throws IOException, GeneralSecurityException {
        return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(Files.newInputStream(file));
    }

    private static PrivateKey readKey(Path file) throws IOException, GeneralSecurityException {
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(der(file)));
    }
}
