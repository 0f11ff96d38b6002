package io.pairstep.examples;

import io.pairstep.api.Service;
import java.util.List;
import java.util.Objects;

/**
 * The example services by name: {@code kv} ({@link KvService}) and {@code bank} ({@link BankService}),
 * and, for fault tests, {@code faulty} ({@link FaultyService}), which is not listed in {@link #names}.
 */
public final class Examples {

    private static final List<String> NAMES = List.of("kv", "bank");

    private Examples() {}

    /** Returns a new, empty instance of the named example service. */
    public static Service create(String name) {
        Objects.requireNonNull(name, "name");
        return switch (name) {
            case "kv" -> new KvService();
            case "bank" -> new BankService();
            // For fault tests only, so not among the names offered to users.
            case "faulty" -> new FaultyService();
            default ->
                    throw new IllegalArgumentException(
                            "unknown example \"" + name + "\" (known: " + String.join(", ", NAMES) + ")");
        };
    }

    /** The names that {@link #create} accepts, in a fixed order. */
    public static List<String> names() {
        return NAMES;
    }
}
