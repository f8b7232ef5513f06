package frames

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrTooLong reports a WAV that holds more audio than the caller takes.
var ErrTooLong = errors.New("audio too long")

// DecodeWAV reads the whole WAV at path as s16le PCM at rate and channels
// (resampled and mixed as OpenPCM does). A WAV longer than limit is refused
// from its header, before anything is decoded, so that a huge file costs
// no memory; limit <= 0 takes any length. Errors name the path and wrap
// ErrTooLong, ErrTruncated (the file was cut while it was read) or what
// OpenWAV returns (ErrNotWAV, ErrUnsupportedWAV, ErrNoSamples).
func DecodeWAV(path string, rate, channels int, limit time.Duration) ([]byte, error) {
	p, err := OpenPCM(path, rate, channels, false)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	return decodeAll(p, path, rate, channels, limit)
}

// decodeAll reads all of p into one buffer of the size its header promises.
func decodeAll(p *PCM, path string, rate, channels int, limit time.Duration) ([]byte, error) {
	n := p.Samples()
	if n <= 0 {
		return nil, fmt.Errorf("audio %q: %w", path, ErrNoSamples)
	}
	if d := framesDuration(n, rate); limit > 0 && d > limit {
		return nil, fmt.Errorf("audio %q: %w: %v, at most %v", path, ErrTooLong, d.Round(time.Millisecond), limit)
	}
	buf := make([]byte, 0, n*int64(channels)*2)
	var probe [64]byte
	for {
		var k int
		var err error
		if len(buf) < cap(buf) {
			k, err = p.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+k]
		} else {
			// Samples is exact, so this read only finds the end; were it
			// not, the buffer would grow by what is left.
			k, err = p.Read(probe[:])
			buf = append(buf, probe[:k]...)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			// The truncation error already names the path and how much
			// of the file was left.
			return nil, err
		}
	}
	if len(buf) == 0 {
		return nil, fmt.Errorf("audio %q: %w", path, ErrNoSamples)
	}
	return buf, nil
}

// framesDuration is n frames at rate as a duration, without the overflow
// of n*time.Second for long files.
func framesDuration(n int64, rate int) time.Duration {
	r := int64(rate)
	return time.Duration(n/r)*time.Second + time.Duration(n%r)*time.Second/time.Duration(r)
}
