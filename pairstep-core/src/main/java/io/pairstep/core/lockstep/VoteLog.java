package io.pairstep.core.lockstep;

import java.util.Arrays;

/**
 * A member's own votes for its most recent entries, as a ring with access by index. Old votes are
 * overwritten; a vote asked for after that is missing, and the orderer treats a member that cannot
 * vote as one that does not answer.
 */
final class VoteLog {

    private final Vote[] ring;
    private long floor;

    /** @param capacity a power of two */
    VoteLog(int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("vote capacity must be a power of two, was " + capacity);
        }
        ring = new Vote[capacity];
    }

    void add(Vote vote) {
        ring[(int) (vote.index() & (ring.length - 1))] = vote;
    }

    /** The vote for {@code index}, or null when it was never taken here or is overwritten. */
    Vote get(long index) {
        if (index <= floor) {
            return null;
        }
        Vote vote = ring[(int) (index & (ring.length - 1))];
        return vote != null && vote.index() == index ? vote : null;
    }

    /** Votes up to here were never taken here: the state came in a snapshot as of this index. */
    long floor() {
        return floor;
    }

    /** Forgets every vote: the state now comes from a snapshot as of {@code index}. */
    void resetTo(long index) {
        Arrays.fill(ring, null);
        floor = index;
    }
}
