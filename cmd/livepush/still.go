package main

import "github.com/livepush/livepush/frames"

// still is the stream's image while it is being decoded. Decoding and
// resizing a large image takes about as long as ffmpeg's start-up (loading
// its shared libraries): one after the other, they would delay the first
// frame by both. So the supervisor starts ffmpeg at once, and the video
// writer asks for its first frame before it opens the pipe: a file that
// fails to decode (its header was checked already) ends the stream before
// ffmpeg has read an input or opened its output.
type still struct {
	done  chan struct{}
	frame *frames.Frame
	err   error
}

// loadStill starts decoding; wait (or NextFrame) waits for it to end.
// ready, if not nil, runs in the decoding goroutine once the image is
// decoded, whether or not that failed.
func loadStill(path string, width, height int, fit frames.Fit, ready func()) *still {
	s := &still{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		s.frame, s.err = frames.LoadImage(path, width, height, fit)
		if s.err != nil {
			s.err = bad(s.err)
		}
		if ready != nil {
			ready()
		}
	}()
	return s
}

// NextFrame returns the decoded image, the same slice every time.
func (s *still) NextFrame() ([]byte, error) {
	<-s.done
	if s.err != nil {
		return nil, s.err
	}
	return s.frame.Pix, nil
}

// wait waits for the decoding goroutine to end.
func (s *still) wait() { <-s.done }
