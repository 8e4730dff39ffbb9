// Package store holds cellwatch's aggregate types and the local store: the
// last three hours of metrics of a node, in memory, fed from the node's WAL
// (docs/design.md §3, §4).
//
// # Aggregates
//
// The stored unit is an Aggregate: one series, one bucket (1 s for
// high-resolution datums, 60 s otherwise; roll-ups use 300 s and 3600 s).
// Datums merge into it: a Value counts once, Values/Counts add Σcounts and
// Σ value×count, a StatisticSet is merged as given. Count, Sum, Min and Max
// are exact; Merge is associative and commutative (up to float addition
// order in Sum), so late, out-of-order and multi-node data simply merge.
//
// # Percentiles and their error bound
//
// The distribution is a DDSketch-style mergeable sketch of log-spaced
// buckets with relative accuracy α = 1%: gamma = (1+α)/(1-α), a value v > 0
// is counted in bucket ceil(log_gamma v), and a bucket is represented by
// 2·gamma^k/(gamma+1). Percentile(p) returns the estimate of the value of
// nearest rank ceil(p/100·Count); for every p in (0, 100) that estimate x̂
// satisfies
//
//	|x̂ - x| <= 0.01·|x|   (plus float rounding, ~1e-15 relative)
//
// where x is the exact nearest-rank value, and x̂ is clamped into [Min, Max].
// p0 is Min and p100 is Max exactly. Zeros are counted exactly. The bound
// holds while a bucket's values span less than gamma^2048 ≈ 6.7e17 (a sketch
// keeps at most 2048 bins; beyond that the lowest bins are folded together
// and only the lowest percentiles lose accuracy). Merging two sketches gives
// exactly the sketch of the union, so merged and roll-up percentiles have the
// same bound.
//
// AppendDistribution hands the sketch out as ordered (value, count) bins,
// from which package query computes the other extended statistics
// (docs/statistics.md derives their bounds from the one above).
//
// Following CloudWatch, percentiles are unavailable (ok == false) for a
// bucket into which a negative value was merged, or a StatisticSet that does
// not reduce to raw values. A StatisticSet reduces when Min == Max and either
// SampleCount == 1 or Sum == Min·SampleCount (compared with a relative
// tolerance of 1e-9); it then counts as SampleCount copies of Min. While all
// values of a bucket are equal no sketch is allocated: the distribution is
// implied.
//
// # The last value
//
// An Aggregate also keeps the latest Prometheus sample (a datum with Sample
// set) merged into it and its timestamp in milliseconds (Last, LastTS; LastTS 0: none), for PromQL
// over remote-written samples: the later timestamp wins, on a tie the
// greater value, so merges commute. Both codecs (chunks, long-term blocks
// of version 2) and every roll-up tier carry it (docs/remote-write.md).
//
// # Local store
//
// Local keeps buckets whose end is after now-Window (default 3 h). Series are
// kept in 64 shards, each with its own lock, a map from a seeded hash of the
// metric identity to a chain of series slots, and a slice of series; the
// unit is part of the series key but not of the hash, so Lookup finds every
// unit of a metric in one chain. Each shard also lists its slots by tenant
// and namespace (kept as series are created and removed, accounted in
// Bytes), so SeriesOf visits one namespace without scanning the others; the
// long-term store answers SeriesOf with a prefix scan of its series keys,
// which begin with tenant and namespace. Apply is safe from many goroutines;
// reads (Range, Lookup, Series, SeriesOf) take read locks only briefly and
// call back without locks.
//
// The newest buckets of a series stay open (plain Aggregates) until 90 s
// after their end (10 s for 1 s buckets); then they are sealed into
// compressed byte chunks of at most one aligned hour (chunk.go describes the
// encoding: varint start deltas, a header byte, decimal mantissas or XOR'd
// float bytes, one value for buckets whose values are all equal, sketches as
// delta-varint keys and varint counts). A datum for a sealed bucket decodes,
// merges and re-encodes its chunk (rare, correct, not fast). Trimming, every
// 30 s, drops whole chunks whose buckets all left the window; reads skip the
// rest of the expired buckets, and series left without buckets are removed
// (their refs become stale).
//
// Memory is accounted (Bytes) as chunk bytes, open buckets, sketches, series
// structs and keys; Admit refuses with ErrFull once it reaches MaxBytes. At
// standard resolution one series with a datum per minute costs about 1.3 KB
// for three hours (BenchmarkLocalMemoryPerSeries: 180 buckets of about 3
// bytes each, the series struct, its key and its open buckets).
//
// # Long-term store
//
// LongTerm keeps the tiers of CloudWatch (1 s for 3 h, high-resolution
// datums only; 60 s for 15 days; 300 s for 63 days; 3600 s for 455 days) in
// pebble: one value per (tier, time block, series) in the chunk encoding,
// merged by a pebble merge operator, so applying is a blind batch.Merge.
// ApplyBatch applies the stream messages of one partition exactly once: per
// (partition, origin) it stores the highest WAL offset applied, in the same
// synced batch as the data and the partition's next stream offset. Consumer
// feeds it from a PartitionSource. docs/storage.md has the key layout, the
// protocol and the measured sizes (about 2 bytes per 60 s aggregate).
//
// # Coverage
//
// Each store says which wall-clock intervals it can vouch for (docs/design.md
// §6): Coverage(from, to) returns the covered sub-intervals of [from, to)
// in Unix seconds (rounded inward); the query planner reports the rest as
// unknown. Both learn from liveness marks (record.KindLiveness), which the
// node appends to its WAL every second (fallback.Liveness):
//
//   - Local: two marks at most MaxSilence (3 s) apart cover the time between
//     them; a longer silence (crash, restart, the node down) is a hole;
//     nothing before the first retained mark is covered, so a lost or wiped
//     WAL is uncovered, except that a Genesis mark (first start on a new
//     data directory) covers all time before it: there was no data to
//     lose. Marks arrive live (ApplyLiveness, called by the Liveness service
//     once the mark is durable) and from Rebuild. While the newest mark is
//     at most MaxSilence old the node is live and everything after it is
//     covered (the current period is not unknown). Only the window counts;
//     the interval set is merged and trimmed with the buckets.
//   - LongTerm: the shipper sends every mark to every partition; ApplyBatch
//     applies it exactly once like data (same WAL-offset mark, same synced
//     batch) and keeps, per (partition, origin), runs of marks by the same
//     rule (key prefix 'l'). An origin is covered up to its watermark, the
//     minimum over the partitions (LongTermConfig.Partitions) of its newest
//     applied mark; the union over origins (holes up to MaxSilence filled,
//     for a node restarted on a new WAL) minus where some origin was live
//     but is not applied in every partition, minus the wall-clock spans of
//     the gaps (Gaps: dropped backlog, corrupt messages, stream offsets
//     lost; a marker's unknown bound becomes the newest mark applied before
//     it, or the time it was applied). A gap marker applied twice keeps its
//     first bounds; replayed marks move nothing.
//
// A clock that goes back covers nothing until it passes the newest mark
// again. Liveness runs are not deleted by retention (a few keys per restart).
package store
