package io.pairstep.core.lockstep;

/**
 * What one member produced for one log entry: the evidence the orderer compares before it releases
 * the entry's result.
 *
 * @param index the entry's position in the log
 * @param epoch the epoch of the orderer that ordered the entry; two members hold the same entry at
 *     an index only if they hold it with the same epoch
 * @param outputDigest digest of the reply the member computed
 * @param stateDigest digest of the member's whole state after the entry, on every K-th index; 0
 *     elsewhere
 * @param selfCheckFailed true when the member's own checks failed on this entry: the service threw
 *     an unexpected error. In a two-member disagreement that member is the faulty one.
 */
public record Vote(long index, long epoch, long outputDigest, long stateDigest, boolean selfCheckFailed) {

    /** True when both members produced the same output and, where taken, the same state. */
    public boolean agreesWith(Vote other) {
        return outputDigest == other.outputDigest && stateDigest == other.stateDigest;
    }
}
