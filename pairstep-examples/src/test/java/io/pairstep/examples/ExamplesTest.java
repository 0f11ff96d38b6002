package io.pairstep.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pairstep.api.Service;
import org.junit.jupiter.api.Test;

class ExamplesTest {

    @Test
    void names() {
        assertThat(Examples.names()).containsExactly("kv", "bank");
        assertThatThrownBy(() -> Examples.names().add("x")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void createsEachExample() {
        assertThat(Examples.create("kv")).isInstanceOf(KvService.class);
        assertThat(Examples.create("bank")).isInstanceOf(BankService.class);
    }

    @Test
    void everyNameCreatesAFreshService() {
        for (String name : Examples.names()) {
            Service one = Examples.create(name);
            Service two = Examples.create(name);
            assertThat(one).isNotSameAs(two);
            assertThat(one.snapshot()).isEqualTo(two.snapshot());
        }
    }

    @Test
    void unknownNameIsRefused() {
        assertThatThrownBy(() -> Examples.create("counter"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown example \"counter\" (known: kv, bank)");
        assertThatThrownBy(() -> Examples.create("KV"))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown example \"KV\" (known: kv, bank)");
    }
}
