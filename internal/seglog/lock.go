package seglog

import "github.com/cellwatch/cellwatch/internal/dirlock"

// LockDir is dirlock.Lock, kept for the embedded stream (stream.OpenEmbedded)
// until it calls dirlock itself.
var LockDir = dirlock.Lock
