package io.pairstep.runtime;

import com.fasterxml.jackson.annotation.JsonAutoDetect.Visibility;
import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.MalformedCommandException;
import io.pairstep.api.Service;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.Collectors;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * A plain Java object served as a {@link Service}: the object needs no dependency on Pairstep, only
 * a public no-argument constructor. Its public instance methods are the commands and its fields the
 * state.
 *
 * <p>A command is the JSON object {@code {"method":"NAME","args":[...]}} ({@code args} may be left
 * out when there are none); each argument is decoded into the parameter's declared (generic) type.
 * The result is the JSON of the return value, {@code null} for a {@code void} method. Methods are
 * chosen by name and number of arguments, so two public methods with the same name and the same
 * number of parameters are refused when the class is inspected (at deploy time).
 *
 * <p>The state is every non-static, non-transient field of the object, of any visibility, and the
 * same of the objects they hold, written as JSON with properties, map keys and set elements in
 * sorted order: two replicas with the same state write the same bytes, which the lockstep modes
 * compare as digests.
 *
 * <p>An exception thrown by a method refuses the command ({@link ApplicationException} naming the
 * exception's class and message) and leaves the state as it was: the state is written before each
 * command and read back if the method throws. That costs one serialization of the state per
 * command, less than applying each command to a copy (a serialization and a deserialization). An
 * {@link Error} is not caught: the replica crashed, and Pairstep rebuilds it (a poison command).
 */
final class PojoService implements Service {

    /** The result of a {@code void} method. */
    private static final byte[] VOID = {'n', 'u', 'l', 'l'};

    /** Commands, arguments and results: ordinary Jackson, with maps and sets in sorted order so that replicas answer alike. */
    private static final ObjectMapper VALUES = JsonMapper.builder()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, SerializationFeature.ORDER_SET_ELEMENTS)
            .disable(SerializationFeature.FAIL_ON_ORDER_MAP_BY_INCOMPARABLE_KEY, SerializationFeature.FAIL_ON_ORDER_SET_BY_INCOMPARABLE_ELEMENT)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .build();

    /**
     * What one class offers as a service: its constructor, its commands, and the mapper of its state.
     * Made once per class and shared by its instances.
     */
    static final class Commands {
        private final Class<?> type;
        private final Constructor<?> constructor;
        /** Method name, then number of arguments. */
        private final Map<String, Map<Integer, Command>> byName;
        private final ObjectMapper state;

        private Commands(Class<?> type, Constructor<?> constructor, Map<String, Map<Integer, Command>> byName) {
            this.type = type;
            this.constructor = constructor;
            this.byName = byName;
            // Fields only, of any visibility: getters may compute things that are not state.
            this.state = JsonMapper.builder()
                    .changeDefaultVisibility(checker -> checker.withFieldVisibility(Visibility.ANY)
                            .withGetterVisibility(Visibility.NONE)
                            .withIsGetterVisibility(Visibility.NONE)
                            .withSetterVisibility(Visibility.NONE))
                    // A final field is state too (a final map that the methods fill): restore sets it.
                    .enable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY, MapperFeature.ALLOW_FINAL_FIELDS_AS_MUTATORS)
                    .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, SerializationFeature.ORDER_SET_ELEMENTS)
                    .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS, SerializationFeature.FAIL_ON_ORDER_MAP_BY_INCOMPARABLE_KEY,
                            SerializationFeature.FAIL_ON_ORDER_SET_BY_INCOMPARABLE_ELEMENT)
                    .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .build();
        }

        /** The names of the commands, with their numbers of arguments, for messages. */
        String summary() {
            return byName.values().stream().flatMap(m -> m.values().stream()).map(Command::signature).sorted()
                    .collect(Collectors.joining(", "));
        }
    }

    /** One public method and the types its arguments are decoded into. */
    private record Command(Method method, JavaType[] parameters) {
        String signature() {
            return method.getName() + "(" + Arrays.stream(method.getParameterTypes()).map(Class::getSimpleName)
                    .collect(Collectors.joining(", ")) + ")";
        }
    }

    private final Commands commands;
    private Object target;

    PojoService(Commands commands) {
        this.commands = Objects.requireNonNull(commands, "commands");
        this.target = newInstance(commands);
    }

    /**
     * Inspects {@code type} as a plain object service, or throws IllegalArgumentException naming
     * the problem: no public no-argument constructor, no public method to call, two methods that a
     * command could not tell apart, or a state Jackson cannot write and read back.
     */
    static Commands inspect(Class<?> type) {
        String name = type.getName();
        Constructor<?> constructor;
        try {
            constructor = type.getConstructor();
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException("class " + name + " needs a public no-argument constructor", e);
        }
        if (Modifier.isAbstract(type.getModifiers()) || type.isInterface()) {
            throw new IllegalArgumentException("class " + name + " is abstract: a service needs a class that can be instantiated");
        }
        Map<String, Map<Integer, Command>> byName = new TreeMap<>();
        Commands commands = new Commands(type, constructor, byName);
        for (Method method : type.getMethods()) {
            if (Modifier.isStatic(method.getModifiers()) || method.isBridge() || method.isSynthetic() || isObjectMethod(method)) {
                continue;
            }
            Map<Integer, Command> overloads = byName.computeIfAbsent(method.getName(), n -> new TreeMap<>());
            Command other = overloads.get(method.getParameterCount());
            JavaType[] parameters = Arrays.stream(method.getGenericParameterTypes())
                    .map(t -> VALUES.getTypeFactory().constructType(t)).toArray(JavaType[]::new);
            Command command = new Command(method, parameters);
            if (other != null) {
                throw new IllegalArgumentException("class " + name + ": public methods " + other.signature() + " and "
                        + command.signature() + " take the same number of arguments; a command names a method and its"
                        + " arguments only, so overloads must differ in their number of parameters (rename one)");
            }
            method.setAccessible(true);
            overloads.put(method.getParameterCount(), command);
        }
        if (byName.isEmpty()) {
            throw new IllegalArgumentException("class " + name + " has no public instance methods to serve as commands");
        }
        // A state that cannot be written, or not read back, fails here rather than at the first snapshot.
        Object fresh;
        try {
            fresh = newInstance(commands);
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException("class " + name + " needs a public no-argument constructor that works (" + e.getMessage() + ")", e);
        }
        try {
            commands.state.readValue(commands.state.writeValueAsBytes(fresh), type);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("class " + name + ": its fields cannot be saved and restored as JSON ("
                    + e.getOriginalMessage() + ")", e);
        }
        return commands;
    }

    private static boolean isObjectMethod(Method method) {
        try {
            Object.class.getMethod(method.getName(), method.getParameterTypes());
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    private static Object newInstance(Commands commands) {
        try {
            return commands.constructor.newInstance();
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("the constructor of " + commands.type.getName() + " threw " + e.getCause(), e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot instantiate " + commands.type.getName() + ": " + e, e);
        }
    }

    /** The object this service wraps, for tests. */
    Object target() {
        return target;
    }

    @Override
    public byte[] apply(byte[] command, Context context) throws ApplicationException {
        JsonNode tree = parse(command);
        String name = method(tree);
        JsonNode args = tree.get("args");
        if (args != null && !args.isArray()) {
            throw new MalformedCommandException("\"args\" must be an array of the arguments of " + name);
        }
        for (Iterator<String> fields = tree.propertyNames().iterator(); fields.hasNext(); ) {
            String field = fields.next();
            if (!field.equals("method") && !field.equals("args")) {
                throw new MalformedCommandException("unexpected field \"" + field + "\"; a command is {\"method\":NAME,\"args\":[...]}");
            }
        }
        int count = args == null ? 0 : args.size();
        Map<Integer, Command> overloads = commands.byName.get(name);
        if (overloads == null) {
            throw new MalformedCommandException("no method \"" + name + "\"; the commands are " + commands.summary());
        }
        Command chosen = overloads.get(count);
        if (chosen == null) {
            throw new MalformedCommandException("method \"" + name + "\" takes " + overloads.keySet().stream().map(String::valueOf)
                    .collect(Collectors.joining(" or ")) + " arguments, not " + count);
        }
        Object[] values = new Object[count];
        for (int i = 0; i < count; i++) {
            try {
                values[i] = VALUES.treeToValue(args.get(i), chosen.parameters()[i]);
            } catch (JacksonException e) {
                throw new MalformedCommandException("argument " + (i + 1) + " of " + chosen.signature() + " is not a "
                        + chosen.parameters()[i].toCanonical() + ": " + e.getOriginalMessage());
            }
        }
        byte[] before = snapshot();
        Object result;
        try {
            result = chosen.method().invoke(target, values);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Error error) {
                throw error;
            }
            // The method may have changed fields before it threw: a refused command changes nothing.
            restore(before);
            if (cause instanceof ApplicationException refusal) {
                throw refusal;
            }
            throw new ApplicationException(name + " threw " + cause.getClass().getName()
                    + (cause.getMessage() == null ? "" : ": " + cause.getMessage()));
        } catch (IllegalAccessException e) {
            throw new IllegalStateException("cannot call " + chosen.signature() + ": " + e, e);
        }
        if (chosen.method().getReturnType() == void.class) {
            return VOID.clone();
        }
        try {
            return VALUES.writeValueAsBytes(result);
        } catch (JacksonException e) {
            restore(before);
            throw new ApplicationException("the result of " + name + " cannot be written as JSON: " + e.getOriginalMessage());
        }
    }

    private static JsonNode parse(byte[] command) throws MalformedCommandException {
        JsonNode tree;
        try {
            tree = VALUES.readTree(Objects.requireNonNull(command, "command"));
        } catch (JacksonException e) {
            throw new MalformedCommandException("not JSON: " + e.getOriginalMessage());
        }
        if (tree == null || !tree.isObject()) {
            throw new MalformedCommandException("a command is a JSON object {\"method\":NAME,\"args\":[...]}");
        }
        return tree;
    }

    private static String method(JsonNode tree) throws MalformedCommandException {
        JsonNode method = tree.get("method");
        if (method == null || !method.isString() || method.asString().isEmpty()) {
            throw new MalformedCommandException("\"method\" must name the method to call");
        }
        return method.asString();
    }

    @Override
    public byte[] snapshot() {
        try {
            return commands.state.writeValueAsBytes(target);
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot write the state of " + commands.type.getName() + ": " + e.getOriginalMessage(), e);
        }
    }

    @Override
    public void restore(byte[] snapshot) {
        if (snapshot.length == 0) {
            target = newInstance(commands);
            return;
        }
        try {
            target = commands.state.readValue(snapshot, commands.type);
        } catch (JacksonException e) {
            throw new IllegalStateException("cannot read a state of " + commands.type.getName() + ": " + e.getOriginalMessage(), e);
        }
    }

    /** {@code "method NAME"}, from a command that names one. */
    @Override
    public String describe(byte[] command) {
        try {
            return "method " + method(parse(command));
        } catch (MalformedCommandException | RuntimeException e) {
            return null;
        }
    }

}
