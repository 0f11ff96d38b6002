/**
 * The availability configuration file: its records, its checks ({@link
 * io.pairstep.avail.config.ConfigParser}, which names every wrong entry) and its reloading
 * ({@link io.pairstep.avail.config.ConfigReloader}, which keeps the last good configuration).
 */
package io.pairstep.avail.config;
