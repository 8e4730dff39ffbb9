// Package ui is cellwatch's built-in status page, served on the public port
// at GET / and under /ui/ (docs/ui.md). It shows the node's stream mode and
// backlog, the local store's window and what of it is covered, every alarm
// with its state and reason, the dashboards stored through the Dashboards
// API drawn as line charts, and an ad-hoc chart of any metric.
//
// Everything is rendered on the server: html/template pages with inline SVG
// charts, one embedded stylesheet, no JavaScript, nothing loaded from
// elsewhere. The page only reads: its forms are GET forms, and the Content
// Security Policy forbids scripts, frames and other origins.
//
// It reads only the node's local state through the small interfaces of
// Config (a status function, the alarm list, the dashboard store and the
// query read path over the local and long-term stores); none of them waits
// on the stream, so the page keeps working while the stream is down.
package ui
