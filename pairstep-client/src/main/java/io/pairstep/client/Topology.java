package io.pairstep.client;

import io.pairstep.core.GroupId;
import java.net.InetSocketAddress;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The client's routing table: the status document of {@code GET /v1/status} (see
 * {@code docs/http-api.md}), as a node sent it in a {@code TopologyResponse}. Immutable.
 *
 * <p>Parsing is lenient: unknown fields are ignored and malformed entries skipped, so a newer node
 * can add to the document without breaking older clients.
 */
public final class Topology {

    /** A node and its rpc address. {@code state} is {@code up} or {@code down}. */
    public record Node(String id, InetSocketAddress rpc, String state) {
        public boolean up() {
            return !"down".equals(state);
        }
    }

    /**
     * One group: where its commands go.
     *
     * @param primary the id of the node holding the primary, or null when there is none
     * @param backup the id of the node holding an in-sync backup (the one that would take over), or null
     */
    public record Group(GroupId id, long epoch, String primary, String backup) {}

    /** Before any node answered. */
    public static final Topology EMPTY = new Topology(null, 0, Map.of(), Map.of(), Map.of(), false, 0);

    private static final JsonMapper MAPPER = JsonMapper.builder().build();

    private final String systemId;
    private final long version;
    private final Map<String, Node> nodes;
    private final Map<String, Integer> partitions;
    private final Map<GroupId, Group> groups;
    private final boolean loaded;
    private final long fetchedAtNanos;

    private Topology(String systemId, long version, Map<String, Node> nodes, Map<String, Integer> partitions,
            Map<GroupId, Group> groups, boolean loaded, long fetchedAtNanos) {
        this.systemId = systemId;
        this.version = version;
        this.nodes = nodes;
        this.partitions = partitions;
        this.groups = groups;
        this.loaded = loaded;
        this.fetchedAtNanos = fetchedAtNanos;
    }

    /**
     * Parses a status document.
     *
     * @throws IllegalArgumentException if it is not a JSON object
     */
    public static Topology parse(String json) {
        return parse(json, System.nanoTime());
    }

    /** @param fetchedAtNanos {@link System#nanoTime()} when the request for this document was sent */
    static Topology parse(String json, long fetchedAtNanos) {
        Objects.requireNonNull(json, "json");
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("malformed status document: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("a status document must be a JSON object");
        }
        Map<String, Node> nodes = new LinkedHashMap<>();
        for (JsonNode node : root.path("nodes")) {
            String id = text(node, "id");
            InetSocketAddress rpc = address(text(node, "rpc"));
            if (id != null && rpc != null) {
                String state = text(node, "state");
                nodes.put(id, new Node(id, rpc, state == null ? "up" : state));
            }
        }
        Map<String, Integer> partitions = new LinkedHashMap<>();
        for (JsonNode service : root.path("services")) {
            String name = text(service, "name");
            int count = service.path("partitions").asInt(1);
            if (name != null && count >= 1) {
                partitions.put(name, count);
            }
        }
        Map<GroupId, Group> groups = new LinkedHashMap<>();
        Map<String, Integer> inferred = new LinkedHashMap<>();
        for (JsonNode group : root.path("groups")) {
            String service = text(group, "service");
            int partition = group.path("partition").asInt(-1);
            if (service == null || partition < 0) {
                continue;
            }
            String primary = null;
            String backup = null;
            for (JsonNode replica : group.path("replicas")) {
                if ("primary".equals(text(replica, "role"))) {
                    primary = text(replica, "node");
                } else if (backup == null && "backup".equals(text(replica, "role")) && "ok".equals(text(replica, "state"))) {
                    backup = text(replica, "node");
                }
            }
            GroupId id = new GroupId(service, partition);
            groups.put(id, new Group(id, group.path("epoch").asLong(0), primary, backup));
            inferred.merge(service, partition + 1, Math::max);
        }
        // Groups of a service missing from "services": infer the partition count.
        inferred.forEach(partitions::putIfAbsent);
        return new Topology(text(root, "system"), root.path("version").asLong(0), Collections.unmodifiableMap(nodes),
                Collections.unmodifiableMap(partitions), Collections.unmodifiableMap(groups), true, fetchedAtNanos);
    }

