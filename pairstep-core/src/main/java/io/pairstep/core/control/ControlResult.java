package io.pairstep.core.control;

/**
 * What the controller made of one command.
 *
 * @param accepted false when the command was refused; {@code reason} says why
 * @param changed true when the state changed
 * @param reason a message for the caller, empty when accepted
 */
public record ControlResult(boolean accepted, boolean changed, String reason) {

    static final ControlResult CHANGED = new ControlResult(true, true, "");
    static final ControlResult UNCHANGED = new ControlResult(true, false, "");

    static ControlResult refused(String reason) {
        return new ControlResult(false, false, reason);
    }
}
