package io.pairstep.runtime.storage;

import java.io.IOException;

/**
 * Reported to a {@link GroupCommitWriter}'s error handler when work for one replica log failed.
 * From then on the writer drops further work for that log without invoking its callbacks, so the
 * node must treat the replica as failed, for example by stopping it and reopening its log.
 */
public final class ReplicaLogFailedException extends IOException {

    private static final long serialVersionUID = 1L;

    /** Transient because a log cannot travel; the exception is only ever handled in process. */
    private final transient ReplicaLog log;

    ReplicaLogFailedException(ReplicaLog log, String operation, Throwable cause) {
        super(operation + " failed for the replica log in " + log.directory()
                + "; further work for this log is dropped: " + cause, cause);
        this.log = log;
    }

    /** Returns the log that failed. */
    public ReplicaLog log() {
        return log;
    }
}
