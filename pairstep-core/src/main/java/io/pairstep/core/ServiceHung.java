package io.pairstep.core;

import io.pairstep.core.control.ControlCommand;
import io.pairstep.core.replica.LogEntry;
import io.pairstep.core.replica.Reply;
import java.util.List;

/**
 * What a protocol core would have done had its service crashed in the command it is running now,
 * for the runtime's watchdog to do on its behalf: the core's own thread is stuck in that command
 * and will never act again.
 *
 * @param report the crash report for the controller, with the command as poison where it is one
 * @param requestIds the client requests waiting on this replica, the running one included: each is
 *     answered {@code reply} so that its client asks the replica that takes over
 * @param reply what those requests are answered
 * @param epoch the epoch the replica was in
 * @param lastIndex its last log index
 * @param lastEntries its last few entries, for the dump (empty where the core keeps none)
 */
public record ServiceHung(ControlCommand.ReplicaCrashed report, List<Long> requestIds, Reply reply, long epoch, long lastIndex,
        List<LogEntry> lastEntries) {

    public ServiceHung {
        requestIds = List.copyOf(requestIds);
        lastEntries = List.copyOf(lastEntries);
    }
}
