package cluster

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/grafana/dskit/ring"
)

// node describes one ring entry of a synthetic ring.
type node struct {
	id, zone string
	state    ring.InstanceState
	age      time.Duration // since the last heartbeat
}

// ringOf builds a ring description as the lifecyclers would: random tokens
// that clash with no one's.
func ringOf(now time.Time, nodes ...node) *ring.Desc {
	desc := ring.NewDesc()
	gen := ring.NewRandomTokenGenerator()
	for _, n := range nodes {
		tokens := gen.GenerateTokens(numTokens, desc.GetTokens())
		inst := desc.AddIngester(n.id, n.id+":8080", n.zone, tokens, n.state, now.Add(-time.Hour), false, time.Time{}, nil)
		inst.Timestamp = now.Add(-n.age).Unix()
		desc.Ingesters[n.id] = inst
	}
	return desc
}

const timeout = time.Minute

func TestViewOwnership(t *testing.T) {
	now := time.Now()
	active := func(id, zone string) node { return node{id: id, zone: zone, state: ring.ACTIVE} }
	for name, tc := range map[string]struct {
		nodes  []node
		owners []string // the nodes that may own anything
		zones  []string // the zones of every partition's owners, in order
	}{
		"one zone": {
			nodes:  []node{active("a", ""), active("b", ""), active("c", "")},
			owners: []string{"a", "b", "c"}, zones: []string{""},
		},
		"three zones": {
			nodes:  []node{active("a1", "a"), active("b1", "b"), active("c1", "c"), active("a2", "a"), active("b2", "b"), active("c2", "c")},
			owners: []string{"a1", "a2", "b1", "b2", "c1", "c2"}, zones: []string{"a", "b", "c"},
		},
		"a stale heartbeat owns nothing": {
			nodes:  []node{active("a", ""), active("b", ""), {id: "dead", state: ring.ACTIVE, age: 2 * timeout}},
			owners: []string{"a", "b"}, zones: []string{""},
		},
		"joining and leaving own nothing": {
			nodes:  []node{active("a", ""), {id: "j", state: ring.JOINING}, {id: "l", state: ring.LEAVING}, {id: "p", state: ring.PENDING}},
			owners: []string{"a"}, zones: []string{""},
		},
		"a zone whose only node is dead has no owner": {
			nodes:  []node{active("a1", "a"), active("b1", "b"), {id: "c1", zone: "c", state: ring.ACTIVE, age: 2 * timeout}},
			owners: []string{"a1", "b1"}, zones: []string{"a", "b"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			desc := ringOf(now, tc.nodes...)
			v, again := newView(desc, timeout, now), newView(desc, timeout, now)
			if len(v.members) != len(tc.nodes) {
				t.Fatalf("got %d members; want %d: every entry is a member, healthy or not", len(v.members), len(tc.nodes))
			}
			if got := v.healthy(); got != len(tc.owners) {
				t.Errorf("got %d healthy; want %d", got, len(tc.owners))
			}
			seen := map[string]bool{}
			for p := range int32(64) {
				owners := v.partitionOwners(p)
				var zones []string
				for _, o := range owners {
					zones = append(zones, o.Zone)
					seen[o.ID] = true
					if !slices.Contains(tc.owners, o.ID) || !o.Healthy {
						t.Errorf("partition %d owned by %+v, which may not own anything", p, o)
					}
				}
				if !slices.Equal(zones, tc.zones) {
					t.Errorf("partition %d: owners' zones %q; want %q", p, zones, tc.zones)
				}
				if !slices.Equal(owners, again.partitionOwners(p)) {
					t.Errorf("partition %d: two readings of one ring disagree", p)
				}
			}
			for i := range 300 {
				o, ok := v.alarmOwner("tenant", fmt.Sprint("alarm-", i))
				if !ok || !slices.Contains(tc.owners, o.ID) {
					t.Errorf("alarm %d owned by %+v (%v)", i, o, ok)
				}
				seen[o.ID] = true
			}
			for _, id := range tc.owners {
				if !seen[id] {
					t.Errorf("healthy %s owns nothing of 64 partitions and 300 alarms", id)
				}
			}
		})
	}
}

