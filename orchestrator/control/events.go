package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/livepush/livepush/orchestrator/live"
)

type eventJSON struct {
	Kind  string    `json:"kind"`
	Time  time.Time `json:"time"`
	ID    string    `json:"id,omitempty"`
	Media float64   `json:"media_seconds"`
	State string    `json:"state,omitempty"`
	Role  string    `json:"role,omitempty"`
	Image string    `json:"image,omitempty"`
	// Output and OutputN name the output of an output_up or output_down.
	Output  string `json:"output,omitempty"`
	OutputN int    `json:"output_n,omitempty"`
	Error   string `json:"error,omitempty"`
}

// events streams the stream's events as Server-Sent Events until the client
// goes, the stream closes the channel or the server shuts down.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.quit:
		s.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("shutting down"))
		return
	default:
	}
	rc := http.NewResponseController(w)
	// The server's write timeout would end a long stream. (Its read deadline
	// is cleared by net/http itself once a bodiless request is read.)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	ch, unsubscribe := s.cfg.Stream.Subscribe()
	defer unsubscribe()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx would hold events back
	w.WriteHeader(http.StatusOK)
	// A first comment sends the headers now, so the client knows it is subscribed.
	if _, err := fmt.Fprint(w, ": subscribed\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}

	beat := time.NewTicker(s.cfg.Heartbeat)
	defer beat.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		case <-beat.C:
			_, err = fmt.Fprint(w, ": heartbeat\n\n")
		case ev, ok := <-ch:
			if !ok {
				return
			}
			err = writeEvent(w, ev)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}

func writeEvent(w http.ResponseWriter, ev live.Event) error {
	data, err := json.Marshal(eventJSON{
		Kind:    ev.Kind,
		Time:    ev.Time,
		ID:      ev.ID,
		Media:   ev.Media.Seconds(),
		State:   ev.State,
		Role:    ev.Role,
		Image:   ev.Image,
		Output:  ev.Output,
		OutputN: ev.OutputN,
		Error:   ev.Error,
	})
	if err != nil {
		return err
	}
	// Kinds are fixed identifiers and JSON has no raw newline, so each part
	// stays on its line.
	_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", oneLine(ev.Kind), data)
	return err
}
