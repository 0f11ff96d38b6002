package io.pairstep.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RehearsalTest {

    @Test
    void theRehearsalTakesOverAndTheNewPrimaryAnswersEveryCommand() {
        // Both phases answered with results: the commands before the node loss by the first primary,
        // those after by its backup, promoted by the controller state and seeding a new backup.
        assertThat(Rehearsal.run()).isEqualTo(2L * Rehearsal.commandsPerPhase());
    }
}
