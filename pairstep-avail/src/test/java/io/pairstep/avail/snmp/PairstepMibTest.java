package io.pairstep.avail.snmp;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.snmp4j.smi.OID;

/**
 * PAIRSTEP-MIB.txt and {@link PairstepMib} say the same thing, and net-snmp accepts the MIB: the
 * trap sender takes its OIDs from the Java class, so a receiver decoding with the MIB sees what was
 * meant.
 */
class PairstepMibTest {

    private static final Pattern ASSIGNMENT = Pattern.compile(
            "^(\\w+)[ \\t]+(?:OBJECT IDENTIFIER|MODULE-IDENTITY|OBJECT-TYPE|NOTIFICATION-TYPE|MODULE-COMPLIANCE|OBJECT-GROUP"
                    + "|NOTIFICATION-GROUP)\\b.*?::=\\s*\\{\\s*(\\w+)\\s+(\\d+)\\s*\\}",
            Pattern.MULTILINE | Pattern.DOTALL);

    @Test
    void theMibTextDefinesExactlyTheOidsOfTheJavaConstants() throws Exception {
        Map<String, OID> fromText = new HashMap<>();
        fromText.put("enterprises", new OID("1.3.6.1.4.1"));
        Matcher matcher = ASSIGNMENT.matcher(mibText());
        while (matcher.find()) {
            OID parent = fromText.get(matcher.group(2));
            assertThat(parent).as("parent of %s is defined before it", matcher.group(1)).isNotNull();
            fromText.put(matcher.group(1), new OID(parent).append(Integer.parseInt(matcher.group(3))));
        }
        fromText.remove("enterprises");

        assertThat(fromText).containsExactlyInAnyOrderEntriesOf(PairstepMib.DEFINITIONS);
    }

    @Test
    void netSnmpParsesTheMibWithoutAComplaint() throws Exception {
        NetSnmp.requireBaseMibs();
        NetSnmp.Result tree = snmptranslate("-Pw", "-Tp", "PAIRSTEP-MIB::pairstepMib");

        assertThat(tree.exitCode()).isZero();
        // -Pw also reports the base modules' macros as "parsed and ignored"; those are not ours.
        assertThat(tree.stderr().lines().filter(line -> !line.contains("MACRO (lines"))).as(tree.stderr()).isEmpty();
        assertThat(tree.stdout()).contains("+--pairstepMib(99277)", "pairstepComponentBroken(1)",
                "Values: up(1), broken(2), removed(3), absent(4)");
    }

    @Test
    void netSnmpTranslatesEveryNameToTheJavaOidAndBack() throws Exception {
        NetSnmp.requireBaseMibs();
        List<String> names = List.copyOf(PairstepMib.DEFINITIONS.keySet());
        List<String> qualified = names.stream().map(name -> "PAIRSTEP-MIB::" + name).toList();

        NetSnmp.Result toOids = snmptranslate(prepend("-On", qualified));
        NetSnmp.Result toNames = snmptranslate(prepend("-OS",
                names.stream().map(name -> "." + PairstepMib.DEFINITIONS.get(name)).toList()));

        assertThat(toOids.stderr()).isEmpty();
        assertThat(lines(toOids)).isEqualTo(names.stream().map(name -> "." + PairstepMib.DEFINITIONS.get(name)).toList());
        assertThat(lines(toNames)).isEqualTo(qualified);
    }

    /** snmptranslate puts a blank line between the answers for several arguments. */
    private static List<String> lines(NetSnmp.Result result) {
        return result.stdout().lines().filter(line -> !line.isBlank()).toList();
    }

    private static NetSnmp.Result snmptranslate(String... arguments) throws Exception {
        return snmptranslate(List.of(arguments));
    }

    private static NetSnmp.Result snmptranslate(List<String> arguments) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(NetSnmp.tool("snmptranslate"),
                "-M", "+" + NetSnmp.mibDirectory(), "-m", "PAIRSTEP-MIB"));
        command.addAll(arguments);
        return NetSnmp.run(command);
    }

    private static List<String> prepend(String first, List<String> rest) {
        List<String> all = new java.util.ArrayList<>(List.of(first));
        all.addAll(rest);
        return all;
    }

    private static String mibText() throws Exception {
        try (var in = PairstepMibTest.class.getResourceAsStream("/mib/PAIRSTEP-MIB.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        }
    }
}
