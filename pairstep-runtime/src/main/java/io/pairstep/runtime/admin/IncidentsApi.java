package io.pairstep.runtime.admin;

import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.control.ControlResult;
import io.pairstep.core.control.ControllerState;
import io.pairstep.core.control.Incident;
import io.pairstep.core.control.IncidentState;
import io.pairstep.core.control.Incidents;
import io.pairstep.runtime.incidents.IncidentJson;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;

/**
 * The incidents of the admin API, answered by any node from its controller state: {@code GET
 * /v1/incidents} (optionally {@code ?state=open,acknowledged}), {@code GET /v1/incidents/{id}} and
 * {@code POST /v1/incidents/{id}/ack}, which goes through the controller like every change.
 */
public final class IncidentsApi {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long COMMIT_TIMEOUT_SECONDS = 15;
    /** How long an acknowledgement waits for this node's copy of the state to show it. */
    private static final long APPLIED_WAIT_MILLIS = 2_000;

    private final Supplier<ControllerState> state;
    private final BooleanSupplier ready;
    private final Function<ControlCommand, CompletableFuture<ControlResult>> propose;
    private final LongSupplier clockMillis;

    public IncidentsApi(Supplier<ControllerState> state, BooleanSupplier ready,
            Function<ControlCommand, CompletableFuture<ControlResult>> propose, LongSupplier clockMillis) {
        this.state = Objects.requireNonNull(state, "state");
        this.ready = Objects.requireNonNull(ready, "ready");
        this.propose = Objects.requireNonNull(propose, "propose");
        this.clockMillis = Objects.requireNonNull(clockMillis, "clockMillis");
    }

    public void install(JavalinConfig config) {
        config.routes.get("/v1/incidents", this::list);
        config.routes.get("/v1/incidents/{id}", this::one);
        config.routes.post("/v1/incidents/{id}/ack", this::acknowledge);
    }

    private void list(Context ctx) {
        Set<IncidentState> states = EnumSet.allOf(IncidentState.class);
        String filter = ctx.queryParam("state");
        if (filter != null && !filter.isBlank()) {
            states.clear();
            for (String part : filter.split(",")) {
                IncidentState parsed = IncidentState.parse(part.strip());
                if (parsed == null) {
                    AdminApi.error(ctx, 400, "BAD_REQUEST", "state must be open, acknowledged or resolved (or several, comma-separated); was \""
                            + part.strip() + "\"");
                    return;
                }
                states.add(parsed);
            }
        }
        if (!requireReady(ctx)) {
            return;
        }
        List<Incident> selected = new ArrayList<>();
        for (Incident incident : state.get().incidents().all().values()) {
            if (states.contains(incident.state())) {
                selected.add(incident);
            }
        }
        ctx.contentType("application/json").result(IncidentJson.json(selected));
    }

    private void one(Context ctx) {
        Incident incident = find(ctx);
        if (incident != null) {
            ctx.contentType("application/json").result(IncidentJson.json(incident));
        }
    }

    /**
     * Acknowledges; the body may be empty or {@code {"by":"who"}}. Answers the incident once this
     * node's copy of the state shows the acknowledgement (202 with the incident as it was, if that
     * takes longer than {@link #APPLIED_WAIT_MILLIS}).
     */
    private void acknowledge(Context ctx) throws InterruptedException {
        String origin = ctx.header("Origin");
        if (origin != null && !io.pairstep.runtime.access.AccessControl.sameOrigin(origin, ctx.header("Host"))) {
            AdminApi.error(ctx, 403, "FORBIDDEN", "a page from " + origin + " may not acknowledge incidents; use the console or the API directly");
            return;
        }
        String by = by(ctx);
        if (by == null) {
            return;
        }
        Incident incident = find(ctx);
        if (incident == null) {
            return;
        }
        if (incident.resolved()) {
            // Refused here without a controller entry; the controller refuses it too if it resolved meanwhile.
            AdminApi.error(ctx, 409, "RESOLVED", "incident " + incident.id() + " is resolved already");
            return;
        }
        ControlResult result;
        try {
            result = propose.apply(new ControlCommand.AcknowledgeIncident(incident.id(), by, clockMillis.getAsLong()))
                    .get(COMMIT_TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            AdminApi.error(ctx, 503, "UNAVAILABLE", "the controller did not take the acknowledgement: " + e.getMessage());
            return;
        }
        if (!result.accepted()) {
            AdminApi.error(ctx, 409, code(result), result.reason());
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(APPLIED_WAIT_MILLIS);
        Incident now = state.get().incidents().all().get(incident.id());
        while ((now == null || now.state() == IncidentState.OPEN) && System.nanoTime() < deadline) {
            Thread.sleep(10);
            now = state.get().incidents().all().get(incident.id());
        }
        boolean applied = now != null && now.state() != IncidentState.OPEN;
        ctx.status(applied ? 200 : 202).contentType("application/json").result(IncidentJson.json(applied ? now : incident));
    }

    /** RESOLVED for an incident that healed meanwhile, CONFLICT for anything else the controller refused. */
    private static String code(ControlResult result) {
        return result.reason().endsWith("is resolved already") ? "RESOLVED" : "CONFLICT";
    }

    /** Who acknowledges, from an empty body or {@code {"by": ...}}; null once a bad body was answered. */
    private static String by(Context ctx) {
        String body = ctx.body();
        if (body.isBlank()) {
            return "";
        }
        try {
            JsonNode json = JSON.readTree(body);
            JsonNode who = json == null || !json.isObject() ? null : json.get("by");
            if (json == null || !json.isObject() || (who != null && !who.isNull() && !who.isString())) {
                AdminApi.error(ctx, 400, "BAD_REQUEST", "the body must be empty or a JSON object {\"by\": \"who acknowledges\"}");
                return null;
            }
            String text = who == null || who.isNull() ? "" : who.stringValue();
            if (text.length() > Incidents.TEXT_CHARS_MAX) {
                AdminApi.error(ctx, 400, "BAD_REQUEST", "\"by\" must be at most " + Incidents.TEXT_CHARS_MAX + " characters");
                return null;
            }
            return text;
        } catch (JacksonException e) {
            AdminApi.error(ctx, 400, "BAD_REQUEST", "the body is not JSON: " + e.getOriginalMessage());
            return null;
        }
    }

    /** The incident the path names, or null once the request was answered with why there is none. */
    private Incident find(Context ctx) {
        String text = ctx.pathParam("id").strip();
        long id = text.matches("[0-9]{1,18}") ? Long.parseLong(text) : -1;
        if (id < 0) {
            AdminApi.error(ctx, 404, "UNKNOWN_INCIDENT", "unknown incident " + text + " (incident ids are numbers)");
            return null;
        }
        if (!requireReady(ctx)) {
            return null;
        }
        Incident incident = state.get().incidents().all().get(id);
        if (incident == null) {
            AdminApi.error(ctx, 404, "UNKNOWN_INCIDENT", "unknown incident " + id + " (resolved incidents are kept only while they are among the latest "
                    + Incidents.RESOLVED_KEPT_MAX + ")");
        }
        return incident;
    }

    private boolean requireReady(Context ctx) {
        if (ready.getAsBoolean()) {
            return true;
        }
        AdminApi.error(ctx, 503, "UNAVAILABLE", "this node is still joining the system; ask another node");
        return false;
    }

}
