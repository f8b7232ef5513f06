// Package frames prepares the media that livepush streams: still images as
// packed bgr24 video frames, and WAV speech as s16le PCM at the output rate.
// It starts no processes and knows nothing of ffmpeg.
package frames
