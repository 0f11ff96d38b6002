package io.pairstep.runtime.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FsyncPolicyTest {

    @Test
    void parsesTheConfigurationSpellings() {
        assertThat(FsyncPolicy.parse("always")).isEqualTo(FsyncPolicy.ALWAYS);
        assertThat(FsyncPolicy.parse("interval")).isEqualTo(FsyncPolicy.INTERVAL);
        assertThat(FsyncPolicy.parse("none")).isEqualTo(FsyncPolicy.NONE);
        assertThat(FsyncPolicy.parse(" Always ")).isEqualTo(FsyncPolicy.ALWAYS);
    }

    @Test
    void rejectsAnythingElseWithTheAllowedValues() {
        assertThatThrownBy(() -> FsyncPolicy.parse("sometimes"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sometimes")
                .hasMessageContaining("always, interval, none");
        assertThatThrownBy(() -> FsyncPolicy.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
