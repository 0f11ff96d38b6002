/**
 * The threshold engine: {@link io.pairstep.avail.threshold.ThresholdMonitor} turns a series of
 * samples into one FIRED and one CLEARED per episode, with a hold time and a clear level so that an
 * alert neither flaps nor repeats. Pure: no clock, no thread, no I/O.
 */
package io.pairstep.avail.threshold;
