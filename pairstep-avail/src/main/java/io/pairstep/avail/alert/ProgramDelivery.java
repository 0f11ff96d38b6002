package io.pairstep.avail.alert;

import io.pairstep.avail.config.ActionConfig;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a program for each alert, with the alert's {@link Alert#fields()} in its environment as
 * {@code PAIRSTEP_ALERT_<NAME>} ({@code timeMillis} becomes {@code PAIRSTEP_ALERT_TIME_MILLIS}).
 * The program's output is discarded. A program still running at the time limit is killed, with
 * every process it started; that, and an exit status other than 0, is a failure. Programs are not
 * retried (running one twice may page someone twice), so use {@link RetryPolicy#NONE}.
 */
public final class ProgramDelivery implements Delivery {

    /** The prefix of every environment variable that carries the alert. */
    public static final String ENVIRONMENT_PREFIX = "PAIRSTEP_ALERT_";

    private final ActionConfig.Program config;

    public ProgramDelivery(ActionConfig.Program config) {
        this.config = config;
    }

    @Override
    public void deliver(Alert alert) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(config.path().toString());
        command.addAll(config.args());
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().putAll(environment(alert));
        Process process = builder.start();
        process.getOutputStream().close();
        try {
            if (!process.waitFor(config.timeoutMillis(), TimeUnit.MILLISECONDS)) {
                throw new IOException("killed after its time limit of " + config.timeoutMillis() + " ms");
            }
        } finally {
            if (process.isAlive()) {
                // Find the children while the parent still holds them, but kill the parent first:
                // a parent that outlives its children goes on running its script after them.
                java.util.List<ProcessHandle> children = process.descendants().toList();
                process.destroyForcibly();
                children.forEach(ProcessHandle::destroyForcibly);
            }
        }
        if (process.exitValue() != 0) {
            throw new IOException("exited with status " + process.exitValue());
        }
    }

    /** The environment variables that carry {@code alert}. */
    public static Map<String, String> environment(Alert alert) {
        Map<String, String> environment = new LinkedHashMap<>();
        alert.fields().forEach((name, value) -> environment.put(ENVIRONMENT_PREFIX + upperSnake(name), String.valueOf(value)));
        return environment;
    }

    private static String upperSnake(String camelCase) {
        return camelCase.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toUpperCase(Locale.ROOT);
    }

    @Override
    public String describe() {
        return config.describe();
    }
}
