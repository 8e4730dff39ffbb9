package pattern

import "strings"

// glob is a string pattern where '*' stands for any run of characters. It
// is kept as its literal pieces so matching is a few strings.Index calls:
// linear in the subject for each piece, with no backtracking.
type glob struct {
	lit    string   // the pattern when it has no '*'
	pieces []string // split on '*' when it has one
}

func newGlob(s string) glob {
	if !strings.Contains(s, "*") {
		return glob{lit: s}
	}
	return glob{pieces: strings.Split(s, "*")}
}

// match reports whether the whole of s matches. The first piece is anchored
// at the start, the last at the end, and the middle ones are found leftmost
// in between, which is enough for '*' alone: an earlier placement of a
// piece never prevents a later one from fitting.
func (g glob) match(s string) bool {
	if g.pieces == nil {
		return s == g.lit
	}
	first, last := g.pieces[0], g.pieces[len(g.pieces)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	mid := s[len(first) : len(s)-len(last)]
	for _, piece := range g.pieces[1 : len(g.pieces)-1] {
		i := strings.Index(mid, piece)
		if i < 0 {
			return false
		}
		mid = mid[i+len(piece):]
	}
	return true
}
