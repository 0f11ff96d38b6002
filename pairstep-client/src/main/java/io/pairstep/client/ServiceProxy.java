package io.pairstep.client;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.Objects;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JavaType;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The calls of a typed proxy ({@link PairstepClient#proxy}) to a plain Java object service: each
 * method call sends {@code {"method":NAME,"args":[...]}} and decodes the JSON answer into the
 * method's (generic) return type. The service chooses its method by name and number of arguments,
 * as the proxy's interface names them.
 */
final class ServiceProxy implements InvocationHandler {

    private static final ObjectMapper JSON = JsonMapper.builder().build();

    private final PairstepClient client;
    private final Class<?> type;
    private final String service;
    private final String key;

    private ServiceProxy(PairstepClient client, Class<?> type, String service, String key) {
        this.client = client;
        this.type = type;
        this.service = service;
        this.key = key;
    }

    static <T> T create(PairstepClient client, Class<T> type, String service, String key) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(key, "key");
        if (!type.isInterface()) {
            throw new IllegalArgumentException(type.getName() + " is not an interface: a proxy implements an interface"
                    + " that lists the service's public methods");
        }
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                new ServiceProxy(client, type, service, key)));
    }

    @Override
    public Object invoke(Object proxy, Method method, Object[] args) throws Throwable {
        if (method.getDeclaringClass() == Object.class) {
            return switch (method.getName()) {
                case "equals" -> proxy == args[0];
                case "hashCode" -> System.identityHashCode(proxy);
                default -> type.getSimpleName() + " proxy of service " + service + ", key " + key;
            };
        }
        if (method.isDefault()) {
            return InvocationHandler.invokeDefault(proxy, method, args);
        }
        ObjectNode command = JSON.createObjectNode().put("method", method.getName());
        ArrayNode array = command.putArray("args");
        for (Object arg : args == null ? new Object[0] : args) {
            array.add(JSON.valueToTree(arg));
        }
        byte[] result = client.callSync(service, key, JSON.writeValueAsBytes(command));
        if (method.getReturnType() == void.class) {
            return null;
        }
        JavaType returns = JSON.getTypeFactory().constructType(method.getGenericReturnType());
        try {
            return JSON.readValue(result, returns);
        } catch (JacksonException e) {
            // The interface does not match the service: a bug of the caller, and the command did run.
            throw new IllegalStateException("the command ran, but the answer of " + service + "." + method.getName() + " is not a "
                    + returns.toCanonical() + " as " + type.getName() + " declares: " + e.getOriginalMessage(), e);
        }
    }
}
