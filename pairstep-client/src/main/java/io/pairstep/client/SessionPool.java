package io.pairstep.client;

import io.pairstep.core.GroupId;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Idle client sessions per group. A session has at most one command in flight (the servers accept
 * no more), so a call takes a session for its whole life, retries included, and gives it back when
 * it ends. Most recently used first, so a steady load keeps reusing the same few sessions.
 */
final class SessionPool {

    /** A session: its id and the sequence number of its next command. Owned by one call at a time. */
    static final class Session {
        final long id;
        long nextSequence = 1;

        Session(long id) {
            this.id = id;
        }
    }

    private final Map<GroupId, ConcurrentLinkedDeque<Session>> idle = new ConcurrentHashMap<>();
    private final long base = new SecureRandom().nextLong();
    private final AtomicLong counter = new AtomicLong();

    Session acquire(GroupId group) {
        ConcurrentLinkedDeque<Session> sessions = idle.get(group);
        Session session = sessions == null ? null : sessions.pollFirst();
        return session != null ? session : fresh();
    }

    /** A new session, never used: its first command has sequence 1. */
    Session fresh() {
        long id;
        do {
            id = base + counter.getAndIncrement();
        } while (id == 0);
        return new Session(id);
    }

    /** The session's command got its final answer: the next one gets the next sequence. */
    void release(GroupId group, Session session) {
        session.nextSequence++;
        idle.computeIfAbsent(group, g -> new ConcurrentLinkedDeque<>()).offerFirst(session);
    }

    /** Idle sessions of a group, for tests. */
    int idleCount(GroupId group) {
        ConcurrentLinkedDeque<Session> sessions = idle.get(group);
        return sessions == null ? 0 : sessions.size();
    }
}
