// Package par runs work concurrently within a limit: Group, for a bounded
// number of goroutines, and Batcher, for group commit (what arrives while
// one batch runs waits for the next, and goes with it).
package par
