package cluster

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"
	"strconv"
	"time"

	"github.com/grafana/dskit/ring"
)

// Instance is a node as the ring describes it.
type Instance struct {
	ID   string // the node's -cluster.node-id
	Addr string // where peers read it over HTTP (-cluster.api-addr)
	Zone string
	// Healthy: the node is ACTIVE in the ring and its heartbeat is younger
	// than the heartbeat timeout. Only healthy nodes own partitions and
	// alarms.
	Healthy bool
}

// owning is the ring operation whose healthy instances own things: ACTIVE
// only (not JOINING, LEAVING or LEFT), with a fresh heartbeat.
var owning = ring.NewOp([]ring.InstanceState{ring.ACTIVE}, nil)

// view is one immutable reading of the ring, from which every ownership
// question is answered. Every node that holds the same ring entries (and
// agrees on which heartbeats are fresh) builds the same view, so ownership
// needs no coordination.
type view struct {
	members []Instance // every ring entry, sorted by ID
	zones   []string   // zones with at least one healthy member, sorted
	byZone  []tokenRing
	all     tokenRing // the tokens of every healthy member, for alarms
	print   uint64
}

// tokenRing is a consistent-hash ring: sorted tokens and, for each, the
// index in view.members of the member that holds it.
type tokenRing struct {
	tokens []uint32
	owners []int32
}

// owner is the member holding the first token at or after key, wrapping
// around; -1 on an empty ring.
func (t tokenRing) owner(key uint32) int {
	if len(t.tokens) == 0 {
		return -1
	}
	i, _ := slices.BinarySearch(t.tokens, key)
	if i == len(t.tokens) {
		i = 0
	}
	return int(t.owners[i])
}

// fingerprint hashes what ownership depends on: each entry's ID, address,
// zone, health at now and tokens. Two readings with the same fingerprint
// give the same answers, so a heartbeat alone does not rebuild the view.
func fingerprint(desc *ring.Desc, timeout time.Duration, now time.Time) uint64 {
	h := fnv.New64a()
	var buf [4]byte
	for _, id := range sortedIDs(desc) {
		inst := desc.Ingesters[id]
		healthy := "0"
		if inst.IsHealthy(owning, timeout, now) {
			healthy = "1"
		}
		for _, s := range []string{id, inst.Addr, inst.Zone, healthy} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		for _, tok := range inst.Tokens {
			binary.LittleEndian.PutUint32(buf[:], tok)
			h.Write(buf[:])
		}
		h.Write([]byte{1})
	}
	return h.Sum64()
}

func sortedIDs(desc *ring.Desc) []string {
	ids := make([]string, 0, len(desc.Ingesters))
	for id := range desc.Ingesters {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// newView reads desc at now: entries whose heartbeat is older than timeout
// or whose state is not ACTIVE are members but own nothing.
func newView(desc *ring.Desc, timeout time.Duration, now time.Time) *view {
	ids := sortedIDs(desc)
	v := &view{members: make([]Instance, len(ids)), print: fingerprint(desc, timeout, now)}
	type held struct {
		token  uint32
		member int32
	}
	var all []held
	zoneOf := map[string][]held{}
	for i, id := range ids {
		inst := desc.Ingesters[id]
		healthy := inst.IsHealthy(owning, timeout, now)
		v.members[i] = Instance{ID: id, Addr: inst.Addr, Zone: inst.Zone, Healthy: healthy}
		if !healthy || len(inst.Tokens) == 0 {
			continue
		}
		for _, tok := range inst.Tokens {
			all = append(all, held{tok, int32(i)})
			zoneOf[inst.Zone] = append(zoneOf[inst.Zone], held{tok, int32(i)})
		}
	}
	// Ties (one token held by two members) go to the member with the lower
	// ID, so every node breaks them alike.
	build := func(hs []held) tokenRing {
		slices.SortFunc(hs, func(a, b held) int {
			return cmp.Or(cmp.Compare(a.token, b.token), cmp.Compare(a.member, b.member))
		})
		t := tokenRing{tokens: make([]uint32, len(hs)), owners: make([]int32, len(hs))}
		for i, h := range hs {
			t.tokens[i], t.owners[i] = h.token, h.member
		}
		return t
	}
	v.all = build(all)
	for zone := range zoneOf {
		v.zones = append(v.zones, zone)
	}
	slices.Sort(v.zones)
	for _, zone := range v.zones {
		v.byZone = append(v.byZone, build(zoneOf[zone]))
	}
	return v
}

// healthy counts the members that own things.
func (v *view) healthy() int {
	n := 0
	for _, m := range v.members {
		if m.Healthy {
			n++
		}
	}
	return n
}

// partitionOwners is one owner per zone, in zone order.
func (v *view) partitionOwners(partition int32) []Instance {
	key := partitionKey(partition)
	owners := make([]Instance, 0, len(v.byZone))
	for _, t := range v.byZone {
		if i := t.owner(key); i >= 0 {
			owners = append(owners, v.members[i])
		}
	}
	return owners
}

func (v *view) alarmOwner(tenant, alarm string) (Instance, bool) {
	if i := v.all.owner(alarmKey(tenant, alarm)); i >= 0 {
		return v.members[i], true
	}
	return Instance{}, false
}

// partitionKey and alarmKey place a partition and an alarm on the ring.
// Tokens are uniform random 32-bit values; the keys are FNV-1a hashes run
// through a 64-bit finalizer so that neighbouring partition numbers land far
// apart. Changing either function moves every owner: they are part of the
// cluster's wire contract, like the ring itself.
func partitionKey(p int32) uint32 {
	return hashKey("partition", strconv.FormatInt(int64(p), 10))
}

func alarmKey(tenant, alarm string) uint32 { return hashKey("alarm", tenant, alarm) }

func hashKey(parts ...string) uint32 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	x := h.Sum64()
	// murmur3's fmix64
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return uint32(x ^ x>>32)
}
