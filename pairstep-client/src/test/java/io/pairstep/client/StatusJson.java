package io.pairstep.client;

import java.util.List;
import java.util.StringJoiner;
import java.util.function.IntFunction;

/** Builds status documents ({@code GET /v1/status}) pointing at fake nodes. */
final class StatusJson {

    private StatusJson() {}

    /**
     * One service whose partitions all have epoch {@code epoch} and the primary {@code primary.apply(partition)}.
     */
    static String of(List<FakeNode> nodes, String service, int partitions, long epoch, IntFunction<String> primary) {
        StringJoiner nodeList = new StringJoiner(",", "[", "]");
        for (FakeNode node : nodes) {
            nodeList.add("{\"id\":\"" + node.id + "\",\"state\":\"up\",\"pid\":1,\"http\":\"127.0.0.1:1\",\"rpc\":\""
                    + node.rpc() + "\"}");
        }
        StringJoiner groups = new StringJoiner(",", "[", "]");
        for (int p = 0; p < partitions; p++) {
            String primaryNode = primary.apply(p);
            StringJoiner replicas = new StringJoiner(",", "[", "]");
            replicas.add("{\"node\":\"" + primaryNode + "\",\"role\":\"primary\",\"state\":\"ok\"}");
            for (FakeNode node : nodes) {
                if (!node.id.equals(primaryNode)) {
                    replicas.add("{\"node\":\"" + node.id + "\",\"role\":\"backup\",\"state\":\"ok\"}");
                    break;
                }
            }
            groups.add("{\"service\":\"" + service + "\",\"partition\":" + p + ",\"mode\":\"pair\",\"epoch\":" + epoch
                    + ",\"replicas\":" + replicas + "}");
        }
        return "{\"system\":\"test\",\"nodes\":" + nodeList + ",\"services\":[{\"name\":\"" + service
                + "\",\"version\":1,\"mode\":\"pair\",\"partitions\":" + partitions + ",\"artifact\":\"example:kv\"}],"
                + "\"groups\":" + groups + "}";
    }

    /** Every node serves the same document. */
    static void serve(List<FakeNode> nodes, String json) {
        for (FakeNode node : nodes) {
            node.publish(json);
        }
    }
}
