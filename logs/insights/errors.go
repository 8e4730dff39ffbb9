package insights

import (
	"errors"
	"fmt"
)

// Error is a query that does not compile. The caller answers it with a
// MalformedQueryException whose message is Message and whose
// queryCompileError location is Start and End (character offsets, the end
// exclusive). Message never repeats more than a short prefix of the query.
type Error struct {
	Message    string
	Start, End int
}

func (e *Error) Error() string { return e.Message }

// ErrMalformed is what every *Error matches with errors.Is.
var ErrMalformed = errors.New("malformed query")

// Is makes errors.Is(err, ErrMalformed) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrMalformed }

// errAt is an *Error for q[start:end] (byte offsets, turned into character
// offsets).
func errAt(q string, start, end int, format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...), Start: charOffset(q, start), End: charOffset(q, end)}
}

// charOffset is the number of characters in q[:i].
func charOffset(q string, i int) int {
	if i > len(q) {
		i = len(q)
	}
	n := 0
	for range q[:i] {
		n++
	}
	return n
}
