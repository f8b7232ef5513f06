// Package live keeps a stream on air without end: speech is queued, aired
// back to back and cut while the stream runs, the picture is swapped on air,
// and between utterances the current picture and silence go out at the same
// pace, so that the publish session never drops.
package live
