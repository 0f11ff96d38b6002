package io.pairstep.runtime.access;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccessTokenTest {

    @TempDir
    Path dir;

    @Test
    void aNodeWithoutATokenMakesOneReadableByItsOwnerOnlyAndKeepsItAcrossRestarts() throws Exception {
        AccessToken first = AccessToken.forNode(dir, null);
        Path file = dir.resolve(AccessToken.FILE_NAME);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(Files.readString(file).strip()).isEqualTo(first.text());
        assertThat(AccessToken.forNode(dir, null)).isEqualTo(first);
        assertThat(AccessToken.generate()).isNotEqualTo(first);
    }

    @Test
    void aNodeGivenTheSystemsTokenCopiesItIntoItsDataDirectory() throws Exception {
        Path systemFile = dir.resolve("system-token");
        AccessToken system = AccessToken.generate();
        system.writeNew(systemFile);
        Path data = Files.createDirectory(dir.resolve("data"));
        assertThat(AccessToken.forNode(data, systemFile)).isEqualTo(system);
        assertThat(AccessToken.read(data.resolve(AccessToken.FILE_NAME))).isEqualTo(system);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(data.resolve(AccessToken.FILE_NAME)))).isEqualTo("rw-------");
        // Restarted with the same file: the same token.
        assertThat(AccessToken.forNode(data, systemFile)).isEqualTo(system);
    }

    @Test
    void aNodeOfOneSystemGivenAnotherSystemsTokenRefusesToStartAndKeepsItsOwn() throws Exception {
        AccessToken own = AccessToken.forNode(dir, null);
        Path other = dir.resolve("other");
        AccessToken.generate().writeNew(other);
        assertThatThrownBy(() -> AccessToken.forNode(dir, other))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is not the token of this node's system");
        assertThat(AccessToken.read(dir.resolve(AccessToken.FILE_NAME))).isEqualTo(own);
    }

    @Test
    void aTokenFileOthersCanReadIsRefusedAndNothingIsWritten() throws Exception {
        Path given = dir.resolve("given");
        Files.writeString(given, AccessToken.generate().text());
        Files.setPosixFilePermissions(given, PosixFilePermissions.fromString("rw-r--r--"));
        Path data = Files.createDirectory(dir.resolve("data"));
        assertThatThrownBy(() -> AccessToken.forNode(data, given))
                .hasMessageContaining("rw-r--r--").hasMessageContaining("chmod 600 " + given);
        assertThat(data.resolve(AccessToken.FILE_NAME)).doesNotExist();
    }

    @Test
    void badTokensAreRefusedWithWhatIsWrong() throws Exception {
        assertThatThrownBy(() -> AccessToken.of("  ", "PAIRSTEP_TOKEN")).hasMessage("PAIRSTEP_TOKEN: the token is empty");
        assertThatThrownBy(() -> AccessToken.of("short", "x")).hasMessageContaining("16 to 512 characters, this one has 5");
        assertThatThrownBy(() -> AccessToken.of("has spaces inside it", "x")).hasMessageContaining("letters, digits");
        assertThatThrownBy(() -> AccessToken.of("0123456789abcdef;", "x")).hasMessageContaining("letters, digits");
        assertThatThrownBy(() -> AccessToken.read(dir.resolve("missing"))).hasMessageContaining("missing: no such file");
        assertThat(AccessToken.of(" 0123456789abcdef\n", "x").text()).isEqualTo("0123456789abcdef");
    }

    @Test
    void aTokenMatchesOnlyItselfAndNeverShowsInItsString() {
        AccessToken token = AccessToken.generate();
        assertThat(token.matches(token.text())).isTrue();
        assertThat(token.matches(token.text() + "x")).isFalse();
        assertThat(token.matches(token.text().substring(1))).isFalse();
        assertThat(token.matches("")).isFalse();
        assertThat(token.matches(null)).isFalse();
        assertThat(token.toString()).doesNotContain(token.text());
    }

    @Test
    void writingNeverReplacesAnExistingToken() throws Exception {
        Path file = dir.resolve("t");
        AccessToken first = AccessToken.generate();
        first.writeNew(file);
        assertThatThrownBy(() -> AccessToken.generate().writeNew(file)).hasMessageContaining("cannot write the token file");
        assertThat(AccessToken.read(file)).isEqualTo(first);
    }
}
