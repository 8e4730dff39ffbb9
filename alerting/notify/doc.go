// Package notify delivers alarm notifications: a durable, bounded outbox
// and its delivery loop, posting each entry to its target, an http(s)
// webhook (the SNS alarm message body AWS publishes) or an Alertmanager
// ("alertmanager+http(s)://host:port", posted to /api/v2/alerts), with
// per-target retries and exponential backoff (at least once: a crash
// between a delivery and its record repeats it).
//
// notify knows nothing of alarms: it is given an Alarm (what a
// notification says about an alarm that transitioned) and builds the
// entries with Deliveries. The outcome of every action (delivered, failed
// attempt, dropped, not supported) is a Result, which the outbox hands to
// its Journal to record (alerting writes them as Action history items).
//
// An alarm in ALARM is kept firing at its Alertmanagers by keepalives
// (keepalive.go): every Config.Keepalive the running outbox posts the
// firing alerts its Source lists, with endsAt ahead. They are derived from
// the current state, never stored in the outbox, and record no Result.
//
// # Durability
//
// The outbox shares the alarm database: its Journal gives it the open
// *pebble.DB. Entries live under
//
//	o\x00<seq:8 BE>                  an outbox entry (JSON of Entry)
//
// (KeyPrefix; the journal's other keys must not start with it). An alarm
// transition and its notifications are written in one synced batch: the
// alarm store builds the batch, calls Outbox.Stage to add the entries (and
// the deletes of the oldest ones when the outbox is over its bounds) to it,
// commits it, and then calls the returned function with the outcome, which
// updates the in-memory index only if the batch committed. The outbox lock
// is held from Stage to that call, so deliveries cannot interleave.
//
// # Lifecycle
//
// Outbox is a dskit services.Service. It must start after its Journal's
// database is open and stop before it closes: starting loads the stored
// entries, running delivers until its context is done, and stopping lets
// the deliveries in flight end (each within Config.Timeout) and record their
// outcome. Entries not delivered stay in the database for the next start.
package notify
