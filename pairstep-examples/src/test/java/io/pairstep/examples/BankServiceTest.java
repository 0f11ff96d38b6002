package io.pairstep.examples;

import static io.pairstep.examples.Commands.refused;
import static io.pairstep.examples.Commands.run;
import static io.pairstep.examples.Commands.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.pairstep.api.ApplicationException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BankServiceTest {

    private BankService bank;

    @BeforeEach
    void setUp() {
        bank = new BankService();
    }

    private void open(String account, long balance) {
        assertThat(run(bank, "{\"op\":\"open\",\"account\":\"" + account + "\",\"balance\":" + balance + "}"))
                .isEqualTo("{\"ok\":true}");
    }

    private static String transfer(String from, String to, long amount) {
        return "{\"op\":\"transfer\",\"from\":\"" + from + "\",\"to\":\"" + to + "\",\"amount\":" + amount + "}";
    }

    private void assertRefused(String command, String message) {
        ApplicationException e = refused(bank, command);
        assertThat(e).isExactlyInstanceOf(ApplicationException.class);
        assertThat(e.getMessage()).isEqualTo(message);
    }

    @Test
    void openAndBalance() {
        open("alice", 100);
        open("bob", 0);
        assertThat(run(bank, "{\"op\":\"balance\",\"account\":\"alice\"}")).isEqualTo("{\"balance\":100}");
        assertThat(run(bank, "{\"op\":\"balance\",\"account\":\"bob\"}")).isEqualTo("{\"balance\":0}");
    }

    @Test
    void openExistingAccountIsRefused() {
        open("alice", 100);
        assertRefused("{\"op\":\"open\",\"account\":\"alice\",\"balance\":5}", "account alice already exists");
        assertThat(run(bank, "{\"op\":\"balance\",\"account\":\"alice\"}")).isEqualTo("{\"balance\":100}");
    }

    @Test
    void openWithNegativeBalanceIsRefused() {
        assertRefused("{\"op\":\"open\",\"account\":\"alice\",\"balance\":-1}", "balance must not be negative");
        assertThat(run(bank, "{\"op\":\"total\"}")).isEqualTo("{\"total\":0,\"accounts\":0}");
    }

    @Test
    void openThatWouldOverflowTheTotalIsRefused() {
        open("alice", Long.MAX_VALUE);
        assertRefused("{\"op\":\"open\",\"account\":\"bob\",\"balance\":1}",
                "total of all balances would overflow a long");
        open("bob", 0);
        assertThat(run(bank, "{\"op\":\"total\"}")).isEqualTo("{\"total\":9223372036854775807,\"accounts\":2}");
        assertThat(run(bank, transfer("alice", "bob", Long.MAX_VALUE))).isEqualTo("{\"ok\":true}");
        assertThat(run(bank, "{\"op\":\"balance\",\"account\":\"bob\"}"))
                .isEqualTo("{\"balance\":9223372036854775807}");
    }

    @Test
    void transferMovesMoney() {
        open("alice", 100);
        open("bob", 5);
        assertThat(run(bank, transfer("alice", "bob", 30))).isEqualTo("{\"ok\":true}");
        assertThat(run(bank, "{\"op\":\"balance\",\"account\":\"alice\"}")).isEqualTo("{\"balance\":70}");
        assertThat(run(bank, "{\"op\":\"balance\",\"account\":\"bob\"}")).isEqualTo("{\"balance\":35}");
    }

    @Test
    void transferOfWholeBalanceIsAllowed() {
        open("alice", 100);
        open("bob", 0);
        assertThat(run(bank, transfer("alice", "bob", 100))).isEqualTo("{\"ok\":true}");
        assertThat(run(bank, "{\"op\":\"balance\",\"account\":\"alice\"}")).isEqualTo("{\"balance\":0}");
    }

    @Test
    void transferBeyondBalanceIsInsufficientFunds() {
        open("alice", 100);
        open("bob", 0);
        assertRefused(transfer("alice", "bob", 101), "insufficient funds");
        assertRefused(transfer("bob", "alice", 1), "insufficient funds");
        assertThat(text(bank.snapshot())).isEqualTo("{\"accounts\":{\"alice\":100,\"bob\":0}}");
    }

    @Test
    void transferWithUnknownAccountIsRefused() {
        open("alice", 100);
        assertRefused(transfer("carol", "alice", 1), "unknown account carol");
        assertRefused(transfer("alice", "dave", 1), "unknown account dave");
        assertRefused(transfer("carol", "dave", 1), "unknown account carol");
    }

    @ParameterizedTest
    @ValueSource(longs = {0, -1, Long.MIN_VALUE})
    void transferAmountMustBePositive(long amount) {
        open("alice", 100);
        open("bob", 0);
        assertRefused(transfer("alice", "bob", amount), "amount must be positive");
    }

    @Test
    void transferToSameAccountIsRefused() {
        open("alice", 100);
        assertRefused(transfer("alice", "alice", 1), "cannot transfer from an account to itself");
    }

    @Test
    void balanceOfUnknownAccountIsRefused() {
        assertRefused("{\"op\":\"balance\",\"account\":\"zed\"}", "unknown account zed");
    }

    @Test
    void total() {
        assertThat(run(bank, "{\"op\":\"total\"}")).isEqualTo("{\"total\":0,\"accounts\":0}");
        open("alice", 100);
        open("bob", 23);
        run(bank, transfer("alice", "bob", 50));
        assertThat(run(bank, "{\"op\":\"total\"}")).isEqualTo("{\"total\":123,\"accounts\":2}");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "{\"op\":\"open\",\"balance\":1}|missing field \"account\"",
                "{\"op\":\"open\",\"account\":\"x\"}|missing field \"balance\"",
                "{\"op\":\"open\",\"account\":7,\"balance\":1}|field \"account\" must be a string",
                "{\"op\":\"open\",\"account\":\"x\",\"balance\":\"1\"}|field \"balance\" must be an integer (long)",
                "{\"op\":\"open\",\"account\":\"x\",\"balance\":1.5}|field \"balance\" must be an integer (long)",
                "{\"op\":\"open\",\"account\":\"x\",\"balance\":1.0}|field \"balance\" must be an integer (long)",
                "{\"op\":\"open\",\"account\":\"x\",\"balance\":null}|field \"balance\" must be an integer (long)",
                "{\"op\":\"open\",\"account\":\"x\",\"balance\":99999999999999999999}|field \"balance\" must be an integer (long)",
                "{\"op\":\"transfer\",\"to\":\"bob\",\"amount\":1}|missing field \"from\"",
                "{\"op\":\"transfer\",\"from\":\"alice\",\"amount\":1}|missing field \"to\"",
                "{\"op\":\"transfer\",\"from\":\"alice\",\"to\":\"bob\"}|missing field \"amount\"",
                "{\"op\":\"transfer\",\"from\":[],\"to\":\"bob\",\"amount\":1}|field \"from\" must be a string",
                "{\"op\":\"transfer\",\"from\":\"alice\",\"to\":false,\"amount\":1}|field \"to\" must be a string",
                "{\"op\":\"transfer\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":\"1\"}|field \"amount\" must be an integer (long)",
                "{\"op\":\"transfer\",\"from\":\"alice\",\"to\":\"bob\",\"amount\":0.5}|field \"amount\" must be an integer (long)",
                "{\"op\":\"balance\"}|missing field \"account\"",
                "{\"op\":\"balance\",\"account\":{}}|field \"account\" must be a string",
                "{\"op\":\"withdraw\",\"account\":\"alice\"}|unknown op \"withdraw\"",
                "{\"op\":\"get\",\"key\":\"alice\"}|unknown op \"get\""
            })
    void malformedBankCommands(String commandAndMessage) {
        String[] parts = commandAndMessage.split("\\|", 2);
        open("alice", 100);
        open("bob", 0);
        ApplicationException e = refused(bank, parts[0]);
        assertThat(e).isExactlyInstanceOf(MalformedCommandException.class);
        assertThat(e.getMessage()).isEqualTo(parts[1]);
    }
}
