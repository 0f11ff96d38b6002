package io.pairstep.avail.alert;

import io.pairstep.avail.config.ActionConfig;
import jakarta.mail.Message;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * Mails each alert over SMTP with Angus Mail: the summary as subject, every field on its own line as
 * the body. Connecting, reading and writing each give up after the configured timeout. {@link
 * #check()} connects once at start, so an unreachable server is reported when the configuration is
 * loaded rather than at the first alert.
 */
public final class EmailDelivery implements Delivery {

    private final ActionConfig.Email config;
    private final Session session;

    public EmailDelivery(ActionConfig.Email config) {
        this.config = config;
        Properties properties = new Properties();
        String timeout = Long.toString(config.timeoutMillis());
        properties.put("mail.smtp.host", config.host());
        properties.put("mail.smtp.port", Integer.toString(config.port()));
        properties.put("mail.smtp.connectiontimeout", timeout);
        properties.put("mail.smtp.timeout", timeout);
        properties.put("mail.smtp.writetimeout", timeout);
        properties.put("mail.smtp.auth", Boolean.toString(config.user() != null));
        switch (config.tls()) {
            case STARTTLS -> {
                properties.put("mail.smtp.starttls.enable", "true");
                properties.put("mail.smtp.starttls.required", "true");
            }
            case SSL -> properties.put("mail.smtp.ssl.enable", "true");
            case NONE -> { }
        }
        this.session = Session.getInstance(properties);
    }

    @Override
    public void check() throws MessagingException {
        try (Transport transport = session.getTransport("smtp")) {
            transport.connect(config.host(), config.port(), config.user(), config.password());
        }
    }

    @Override
    public void deliver(Alert alert) throws MessagingException {
        MimeMessage message = new MimeMessage(session);
        message.setFrom(new InternetAddress(config.from()));
        message.setRecipients(Message.RecipientType.TO, String.join(",", config.to()));
        message.setSubject(alert.summary(), "UTF-8");
        message.setText(alert.fields().entrySet().stream()
                .map(field -> field.getKey() + ": " + field.getValue())
                .collect(Collectors.joining("\n", "", "\n")), "UTF-8");
        if (config.user() == null) {
            Transport.send(message);
        } else {
            Transport.send(message, config.user(), config.password());
        }
    }

    @Override
    public String describe() {
        return config.describe();
    }
}
