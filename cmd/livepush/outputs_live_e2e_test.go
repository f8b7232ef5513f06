package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// outputsStatus is the part of /v1/status that lists several outputs.
type outputsStatus struct {
	Output  string `json:"output"`
	Outputs []struct {
		URL        string  `json:"url"`
		State      string  `json:"state"`
		Since      *string `json:"connected_since"`
		Reconnects int     `json:"reconnects"`
		BytesSent  int64   `json:"bytes_sent"`
		Delay      float64 `json:"delay_seconds"`
		LastError  string  `json:"last_error"`
	} `json:"outputs"`
}

// waitOutputs polls the status until ok holds.
func (a liveAPI) waitOutputs(p *lpProc, what string, ok func(outputsStatus) bool) outputsStatus {
	a.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var st outputsStatus
		// The API may not listen yet.
		if code, b, err := a.try("GET", "/v1/status", nil); err == nil && code == 200 && json.Unmarshal(b, &st) == nil && ok(st) {
			return st
		}
		if time.Now().After(deadline) || p.Exited() {
			a.t.Fatalf("no %s within 30 s; last status %+v; stderr:\n%s", what, st, tail(p.Stderr.String(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestE2ELiveOutputs: live mode with two outputs to two nginx-rtmp servers,
// seen through the control API: the status lists both with masked URLs,
// /metrics has a series per output, and when one server goes away and
// comes back, the status, output_down and output_up events follow it,
// while the other output stays one publish session for the whole run.
func TestE2ELiveOutputs(t *testing.T) {
	t.Parallel()
	srvA, srvB := startRTMP(t), startRTMP(t)
	dir := t.TempDir()
	img := solidPNG(t, filepath.Join(dir, "g.png"), color.RGBA{0, 200, 0, 255}, 64)
	port := freePort(t)
	a := liveAPI{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p := startLivepush(t, lpOpts{}, "stream", "--live", "--image", img, "--size", "64x64",
		"-o", srvA.URL("keyA"), "-o", srvB.URL("keyB"), "--control", fmt.Sprintf("127.0.0.1:%d", port),
		"--restart-delay", "500ms", "--restart-max-delay", "20s")
	both := func(st outputsStatus) bool {
		return len(st.Outputs) == 2 && st.Outputs[0].State == "up" && st.Outputs[1].State == "up"
	}
	st := a.waitOutputs(p, "both outputs up", both)
	for i, o := range st.Outputs {
		if strings.Contains(o.URL, "key") || o.Since == nil || o.BytesSent == 0 {
			t.Errorf("output %d in the status: %+v (want its key masked, connected since, bytes sent)", i+1, o)
		}
	}
	metrics := string(a.expect(200, "GET", "/metrics", nil))
	for _, want := range []string{`livepush_output_up{output="1",url="`, `livepush_output_up{output="2",url="`,
		"livepush_output_sent_bytes_total{", "livepush_output_reconnects_total{", "livepush_output_delay_seconds{"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, "keyA") || strings.Contains(metrics, "keyB") {
		t.Error("/metrics shows a stream key")
	}
	events := watchEvents(t, a)

	srvB.Stop()
	a.waitOutputs(p, "the second output down", func(st outputsStatus) bool {
		return len(st.Outputs) == 2 && st.Outputs[1].State != "up" && st.Outputs[0].State == "up"
	})
	a.speak(makeToneWAV(t, filepath.Join(dir, "tone.wav"), 600, 1, 24000, 1), "")
	srvB.Start()
	st = a.waitOutputs(p, "the second output back", both)
	if st.Outputs[1].Reconnects == 0 || st.Outputs[1].LastError == "" || strings.Contains(st.Outputs[1].LastError, "keyB") {
		t.Errorf("the second output after its outage: %+v (want a reconnect, a masked last error)", st.Outputs[1])
	}
	p.Signal(syscall.SIGTERM)
	p.ExpectExit(0, 30*time.Second)
	<-events.done

	var kinds []string
	for _, k := range events.list() {
		if strings.HasPrefix(k, "output_") {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) < 2 || kinds[0] != "output_down" || kinds[len(kinds)-1] != "output_up" && kinds[len(kinds)-1] != "output_down" {
		t.Errorf("output events %v, want output_down first, then output_up", kinds)
	}
	if !strings.Contains(strings.Join(kinds, " "), "output_down output_up") {
		t.Errorf("output events %v: no output_up after the output_down", kinds)
	}
	if recs := srvA.WaitDone("keyA", 15*time.Second); len(recs) != 1 {
		t.Errorf("the first output has %d publish sessions, want 1: %v", len(recs), recs)
	}
	if strings.Count(p.Stderr.String(), `msg=state state=running`) > 1 {
		t.Errorf("output events are logged as changes of the stream's state:\n%s", tail(p.Stderr.String(), 30))
	}
}
