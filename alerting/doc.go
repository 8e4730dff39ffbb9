// Package alerting holds CloudWatch alarms: the alarm model (metric alarms
// and composite alarms, which share Base: name, tenant, actions,
// ActionsEnabled, state, tags), the durable alarm Store with the alarms'
// history, and the Evaluator that decides a metric alarm's state from its
// evaluation range exactly as CloudWatch documents it
// (docs/cloudwatch-api.md §4.3), plus the coverage rule of docs/design.md
// §6. Composite alarms are evaluated when they are put (created or
// updated) and re-evaluated whenever one of their children
// changes state. The AWS API over the store is package alarmapi; the
// notifications of transitions are delivered by package notify.
//
// # Services
//
// Store, its Outbox (Store.Outbox, a notify.Outbox) and Evaluator are
// dskit services, to run in that order and stop in reverse: the store's
// starting opens the database and loads the alarms, its stopping closes
// it; the outbox shares the database; the evaluator reads and writes the
// store. Constructors open nothing.
//
// # Storage
//
// Alarm definitions, their state and their history live in a pebble database
// of their own (Config.Dir, <data>/alarms by convention), written with
// Sync before an operation answers, so they survive restarts and crashes.
// Keys:
//
//	a\x00<tenant>\x00<name>          a metric alarm (JSON of Alarm: config + state)
//	c\x00<tenant>\x00<name>          a composite alarm (JSON of CompositeAlarm)
//	h\x00<ms:8 BE><seq:8 BE>         a history item (JSON of HistoryItem)
//	o\x00<seq:8 BE>                  an undelivered notification (package notify)
//	t\x00<tenant>\x00<name>          a deleted alarm's tombstone (replica.go), kept 24 h
//
// A transition's state, its history items and its notifications are one
// synced batch (Store.commit stages the outbox entries with
// notify.Outbox.Stage). History keys start with their timestamp, so the
// 2-week retention is one DeleteRange and a time-bounded
// DescribeAlarmHistory one bounded scan. History items are independent of
// the alarm's key, so they outlive DeleteAlarms as AWS's do. Every alarm is
// also held in memory, in one map of both types (loaded at start); the
// database is the durable copy, memory the one reads use.
//
// # Cluster
//
// Every node's store holds every alarm; one node, the alarm's owner
// (Config.Owns, from the ring), evaluates it. The Evaluator skips the
// metric and math alarms it does not own and forgets them, so one that
// moves here is due at its next pass, from its stored state (no period
// skipped); a composite alarm is re-evaluated on a child's change only by
// its owner, and one that becomes owned here is re-evaluated from the
// children that changed since its state.
//
// Replication (replica.go, sync.go) is a last-writer-wins map with two
// registers per alarm: its definition (configuration, actions, tags,
// existence) and its state, each versioned by (Unix ms raised past every
// version seen, node ID), and a tombstone per delete. A write changes the
// version of the part it changes, so a PutMetricAlarm on any node and the
// owner's concurrent evaluation both stand. Each node numbers the versions
// it makes or takes (Seq); a Syncer pulls every peer's versions after the
// last number it took from that peer, through SyncHandler at SyncPath,
// and Store.Merge keeps the newer parts. History and notifications are
// the writer's: a merged version adds neither, so DescribeAlarmHistory
// answers with the node's own history. Known limit: a node away for
// longer than the tombstones' retention may bring a deleted alarm back.
//
// # Evaluation
//
// Decide is the pure core: given the R = N + max(floor(N/3), 2) most recent
// periods (oldest first), each a datapoint, a missing period, or an unknown
// one (no store can vouch for it), it returns the new state. Known data is
// judged by the decision procedure of docs/cloudwatch-api.md §4.3 (Tables A and B);
// unknown periods are never filled by TreatMissingData: the state stands
// only if every possible content of the unknown periods (missing, breaching,
// not breaching) leads to the same state, else the alarm goes to
// INSUFFICIENT_DATA with a reason naming the unknown periods.
//
// Metric math alarms (mathalarm.go, PutMetricAlarm's Metrics form) are
// validated through query.ValidateQueries at put time and take the
// returned query's period. They are evaluated one by one: the returned
// series over the evaluation range comes from query.EvaluateQueries through
// MathReader, its points become the present periods, periods overlapping
// the unknown intervals unknown ones, and the same Decide judges them.
package alerting
