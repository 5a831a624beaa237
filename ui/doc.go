// Package ui holds the web interface (a React + Vite + TypeScript app in this
// folder) and serves its build: compiled in with the "embed" build tag, or a
// placeholder page without it, so the Go code builds and tests without Node.
package ui
