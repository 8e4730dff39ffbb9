package insights

import (
	"fmt"
	"slices"
)

// heldRow is a matched event kept for the results, with the values it
// sorts by and its dedup key.
type heldRow struct {
	ev     Event
	set    map[string]value
	keys   []string
	ord    []sortVal
	dkey   string
	hasKey bool
	seq    uint64
	bytes  int64
}

// topK keeps the k rows that sort first: a heap with the row that sorts
// last at the root, so a row that would not make the cut is refused with
// one comparison and no copy. With a dedup it keeps the first row per key
// (byKey finds a key's row in the heap); rows with a null key are all kept.
type topK struct {
	k     int
	descs []bool
	rows  []*heldRow
	byKey map[string]int
	seq   uint64
	bytes int64
	lim   *limits
}

// sortVal is a value to sort by, with its number parsed once.
type sortVal struct {
	v     value
	n     float64
	isNum bool
}

func mkSortVal(v value) sortVal {
	n, ok := v.number()
	return sortVal{v: v, n: n, isNum: ok}
}

// cmpSort is compare with the numbers already parsed.
func cmpSort(a, b sortVal) int {
	if a.isNum && b.isNum {
		switch {
		case a.n < b.n:
			return -1
		case a.n > b.n:
			return 1
		}
		return 0
	}
	return compare(a.v, b.v)
}

// cmpOrd orders two rows: by their order values (a missing value sorts
// last in either direction), then by arrival.
func cmpOrd(descs []bool, a []sortVal, aseq uint64, b []sortVal, bseq uint64) int {
	for i, d := range descs {
		va, vb := a[i], b[i]
		switch {
		case !va.v.present() && !vb.v.present():
			continue
		case !va.v.present():
			return 1
		case !vb.v.present():
			return -1
		}
		c := cmpSort(va, vb)
		if d {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case aseq < bseq:
		return -1
	case aseq > bseq:
		return 1
	}
	return 0
}

func (t *topK) after(i, j int) bool {
	a, b := t.rows[i], t.rows[j]
	return cmpOrd(t.descs, a.ord, a.seq, b.ord, b.seq) > 0
}

func (t *topK) swap(i, j int) {
	t.rows[i], t.rows[j] = t.rows[j], t.rows[i]
	if t.byKey != nil {
		if t.rows[i].hasKey {
			t.byKey[t.rows[i].dkey] = i
		}
		if t.rows[j].hasKey {
			t.byKey[t.rows[j].dkey] = j
		}
	}
}

func (t *topK) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.after(i, p) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

func (t *topK) down(i int) {
	n := len(t.rows)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && t.after(r, l) {
			c = r
		}
		if !t.after(c, i) {
			return
		}
		t.swap(i, c)
		i = c
	}
}

// offer considers the current row of rec: its order values ord and, with
// a dedup, its key dk. It copies the row only when it is kept.
func (t *topK) offer(rec *record, ord []sortVal, dk []byte, hasKey bool) error {
	seq := t.seq
	t.seq++
	var h *heldRow
	switch i, dup := t.byKey[string(dk)]; {
	case hasKey && dup:
		h = t.rows[i]
		if cmpOrd(t.descs, ord, seq, h.ord, h.seq) >= 0 {
			return nil
		}
		t.fill(h, rec, ord, dk, hasKey, seq)
		t.down(i)
	case len(t.rows) < t.k:
		h = &heldRow{}
		t.fill(h, rec, ord, dk, hasKey, seq)
		t.rows = append(t.rows, h)
		if hasKey {
			t.byKey[h.dkey] = len(t.rows) - 1
		}
		t.up(len(t.rows) - 1)
	default:
		h = t.rows[0]
		if cmpOrd(t.descs, ord, seq, h.ord, h.seq) >= 0 {
			return nil
		}
		if h.hasKey {
			delete(t.byKey, h.dkey)
		}
		t.fill(h, rec, ord, dk, hasKey, seq)
		if hasKey {
			t.byKey[h.dkey] = 0
		}
		t.down(0)
	}
	if t.bytes > t.lim.maxBytes {
		return fmt.Errorf("rows: %w: more than %d bytes held", ErrTooLarge, t.lim.maxBytes)
	}
	return nil
}

// fill copies the current row into h, reusing h's storage.
func (t *topK) fill(h *heldRow, rec *record, ord []sortVal, dk []byte, hasKey bool, seq uint64) {
	t.bytes -= h.bytes
	ev := rec.ev
	h.ev = *ev
	n := int64(200 + len(ev.Message) + len(ev.Stream) + len(ev.Group))
	if h.set != nil {
		clear(h.set)
	}
	h.keys = h.keys[:0]
	if len(rec.set) > 0 {
		if h.set == nil {
			h.set = make(map[string]value, len(rec.set))
		}
		for k, v := range rec.set {
			h.set[k] = v
			n += int64(48 + len(k) + len(v.s))
		}
		h.keys = append(h.keys, rec.keys...)
	}
	h.ord = append(h.ord[:0], ord...)
	for _, v := range ord {
		n += int64(48 + len(v.v.s))
	}
	h.hasKey, h.seq = hasKey, seq
	h.dkey = ""
	if hasKey {
		h.dkey = string(dk)
		n += int64(len(dk))
	}
	h.bytes = n
	t.bytes += n
}

// sorted is a copy of the rows in order; the heap is left as it is.
func (t *topK) sorted() []*heldRow {
	out := append([]*heldRow(nil), t.rows...)
	slices.SortFunc(out, func(a, b *heldRow) int { return cmpOrd(t.descs, a.ord, a.seq, b.ord, b.seq) })
	return out
}
