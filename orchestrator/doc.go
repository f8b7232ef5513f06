// Package orchestrator runs ffmpeg as a supervised child process, feeding it
// raw video frames and PCM audio through two named pipes paced to the wall
// clock, and restarting it on failure without losing media.
package orchestrator
