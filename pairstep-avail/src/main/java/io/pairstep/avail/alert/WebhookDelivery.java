package io.pairstep.avail.alert;

import io.pairstep.avail.config.ActionConfig;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import tools.jackson.databind.json.JsonMapper;

/**
 * POSTs each alert as a JSON object of its {@link Alert#fields()} to a URL, with the JDK's HTTP
 * client. Any answer but 2xx, a refused connection or a timeout is a failure, which {@link
 * QueuedAction} retries; so a receiver may see an alert twice (when its answer was lost) and should
 * drop repeats by {@code id}.
 */
public final class WebhookDelivery implements Delivery {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final ActionConfig.Webhook config;
    private final HttpClient client;

    public WebhookDelivery(ActionConfig.Webhook config) {
        this.config = config;
        this.client = HttpClient.newBuilder()
                .connectTimeout(Duration.ofMillis(config.timeoutMillis()))
                .version(HttpClient.Version.HTTP_1_1)
                .build();
    }

    @Override
    public void deliver(Alert alert) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(config.url())
                .timeout(Duration.ofMillis(config.timeoutMillis()))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(alert.fields())))
                .build();
        HttpResponse<Void> response = client.send(request, HttpResponse.BodyHandlers.discarding());
        if (response.statusCode() / 100 != 2) {
            throw new IOException("HTTP " + response.statusCode() + " from " + config.url());
        }
    }

    @Override
    public String describe() {
        return config.describe();
    }

    @Override
    public void close() {
        client.close();
    }
}
