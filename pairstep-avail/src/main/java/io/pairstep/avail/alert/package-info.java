/**
 * Alerts and their actions. Every action implements {@link io.pairstep.avail.alert.AlertAction},
 * whose {@code offer} never blocks; the ones that do I/O are a {@link
 * io.pairstep.avail.alert.Delivery} behind a {@link io.pairstep.avail.alert.QueuedAction}.
 */
package io.pairstep.avail.alert;
