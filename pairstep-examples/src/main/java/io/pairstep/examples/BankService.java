package io.pairstep.examples;

import io.pairstep.api.ApplicationException;
import io.pairstep.api.Context;
import io.pairstep.api.Service;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * Example {@code bank}: accounts with long balances and transfers between them.
 *
 * <p>Commands (UTF-8 JSON objects) and results:
 *
 * <ul>
 *   <li>{@code {"op":"open","account":A,"balance":N}} → {@code {"ok":true}}; refused when the
 *       account exists or the balance is negative
 *   <li>{@code {"op":"transfer","from":A,"to":B,"amount":N}} → {@code {"ok":true}}; refused with
 *       "insufficient funds", "unknown account X", a non-positive amount, or from equal to to
 *   <li>{@code {"op":"balance","account":A}} → {@code {"balance":N}}
 *   <li>{@code {"op":"total"}} → {@code {"total":N,"accounts":K}}
 * </ul>
 *
 * <p>The total of all balances always fits a long: an open that would overflow it is refused, so no
 * transfer can overflow a balance.
 *
 * <p>Snapshot: {@code {"accounts":{"alice":100}}}, accounts in sorted order.
 */
public final class BankService implements Service {

    private static final byte[] OK = Json.write(Json.object().put("ok", true));

    private TreeMap<String, Long> accounts = new TreeMap<>();
    private long total;

    public BankService() {}

    @Override
    public byte[] apply(byte[] command, Context context) throws ApplicationException {
        ObjectNode cmd = Json.parseCommand(Objects.requireNonNull(command, "command"));
        String op = Json.requireString(cmd, "op");
        return switch (op) {
            case "open" -> open(cmd);
            case "transfer" -> transfer(cmd);
            case "balance" -> balance(cmd);
            case "total" -> total();
            default -> throw new MalformedCommandException("unknown op \"" + op + "\"");
        };
    }

    private byte[] open(ObjectNode cmd) throws ApplicationException {
        String account = Json.requireString(cmd, "account");
        long balance = Json.requireLong(cmd, "balance");
        if (accounts.containsKey(account)) {
            throw new ApplicationException("account " + account + " already exists");
        }
        if (balance < 0) {
            throw new ApplicationException("balance must not be negative");
        }
        long newTotal;
        try {
            newTotal = Math.addExact(total, balance);
        } catch (ArithmeticException e) {
            throw new ApplicationException("total of all balances would overflow a long");
        }
        accounts.put(account, balance);
        total = newTotal;
        return OK.clone();
    }

    private byte[] transfer(ObjectNode cmd) throws ApplicationException {
        String from = Json.requireString(cmd, "from");
        String to = Json.requireString(cmd, "to");
        long amount = Json.requireLong(cmd, "amount");
        if (amount <= 0) {
            throw new ApplicationException("amount must be positive");
        }
        if (from.equals(to)) {
            throw new ApplicationException("cannot transfer from an account to itself");
        }
        Long fromBalance = accounts.get(from);
        if (fromBalance == null) {
            throw new ApplicationException("unknown account " + from);
        }
        Long toBalance = accounts.get(to);
        if (toBalance == null) {
            throw new ApplicationException("unknown account " + to);
        }
        if (fromBalance < amount) {
            throw new ApplicationException("insufficient funds");
        }
        // Cannot overflow: toBalance + amount <= total <= Long.MAX_VALUE.
        accounts.put(from, fromBalance - amount);
        accounts.put(to, toBalance + amount);
        return OK.clone();
    }

    private byte[] balance(ObjectNode cmd) throws ApplicationException {
        String account = Json.requireString(cmd, "account");
        Long balance = accounts.get(account);
        if (balance == null) {
            throw new ApplicationException("unknown account " + account);
        }
        return Json.write(Json.object().put("balance", balance.longValue()));
    }

    private byte[] total() {
        return Json.write(Json.object().put("total", total).put("accounts", accounts.size()));
    }

    @Override
    public byte[] snapshot() {
        ObjectNode root = Json.object();
        ObjectNode out = root.putObject("accounts");
        for (Map.Entry<String, Long> e : accounts.entrySet()) {
            out.put(e.getKey(), e.getValue().longValue());
        }
        return Json.write(root);
    }

    @Override
    public void restore(byte[] snapshot) {
        ObjectNode in =
                Json.parseSnapshot(Objects.requireNonNull(snapshot, "snapshot"), "bank", "accounts");
        TreeMap<String, Long> restored = new TreeMap<>();
        long restoredTotal = 0;
        if (in != null) {
            for (Map.Entry<String, JsonNode> e : in.properties()) {
                JsonNode value = e.getValue();
                if (!Json.isLong(value) || value.longValue() < 0) {
                    throw new IllegalArgumentException(
                            "invalid bank snapshot: account " + e.getKey()
                                    + " must hold a non-negative long");
                }
                try {
                    restoredTotal = Math.addExact(restoredTotal, value.longValue());
                } catch (ArithmeticException ex) {
                    throw new IllegalArgumentException(
                            "invalid bank snapshot: total of all balances overflows a long", ex);
                }
                restored.put(e.getKey(), value.longValue());
            }
        }
        accounts = restored;
        total = restoredTotal;
    }
}
