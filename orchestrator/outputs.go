package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// EventKind says what an Event reports.
type EventKind int

const (
	EventState      EventKind = iota // the stream's state changed, or its ffmpeg restarts
	EventOutputUp                    // an output of several went on air
	EventOutputDown                  // an output of several went off air
)

func (k EventKind) String() string {
	switch k {
	case EventState:
		return "state"
	case EventOutputUp:
		return "output_up"
	case EventOutputDown:
		return "output_down"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// hubPipe is where the encoder writes its FLV for the hub: the first of
// cmd.ExtraFiles.
const hubPipe = "pipe:3"

// multi reports whether the outputs are fed from the hub: there are
// several, or they reconnect as planned.
func (c *Config) multi() bool {
	return len(c.Outputs) > 1 || c.ReconnectEvery > 0 && len(c.Outputs) > 0
}

// withOutputs merges the secrets of every output into m.
func withOutputs(m *Masker, outputs []string) *Masker {
	for _, o := range outputs {
		for _, s := range NewMasker(o, false).secrets {
			m = m.WithSecret(s)
		}
	}
	return m
}

// MaskerFor is a Masker for every output given.
func MaskerFor(outputs []string, show bool) *Masker {
	if len(outputs) == 0 {
		return NewMasker("", show)
	}
	return withOutputs(NewMasker(outputs[0], show), outputs[1:])
}

// Outputs reports each output's status when the stream has several, in the
// order given; nil with one output. Safe from any goroutine.
func (s *Supervisor) Outputs() []OutputStatus {
	if s.hub == nil {
		return nil
	}
	out := make([]OutputStatus, len(s.relays))
	for i, r := range s.relays {
		out[i] = r.status()
	}
	return out
}

func (s *Supervisor) notifyOutput(k EventKind, r *relay, err string) {
	s.notify(Event{Kind: k, State: s.State(), Output: r.masked, OutputN: r.n, Err: err})
}

// startRelays starts one relay per output. The returned function ends the
// stream for them: the hub is closed, each relay writes what is left and
// its ffmpeg finishes; one that has not after StopTimeout is stopped, and
// Abort stops them at once. It returns once every relay has.
func (s *Supervisor) startRelays() func() {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, r := range s.relays {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.run(ctx)
		}()
	}
	all := make(chan struct{})
	go func() {
		wg.Wait()
		close(all)
	}()
	aborted := make(chan struct{})
	go func() {
		select {
		case <-s.cfg.Abort:
			cancel()
		case <-aborted:
		}
	}()
	return func() {
		defer close(aborted)
		s.hub.close()
		t := time.NewTimer(s.cfg.StopTimeout)
		defer t.Stop()
		select {
		case <-all:
		case <-t.C:
			s.cfg.Logger.Warn("outputs still finishing after the stop timeout: stopping them")
			cancel()
			<-all
		}
		cancel()
	}
}

// encoderArgs are the encoder's arguments with several outputs: FLV to the
// hub's pipe instead of the network.
func encoderArgs(e Encoding, videoPipe, audioPipe string) []string {
	args := Args(e, videoPipe, audioPipe, Target{Output: "hub.flv"})
	// The output is Args' last word; a pipe cannot be seeked back to.
	return append(args[:len(args)-1], "-flvflags", "no_duration_filesize", hubPipe)
}

// hubFeed is the reader of one encoder run's FLV.
type hubFeed struct {
	w    *os.File // the encoder's end, closed once it has started
	r    *os.File
	done chan error
}

// startHubFeed makes the pipe the encoder of a run starting at media time
// base writes to.
func (s *Supervisor) startHubFeed(base time.Duration) (*hubFeed, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("hub pipe: %w", err)
	}
	s.hub.startRun(base.Milliseconds())
	f := &hubFeed{w: w, r: r, done: make(chan error, 1)}
	go func() { f.done <- s.readHub(r) }()
	return f, nil
}

// readHub parses the encoder's FLV into the hub until it ends. It never
// stops reading before EOF: a stalled pipe would stall the encoder.
func (s *Supervisor) readHub(r io.Reader) error {
	fr, err := newFLVReader(r)
	if err == nil {
		for {
			var t *flvTag
			if t, err = fr.next(); err != nil {
				break
			}
			s.hub.add(t)
		}
	}
	io.Copy(io.Discard, r)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// wait waits for the reader after the encoder exited, at most grace (a
// process that outlived the encoder may hold the pipe open).
func (f *hubFeed) wait(grace time.Duration) error {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-f.done:
		f.r.Close()
		return err
	case <-t.C:
		f.r.Close()
		return <-f.done
	}
}

// validateOutputs checks the output, or each of several, and that the TLS
// settings go with an rtmps one.
func validateOutputs(cfg Config) error {
	if !cfg.multi() {
		if err := Output(cfg.Output).Validate(); err != nil {
			return err
		}
		return cfg.TLS.Validate(cfg.Output)
	}
	tlsFor := ""
	for _, o := range cfg.Outputs {
		if err := Output(o).Validate(); err != nil {
			return err
		}
		if tlsFor == "" || isRTMPS(o) {
			tlsFor = o
		}
	}
	return cfg.TLS.Validate(tlsFor)
}

// DryRunCommands are the command lines Run would start first with several
// outputs: the encoder, writing FLV to livepush, then each output's ffmpeg
// reading it on stdin. Secrets are masked unless the Masker shows them.
func DryRunCommands(ffmpeg string, e Encoding, outputs []string, tls TLS, m *Masker) []string {
	dir := filepath.Join(os.TempDir(), "livepush-XXXXXXXX")
	lines := []string{quoteMasked(append([]string{ffmpeg}, encoderArgs(e, filepath.Join(dir, "video"), filepath.Join(dir, "audio"))...), m)}
	for _, o := range outputs {
		lines = append(lines, quoteMasked(append([]string{ffmpeg}, RelayArgs(Target{Output: o, TLS: tls})...), m))
	}
	return lines
}

func quoteMasked(args []string, m *Masker) string {
	for i, a := range args {
		args[i] = m.Mask(a)
	}
	return ShellQuote(args)
}
