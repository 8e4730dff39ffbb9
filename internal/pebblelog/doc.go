// Package pebblelog sends pebble's log messages to log/slog: Info at Debug
// (pebble is chatty about compactions), Error at Error, and Fatal at Error
// followed by the panic pebble expects. The long-term store (store) and the
// alarm state (alerting) open their pebble databases with it.
package pebblelog
