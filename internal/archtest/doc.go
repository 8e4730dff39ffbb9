// Package archtest holds the test that keeps cellwatch's packages importing
// along the data flow of docs/design.md §5 (ingest → fallback → stream;
// query → store, fallback; alerting → query; dashboards → query, alerting;
// store imports none of ingest, fallback or stream; only cmd imports all).
package archtest
