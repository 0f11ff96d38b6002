/**
 * SNMP traps with SNMP4J, and {@link io.pairstep.avail.snmp.PairstepMib}, the OIDs of {@code
 * mib/PAIRSTEP-MIB.txt} (a resource of this module).
 */
package io.pairstep.avail.snmp;