    private static String text(JsonNode node, String field) {
        JsonNode value = node.path(field);
        return value.isString() ? value.stringValue() : null;
    }

    /** {@code host:port} or {@code [v6]:port}; a host name is left unresolved (resolved on connect). */
    static InetSocketAddress address(String text) {
        if (text == null || text.isEmpty()) {
            return null;
        }
        int colon = text.lastIndexOf(':');
        if (colon <= 0 || colon == text.length() - 1) {
            return null;
        }
        String host = text.substring(0, colon);
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            return null;
        }
        if (port < 1 || port > 65535) {
            return null;
        }
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            // An IP literal is parsed without any lookup; a name is never looked up here.
            return isIpLiteral(host) ? new InetSocketAddress(host, port) : InetSocketAddress.createUnresolved(host, port);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static boolean isIpLiteral(String host) {
        if (host.indexOf(':') >= 0) {
            return true; // IPv6
        }
        if (host.isEmpty()) {
            return false;
        }
        for (int i = 0; i < host.length(); i++) {
            char c = host.charAt(i);
            if (c != '.' && (c < '0' || c > '9')) {
                return false;
            }
        }
        return true;
    }

    /** The system id, or null. */
    public String systemId() {
        return systemId;
    }

    /** Nodes by id. */
    /** The configuration version this table shows; of two tables of one system, the higher is newer. */
    public long version() {
        return version;
    }

    public Map<String, Node> nodes() {
        return nodes;
    }

    /** Partition count by service name. */
    public Map<String, Integer> services() {
        return partitions;
    }

    /** Groups by id. */
    public Map<GroupId, Group> groups() {
        return groups;
    }

    /** The partition count of {@code service}, or 0 when the service is unknown. */
    public int partitions(String service) {
        Integer count = partitions.get(service);
        return count == null ? 0 : count;
    }

    public Optional<Group> group(String service, int partition) {
        return Optional.ofNullable(groups.get(new GroupId(service, partition)));
    }

    /** The id of the node holding the primary of a group. */
    public Optional<String> primary(String service, int partition) {
        Group group = groups.get(new GroupId(service, partition));
        return group == null ? Optional.empty() : Optional.ofNullable(group.primary());
    }

    /** The rpc address of a node. */
    public Optional<InetSocketAddress> rpcAddress(String nodeId) {
        return Optional.ofNullable(nodeAddress(nodeId));
    }

    /** False for {@link #EMPTY}: no node has answered yet. */
    public boolean loaded() {
        return loaded;
    }

    Group groupOrNull(GroupId id) {
        return groups.get(id);
    }

    /** The primary's node id when that node is known and up, else null. */
    String livePrimary(GroupId id) {
        Group group = groups.get(id);
        if (group == null || group.primary() == null) {
            return null;
        }
        Node node = nodes.get(group.primary());
        return node == null || !node.up() ? null : node.id();
    }

    /** True when {@code node} is known and up. */
    boolean isUp(String nodeId) {
        Node node = nodeId == null ? null : nodes.get(nodeId);
        return node != null && node.up();
    }

    InetSocketAddress nodeAddress(String nodeId) {
        Node node = nodeId == null ? null : nodes.get(nodeId);
        return node == null ? null : node.rpc();
    }

    /** True when this table was requested at or after {@code nanos}. */
    boolean fetchedSince(long nanos) {
        return loaded && fetchedAtNanos - nanos >= 0;
    }

    @Override
    public String toString() {
        return "Topology[system=" + systemId + ", nodes=" + nodes.values() + ", services=" + partitions
                + ", groups=" + groups.values() + "]";
    }
}
