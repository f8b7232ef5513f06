package live_test

import (
	"testing"
	"time"
)

// TestBehindLiveBeforeAnything: a clip queued before any speech has aired
// (the stream starting, or waiting to restart) puts nothing behind the
// live edge.
func TestBehindLiveBeforeAnything(t *testing.T) {
	s, _ := newStream(t)
	if _, err := s.SpeakPCM(tone(600, 400*time.Millisecond), false); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.BehindLive != 0 {
		t.Errorf("BehindLive = %v with one clip queued and nothing aired, want 0", st.BehindLive)
	}
}
