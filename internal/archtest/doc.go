// Package archtest holds the test that keeps cellwatch's packages importing
// along the data flow of docs/design.md §5: ingest → fallback → stream;
// query → store, fallback; alerting → query and its notify package;
// alerting/alarmapi → alerting; alerting/notify imports neither alerting nor
// alarmapi; dashboards → query, alerting; store and stream import none of
// the packages that feed them; internal packages import only each other;
// cluster imports none of ours and is the only importer of dskit's ring and
// kv packages; only cmd imports everything. Nested packages with rules of
// their own are judged apart from their parent.
package archtest