func TestViewOfAnEmptyRingOwnsNothing(t *testing.T) {
	v := newView(ring.NewDesc(), timeout, time.Now())
	if got := v.partitionOwners(0); len(got) != 0 {
		t.Errorf("partition owners %v; want none", got)
	}
	if o, ok := v.alarmOwner("t", "a"); ok {
		t.Errorf("alarm owner %+v; want none", o)
	}
	if o, ok := (&view{}).alarmOwner("t", "a"); ok {
		t.Errorf("zero view: alarm owner %+v; want none", o)
	}
}

// When a node goes, only what it owned moves; when one comes, only what
// it takes moves.
func TestOnlyTheChangedNodesKeysMove(t *testing.T) {
	now := time.Now()
	nodes := []node{{id: "a", state: ring.ACTIVE}, {id: "b", state: ring.ACTIVE}, {id: "c", state: ring.ACTIVE}, {id: "d", state: ring.ACTIVE}}
	full := ringOf(now, nodes...)
	less := ringOf(now)
	for id, inst := range full.Ingesters {
		if id != "c" {
			less.Ingesters[id] = inst
		}
	}
	before, after := newView(full, timeout, now), newView(less, timeout, now)
	moved := 0
	for i := range 1000 {
		name := fmt.Sprint("alarm-", i)
		was, _ := before.alarmOwner("t", name)
		is, _ := after.alarmOwner("t", name)
		switch {
		case is.ID == "c":
			t.Fatalf("%s still owned by the removed node", name)
		case was.ID == "c":
			moved++
		case was != is:
			t.Errorf("%s moved from %s to %s though %s stayed", name, was.ID, is.ID, was.ID)
		}
	}
	if moved < 100 || moved > 400 {
		t.Errorf("%d of 1000 alarms were on the removed node; want about a quarter", moved)
	}
	for p := range int32(256) {
		was, is := before.partitionOwners(p)[0], after.partitionOwners(p)[0]
		if was.ID != "c" && was != is {
			t.Errorf("partition %d moved from %s to %s though %s stayed", p, was.ID, is.ID, was.ID)
		}
	}
}

func TestFingerprint(t *testing.T) {
	now := time.Now()
	desc := ringOf(now, node{id: "a", state: ring.ACTIVE}, node{id: "b", state: ring.ACTIVE})
	base := fingerprint(desc, timeout, now)
	edit := func(id string, f func(*ring.InstanceDesc)) *ring.Desc {
		d := ring.NewDesc()
		for k, v := range desc.Ingesters {
			v.Tokens = slices.Clone(v.Tokens)
			if k == id {
				f(&v)
			}
			d.Ingesters[k] = v
		}
		return d
	}
	for name, tc := range map[string]struct {
		desc *ring.Desc
		at   time.Time
		same bool
	}{
		"a heartbeat":           {edit("a", func(i *ring.InstanceDesc) { i.Timestamp = now.Unix() + 1 }), now, true},
		"time passing":          {desc, now.Add(time.Second), true},
		"a heartbeat too old":   {desc, now.Add(2 * timeout), false},
		"a state change":        {edit("a", func(i *ring.InstanceDesc) { i.State = ring.LEAVING }), now, false},
		"a new address":         {edit("b", func(i *ring.InstanceDesc) { i.Addr = "elsewhere:1" }), now, false},
		"a token change":        {edit("b", func(i *ring.InstanceDesc) { i.Tokens[0]++ }), now, false},
		"a zone change":         {edit("b", func(i *ring.InstanceDesc) { i.Zone = "z" }), now, false},
		"the same ring, copied": {edit("", nil), now, true},
	} {
		t.Run(name, func(t *testing.T) {
			if got := fingerprint(tc.desc, timeout, tc.at) == base; got != tc.same {
				t.Errorf("fingerprint unchanged: %v; want %v", got, tc.same)
			}
		})
	}
}

// Partition keys must spread: a hash that put neighbouring partitions next
// to each other would give one node runs of partitions.
func TestPartitionKeysSpread(t *testing.T) {
	now := time.Now()
	v := newView(ringOf(now, node{id: "a", state: ring.ACTIVE}, node{id: "b", state: ring.ACTIVE}, node{id: "c", state: ring.ACTIVE}), timeout, now)
	count := map[string]int{}
	for p := range int32(3000) {
		count[v.partitionOwners(p)[0].ID]++
	}
	for _, id := range []string{"a", "b", "c"} {
		if count[id] < 600 || count[id] > 1400 {
			t.Errorf("%s owns %d of 3000 partitions; want about 1000 (all: %v)", id, count[id], count)
		}
	}
}
