// Package dirlock keeps one process at a time in a directory: Lock takes an
// exclusive, non-blocking flock(2) on a lock file in it and writes the
// holder's pid there, so the process refused can name the one in the way.
// The kernel drops the lock when the file is closed or the process dies.
//
// The data directory of cmd/cellwatch, the WAL's directory (fallback) and the
// embedded stream's directory (stream, through internal/seglog) are each
// locked with it.
package dirlock
