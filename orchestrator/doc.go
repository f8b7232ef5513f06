// Package orchestrator runs ffmpeg as a supervised child process, feeding it
// raw video frames and PCM audio through two named pipes paced to the wall
// clock, and restarting it on failure without losing media.
//
// It streams on Linux and other unix systems. Linux gets the cheap paths
// (vmsplice, a timerfd on the poller, a parent-death signal for ffmpeg, stale
// FIFO folders found through /proc); other unix systems get plain writes and
// runtime timers (the *_other.go and *_unix.go files). Elsewhere, Windows
// included, the package builds but every stream fails with an error wrapping
// errors.ErrUnsupported, as there are no named pipes or process groups to
// feed and stop ffmpeg with; the tests build on unix only.
package orchestrator
