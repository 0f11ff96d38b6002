package io.pairstep.avail.alert;

/** A change of a component's state, as reported by a trap, an e-mail and the other actions. */
public enum ComponentChange {
    /** The component failed. */
    BROKEN(ComponentState.BROKEN),
    /** A broken component is back in service. */
    FIXED(ComponentState.UP),
    /** The component was taken out of the system. */
    REMOVED(ComponentState.REMOVED),
    /** A new or removed component joined the system. */
    INSERTED(ComponentState.UP);

    private final ComponentState newState;

    ComponentChange(ComponentState newState) {
        this.newState = newState;
    }

    /** The state the component is in after this change. */
    public ComponentState newState() {
        return newState;
    }
}
