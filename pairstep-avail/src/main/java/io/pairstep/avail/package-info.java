/**
 * The availability manager of a Pairstep node (issue 5, first part): threshold monitors, the
 * availability configuration, and alerts by event log, e-mail, webhook, program and SNMP trap.
 *
 * <h2>How the node runtime uses it</h2>
 *
 * <pre>{@code
 * AvailabilityManager availability = AvailabilityManager.start(
 *         AvailabilityManager.Settings.of(nodeId, dataDir.resolve("availability.yaml"),
 *                 alert -> eventLog.append(alert.fields()),      // quick, on the caller's thread
 *                 problem -> log.warn("availability: {}", problem)));
 *
 * // Every second or so, from one monitor thread:
 * availability.tick();                                          // reloads the file if it changed
 * availability.sample(Metric.NODE_CPU, nodeId, nowMillis, cpuLoad);
 * availability.sample(Metric.NODE_DISK_FREE_BYTES, dataDir.toString(), nowMillis, freeBytes);
 * availability.sample(Metric.PARTITION_REPLICATION_LAG, "kv/3", nowMillis, lagEntries);
 *
 * // When the controller changes a component's state (once per change, on one node):
 * availability.componentChanged(ComponentType.NODE, "n2", ComponentChange.BROKEN, ComponentState.UP,
 *         "connection closed; lease expired", nowMillis);
 *
 * availability.close();                                         // at shutdown
 * }</pre>
 *
 * <p>None of these calls waits for I/O, so they are safe on the node's own threads. Every alert goes
 * to the event log callback and to every action of the configuration file; each action that does
 * I/O delivers from a bounded queue on its own thread ({@link io.pairstep.avail.alert.QueuedAction}).
 * Webhooks and e-mail are retried with exponential back-off until they go through; programs and
 * traps are tried once. Problems (a refused file, an unreachable receiver, a dropped alert) go to
 * the {@code problems} callback; the manager keeps running with its last good configuration.
 *
 * <h2>Parts</h2>
 *
 * <ul>
 *   <li>{@link io.pairstep.avail.Metric}: the names of every metric a threshold can watch.
 *   <li>{@link io.pairstep.avail.threshold}: the threshold engine, pure (time comes with each sample).
 *   <li>{@link io.pairstep.avail.config}: the YAML file, its checks ({@link
 *       io.pairstep.avail.config.ConfigParser} documents the format) and its reloading.
 *   <li>{@link io.pairstep.avail.alert}: alerts and the actions that deliver them.
 *   <li>{@link io.pairstep.avail.snmp}: traps, and the OIDs of {@code mib/PAIRSTEP-MIB.txt}.
 * </ul>
 *
 * <p>The node runtime drives it from {@code io.pairstep.runtime.NodeMonitoring}, which also holds
 * the node monitors (CPU, heap, GC, disk, open files) and the partition monitors (throughput,
 * latency p99, queue depth, replication lag, progress age, replica state), and serves
 * {@code /metrics}. Incidents live in the controller; the manager only calls them home ({@link
 * io.pairstep.avail.AvailabilityManager#callHome}, to the file's {@code callHome} URL). Not built
 * yet: an SNMP GET agent.
 */
package io.pairstep.avail;
