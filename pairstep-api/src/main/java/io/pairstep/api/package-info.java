/**
 * The Pairstep service API: a service is a deterministic state machine ({@link io.pairstep.api.Service})
 * that receives time and randomness from its {@link io.pairstep.api.Context}.
 */
package io.pairstep.api;
