package io.pairstep.client;

import io.pairstep.core.GroupId;
import io.pairstep.core.replica.Reply;
import io.pairstep.core.wire.Frame;
import io.pairstep.core.wire.Partitioner;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One call, from routing to its final answer, through any number of attempts. Every attempt of a
 * call sends the same (session, sequence), so the servers run the command at most once however
 * often it is retried.
 *
 * <p>Steps run one after another (never two at once), on event-loop or scheduler threads, handed
 * over through the connection's pending map or the scheduler, which order memory. Only the
 * deadline guard may run concurrently; {@link #finished} settles the race.
 */
final class Call implements NodeConnection.Pending {

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Call.class);

    /**
     * How many fresh routing tables in a row must lack a service before a call fails as unknown; the
     * retries between them back off from {@link #BACKOFF_INITIAL_NANOS}, so the verdict takes a few ms.
     */
    static final int UNKNOWN_SERVICE_ANSWERS = 3;

    /** First retry delay. */
    static final long BACKOFF_INITIAL_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    /** A watch answered after this long was held by its node (it saw no takeover), not refused at once. */
    static final long WATCH_HELD_NANOS = TimeUnit.MILLISECONDS.toNanos(PairstepClient.WATCH_WAIT_MILLIS / 2);
    /** Largest retry delay; the delay doubles from the first up to this one. */
    static final long BACKOFF_MAX_NANOS = TimeUnit.MILLISECONDS.toNanos(25);
    /**
     * A call that has waited this long on a primary that is still the primary is queued behind an
     * overload, not caught in a takeover (those end within a second): from then on it checks on its
     * attempt every quarter of the time it has waited, at most every {@link #PATIENT_CHECK_MAX_NANOS}.
     */
    static final long PATIENT_AFTER_NANOS = TimeUnit.SECONDS.toNanos(2);
    static final long PATIENT_CHECK_MAX_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final PairstepClient client;
    private final String service;
    private final String key;
    private final byte[] command;
    private final long startNanos;
    private final long deadlineNanos;
    final CompletableFuture<byte[]> future = new CompletableFuture<>();
    private final AtomicBoolean finished = new AtomicBoolean();

    /** Pooled session, or null for an explicit one. */
    private SessionPool.Session session;
    private final boolean explicitSession;
    private long sessionId;
    private long sequence;
    private GroupId group;

    private long backoffNanos = BACKOFF_INITIAL_NANOS;
    /** Fresh routing tables that lacked the service so far. */
    private int unknownAnswers;
    /** The node named by a NotPrimary hint, for the next attempt only. */
    private String hintedNode;
    private String lastFailure = "no attempt made";
    /** Some attempt may have reached a primary (so a SESSION_EXPIRED cannot be undone with a new session). */
    private boolean maybeDelivered;
    private boolean unknownServiceSeen;
    private int renewals;

    private String attemptNode;
    private long attemptEpoch;
    private volatile Future<?> attemptTimer;
    private volatile Future<?> deadlineGuard;

    Call(PairstepClient client, String service, String key, byte[] command, long session, long sequence,
            boolean explicitSession) {
        this.client = client;
        this.service = service;
        this.key = key;
        this.command = command;
        this.startNanos = System.nanoTime();
        this.deadlineNanos = startNanos + client.callTimeoutNanos;
        this.explicitSession = explicitSession;
        this.sessionId = session;
        this.sequence = sequence;
    }

    void start() {
        future.whenComplete((ignored, error) -> {
            if (future.isCancelled() && finished.compareAndSet(false, true)) {
                cleanUp(false); // the caller gave up: stop retrying; the command's fate is unknown
            }
        });
        if (client.isClosed()) {
            fail(PairstepException.CLOSED, "the client is closed");
            return;
        }
        int partitions = client.topology().partitions(service);
        if (partitions > 0) {
            route(partitions);
            attempt();
        } else {
            resolveService(startNanos);
        }
    }

    /**
     * The service is not in the routing table: refresh it, then route, or give up once
     * {@link #UNKNOWN_SERVICE_ANSWERS} fresh tables in a row lack it.
     */
    private void resolveService(long since) {
        guardDeadline();
        client.refreshIfOlderThan(since).whenComplete((topology, error) -> {
            if (finished.get()) {
                return;
            }
            Topology current = topology != null ? topology : client.topology();
            int partitions = current.partitions(service);
            if (partitions > 0) {
                route(partitions);
                attempt();
            } else if (error == null && ++unknownAnswers >= UNKNOWN_SERVICE_ANSWERS) {
                fail(PairstepException.UNKNOWN_SERVICE, "unknown service \"" + service + "\"");
            } else if (error == null) {
                // A node applies the controller's decisions a little after they commit: right after a
                // deploy, the node asked may not know the service yet. Ask again before giving up.
                lastFailure = "service \"" + service + "\" not in the routing table yet";
                later(() -> resolveService(System.nanoTime()), null);
            } else {
                lastFailure = "no node answered a topology request (" + error.getMessage() + ")";
                later(() -> resolveService(System.nanoTime()), null);
            }
        });
    }

    private void route(int partitions) {
        group = new GroupId(service, Partitioner.partition(key, partitions));
        if (!explicitSession) {
            session = client.sessions.acquire(group);
            sessionId = session.id;
            sequence = session.nextSequence;
        }
    }

    /** One attempt: send the request to the primary (or the hinted node) and wait for its answer. */
    private void attempt() {
        if (finished.get()) {
            return;
        }
        if (client.isClosed()) {
            fail(PairstepException.CLOSED, "the client is closed");
            return;
        }
        long remaining = deadlineNanos - System.nanoTime();
        if (remaining <= 0) {
            failUnavailable();
            return;
        }
        Topology topology = client.topology();
        String node = hintedNode != null ? hintedNode : topology.livePrimary(group);
        hintedNode = null;
        InetSocketAddress address = topology.nodeAddress(node);
        if (address == null) {
            lastFailure = "no live primary known for " + group;
            Topology.Group known = topology.groupOrNull(group);
            if (known != null) {
                awaitTakeover(known.epoch(), known.primary());
            } else {
                retry(true);
            }
            return;
        }
        NodeConnection connection = client.connection(address);
        if (connection == null) {
            fail(PairstepException.CLOSED, "the client is closed");
            return;
        }
        attemptNode = node;
        attemptEpoch = epochOf(topology);
        long requestId = client.nextRequestId();
        if (!armAttemptTimer(connection, requestId, node, System.nanoTime())) {
            return;
        }
        connection.send(requestId, new Frame.ClientRequest(requestId, service, group.partition(), sessionId, sequence, command), this);
    }

    private long epochOf(Topology topology) {
        return topology.group(group.service(), group.partition()).map(Topology.Group::epoch).orElse(0L);
    }

    /** Checks on the attempt after the attempt timeout; false when the client is closed. */
    private boolean armAttemptTimer(NodeConnection connection, long requestId, String node, long sentNanos) {
        return armAttemptTimer(connection, requestId, node, sentNanos, client.attemptTimeoutNanos);
    }

    /** Checks on the attempt after {@code delayNanos} (at most the time left); false when the client is closed. */
    private boolean armAttemptTimer(NodeConnection connection, long requestId, String node, long sentNanos, long delayNanos) {
        long remaining = deadlineNanos - System.nanoTime();
        Future<?> timer = client.schedule(() -> onAttemptTimeout(connection, requestId, node, sentNanos),
                Math.max(0, Math.min(delayNanos, remaining)));
        if (timer == null) {
            fail(PairstepException.CLOSED, "the client is closed");
            return false;
        }
        attemptTimer = timer;
        return true;
    }

    /**
     * No answer yet. A slow primary is not a failed one: sending the command again to the same
     * node would only add load to a node that is already behind, and under overload every resend
     * makes the next answer later still. So the call looks at a fresh routing table and sends again
     * only when the group's primary is now another node; otherwise it keeps waiting.
     */
    private void onAttemptTimeout(NodeConnection connection, long requestId, String node, long sentNanos) {
        if (finished.get()) {
            return;
        }
        LOG.debug("{} seq {}: no answer from {} after {} ms", group, sequence, node, (System.nanoTime() - sentNanos) / 1_000_000);
        if (System.nanoTime() - deadlineNanos >= 0) {
            if (connection.forget(requestId, this)) {
                maybeDelivered = true;
                lastFailure = "no answer from " + node + " (" + connection.address + ") within "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentNanos) + " ms";
                failUnavailable();
            }
            return;
        }
        guardDeadline();
        long askedNanos = System.nanoTime();
        client.awaitEpochAfter(group, attemptEpoch, node).whenComplete((watched, error) -> {
            if (finished.get()) {
                return;
            }
            Topology topology = client.topology();
            String primary = topology.livePrimary(group);
            // Same node and same epoch: the replica that has the command is still the primary.
            // A new epoch may mean a new replica instance on that node, which never saw it.
            if (node.equals(primary) && epochOf(topology) == attemptEpoch) {
                long waited = System.nanoTime() - sentNanos;
                lastFailure = "no answer from " + node + " (" + connection.address + ") for "
                        + TimeUnit.NANOSECONDS.toMillis(waited) + " ms; it is still the primary";
                Topology.Group seen = watched == null ? null : watched.groupOrNull(group);
                if (waited >= PATIENT_AFTER_NANOS) {
                    // Far longer than any takeover takes: the primary is overloaded, not gone. Every
                    // check costs this client CPU that the nodes may need (on a shared machine), and
                    // the checks of a growing backlog would grow with it: look again seldom.
                    armAttemptTimer(connection, requestId, node, sentNanos, Math.min(PATIENT_CHECK_MAX_NANOS, waited / 4));
                } else if (seen != null && seen.epoch() == attemptEpoch && System.nanoTime() - askedNanos >= WATCH_HELD_NANOS) {
                    // A node held the watch and saw no takeover: watch again at once (on the
                    // scheduler, so that a chain of watches never nests on one stack).
                    if (client.schedule(() -> onAttemptTimeout(connection, requestId, node, sentNanos), 0) == null) {
                        fail(PairstepException.CLOSED, "the client is closed");
                    }
                } else {
                    armAttemptTimer(connection, requestId, node, sentNanos);
                }
            } else if (connection.forget(requestId, this)) {
                maybeDelivered = true;
                lastFailure = "no answer from " + node + " (" + connection.address + ") after "
                        + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sentNanos) + " ms, and the primary moved to " + primary;
                retry(false);
            }
        });
    }

    @Override
    public void onFrame(NodeConnection connection, Frame frame) {
        cancel(attemptTimer);
        switch (frame) {
            case Frame.ClientResponse response -> {
                switch (response.reply()) {
                    case Reply.Ok ok -> succeed(ok.body());
                    case Reply.ApplicationError error -> finish(
                            new PairstepException(PairstepException.APPLICATION_ERROR, error.message()), true);
                    case Reply.Rejected rejected -> onRejected(rejected);
                    case Reply.NotPrimary notPrimary -> onNotPrimary(notPrimary);
                }
            }
            case Frame.Error error when PairstepException.UNKNOWN_SERVICE.equals(error.code()) -> onUnknownService(error);
            case Frame.Error error -> finish(new PairstepException(PairstepException.REJECTED,
                    error.code() + ": " + error.message()), false);
            default -> {
                lastFailure = attemptNode + " answered with an unexpected " + frame.getClass().getSimpleName();
                maybeDelivered = true;
                retry(true);
            }
        }
    }

    @Override
    public void onLost(NodeConnection connection, String reason, boolean delivered) {
        cancel(attemptTimer);
        maybeDelivered |= delivered;
        lastFailure = reason;
        LOG.debug("{} seq {}: connection to {} lost ({})", group, sequence, attemptNode, reason);
        Topology.Group known = client.topology().groupOrNull(group);
        if (known != null && attemptNode.equals(known.primary()) && known.epoch() == attemptEpoch) {
            // The primary's node may be gone: wait for the takeover rather than poll for it.
            awaitTakeover(attemptEpoch, attemptNode);
        } else {
            retry(true);
        }
    }

    /**
     * Waits until the controller moves the group past {@code epoch} (a node tells the moment it
     * happens), then tries again at once. If nothing changed within the watch, or no node could
     * be asked, falls back to a refresh after the backoff.
     */
    private void awaitTakeover(long epoch, String suspect) {
        guardDeadline();
        client.awaitEpochAfter(group, epoch, suspect).whenComplete((topology, error) -> {
            if (finished.get()) {
                return;
            }
            if (LOG.isDebugEnabled()) {
                LOG.debug("{} seq {}: watch past epoch {} answered: epoch {} primary {} ({})", group, sequence, epoch,
                        epochOf(client.topology()), client.topology().livePrimary(group), error == null ? "ok" : error.toString());
            }
            if (error == null && epochOf(client.topology()) > epoch) {
                attempt();
            } else {
                retry(true);
            }
        });
    }

    private void onRejected(Reply.Rejected rejected) {
        if (Reply.SESSION_EXPIRED.equals(rejected.code()) && !explicitSession && !maybeDelivered && renewals == 0) {
            // The command never ran (the servers forgot this idle session, so they refused it):
            // run it in a new session instead. Safe only because no earlier attempt may have run it.
            renewals++;
            session = client.sessions.fresh();
            sessionId = session.id;
            sequence = session.nextSequence;
            attempt();
            return;
        }
        if (Reply.POISON.equals(rejected.code())) {
            finish(new PairstepException(PairstepException.POISON, rejected.message()), false);
            return;
        }
        finish(new PairstepException(PairstepException.REJECTED, rejected.code() + ": " + rejected.message()), false);
    }

    private void onNotPrimary(Reply.NotPrimary notPrimary) {
        lastFailure = attemptNode + " is not the primary of " + group + " (its epoch " + notPrimary.epoch() + ")";
        Topology topology = client.topology();
        Topology.Group known = topology.groupOrNull(group);
        String hint = notPrimary.primaryNode();
        boolean topologyOlder = known == null || known.epoch() < notPrimary.epoch();
        if (hint != null && !hint.isEmpty() && !hint.equals(attemptNode) && topology.nodeAddress(hint) != null
                && (topologyOlder || hint.equals(known.primary()))) {
            hintedNode = hint;
            if (topologyOlder) {
                client.refreshIfOlderThan(System.nanoTime()); // for the calls that follow
            }
            retry(false);
        } else {
            retry(true);
        }
    }

    private void onUnknownService(Frame.Error error) {
        if (unknownServiceSeen) {
            finish(new PairstepException(PairstepException.UNKNOWN_SERVICE, error.message()), false);
            return;
        }
        unknownServiceSeen = true;
        guardDeadline();
        client.refreshIfOlderThan(System.nanoTime()).whenComplete((topology, failure) -> {
            if (finished.get()) {
                return;
            }
            if (topology != null && topology.partitions(service) == 0) {
                finish(new PairstepException(PairstepException.UNKNOWN_SERVICE, error.message()), false);
            } else {
                lastFailure = attemptNode + " does not know service \"" + service + "\" yet";
                retry(false);
            }
        });
    }

    /** Tries again after the backoff, with a fresher routing table if {@code refresh}. Gives up at the deadline. */
    private void retry(boolean refresh) {
        if (finished.get()) {
            return;
        }
        LOG.debug("{} seq {}: retry after {} us{} ({})", group, sequence, backoffNanos / 1000, refresh ? " with a refresh" : "", lastFailure);
        if (client.isClosed()) {
            fail(PairstepException.CLOSED, "the client is closed");
            return;
        }
        CompletableFuture<Topology> topology = refresh ? client.refreshIfOlderThan(System.nanoTime()) : null;
        later(this::attempt, topology);
    }

    /** Runs {@code step} after the backoff and after {@code await} completed (if not null). */
    private void later(Runnable step, CompletableFuture<?> await) {
        long delay = backoffNanos;
        backoffNanos = Math.min(backoffNanos * 2, BACKOFF_MAX_NANOS);
        if (System.nanoTime() + delay - deadlineNanos >= 0) {
            failUnavailable();
            return;
        }
        guardDeadline();
        Future<?> scheduled = client.schedule(() -> {
            if (await == null || await.isDone()) {
                step.run();
            } else {
                await.whenComplete((ignored, error) -> step.run());
            }
        }, delay);
        if (scheduled == null) {
            fail(PairstepException.CLOSED, "the client is closed");
        }
    }

    /** Makes sure the call ends at its deadline even while it waits for a topology refresh. */
    private void guardDeadline() {
        if (deadlineGuard == null && !finished.get()) {
            deadlineGuard = client.schedule(this::failUnavailable, Math.max(0, deadlineNanos - System.nanoTime()));
        }
    }

    private void failUnavailable() {
        fail(PairstepException.UNAVAILABLE, "no primary answered for " + (group != null ? group : service)
                + " within " + TimeUnit.NANOSECONDS.toMillis(client.callTimeoutNanos) + " ms (last: " + lastFailure + ")");
    }

    /** Ends the call with an error that leaves its session unusable (it is dropped). */
    void fail(String code, String message) {
        finish(new PairstepException(code, message), false);
    }

    private void succeed(byte[] body) {
        if (finished.compareAndSet(false, true)) {
            cleanUp(true);
            future.complete(body);
        }
    }

    /** @param keepSession the command got its final answer, so the session goes back to the pool */
    private void finish(PairstepException error, boolean keepSession) {
        if (finished.compareAndSet(false, true)) {
            cleanUp(keepSession);
            future.completeExceptionally(error);
        }
    }

    private void cleanUp(boolean keepSession) {
        cancel(attemptTimer);
        cancel(deadlineGuard);
        client.ended(this);
        if (keepSession && session != null) {
            client.sessions.release(group, session);
        }
    }

    private static void cancel(Future<?> future) {
        if (future != null) {
            future.cancel(false);
        }
    }
}
