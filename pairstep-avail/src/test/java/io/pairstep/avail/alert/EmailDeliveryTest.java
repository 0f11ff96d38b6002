package io.pairstep.avail.alert;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.icegreen.greenmail.junit5.GreenMailExtension;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import io.pairstep.avail.config.ActionConfig;
import jakarta.mail.Message;
import jakarta.mail.internet.MimeMessage;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

class EmailDeliveryTest {

    @RegisterExtension
    static final GreenMailExtension MAIL =
            new GreenMailExtension(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP).dynamicPort());

    private final Alerts.Problems problems = new Alerts.Problems();

    @Test
    void mailsTheAlertToEveryRecipient() throws Exception {
        ActionConfig.Email config = new ActionConfig.Email("127.0.0.1", MAIL.getSmtp().getPort(), ActionConfig.Tls.NONE,
                "pairstep@example.com", List.of("ops@example.com", "oncall@example.com"), null, null, 5_000);
        ComponentAlert alert = Alerts.nodeBroken("n1-9");

        try (QueuedAction action = new QueuedAction(new EmailDelivery(config), 10, RetryPolicy.backoff(20, 200), problems)) {
            assertThat(Alerts.offerMillis(action, alert)).isLessThan(200);
            await().until(() -> MAIL.getReceivedMessages().length == 2);
        }

        MimeMessage message = MAIL.getReceivedMessages()[0];
        assertThat(message.getSubject()).isEqualTo(alert.summary());
        assertThat(message.getFrom()[0].toString()).isEqualTo("pairstep@example.com");
        assertThat(message.getRecipients(Message.RecipientType.TO)).extracting(Object::toString)
                .containsExactly("ops@example.com", "oncall@example.com");
        assertThat(GreenMailUtil.getBody(message)).contains("componentId: n2", "previousState: up",
                "reason: connection closed; lease expired");
        assertThat(problems.messages()).isEmpty();
    }

    @Test
    void anUnreachableServerIsReportedAtStartAndTheCallerIsNotHeldUp() throws Exception {
        int port = Alerts.closedPort();
        ActionConfig.Email config = new ActionConfig.Email("127.0.0.1", port, ActionConfig.Tls.NONE,
                "pairstep@example.com", List.of("ops@example.com"), null, null, 2_000);

        try (QueuedAction action = new QueuedAction(new EmailDelivery(config), 10, RetryPolicy.backoff(20, 200), problems)) {
            assertThat(Alerts.offerMillis(action, Alerts.nodeBroken("n1-10"))).isLessThan(200);
            await().until(() -> problems.messages().size() >= 2);
            assertThat(action.queued()).as("kept for a retry").isEqualTo(1);
        }

        assertThat(problems.messages().get(0))
                .startsWith("email via smtp 127.0.0.1:" + port + ": not reachable at start: MailConnectException: ")
                .endsWith("(alerts are kept and retried)");
        assertThat(problems.messages().get(1)).startsWith("email via smtp 127.0.0.1:" + port + ": failing: ");
    }
}
