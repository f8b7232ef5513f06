package orchestrator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSupervisorCertificateRefused: a refused certificate is final: one
// ffmpeg, no restart, and an error that says so (ErrCertificate) while
// keeping ffmpeg's own words and masking the key.
func TestSupervisorCertificateRefused(t *testing.T) {
	h := newHarness(t)
	ctx, _ := h.context(20 * time.Second)
	cfg := h.config(h.fake("certificate"))
	cfg.Output = "rtmps://127.0.0.1:1/live/" + supKey
	cfg.Masker = NewMasker(cfg.Output, false)
	sup, res := h.start(ctx, cfg)
	r := h.waitRun(res, 5*time.Second)
	if !errors.Is(r.err, ErrCertificate) {
		t.Fatalf("Run = %v, want ErrCertificate", r.err)
	}
	msg := r.err.Error()
	if !strings.Contains(msg, "Peer certificate failed verification") || strings.Contains(msg, supKey) {
		t.Errorf("error %q: want ffmpeg's reason, and no key", msg)
	}
	if st := sup.State(); st != StateFailed {
		t.Errorf("State() = %v, want failed", st)
	}
	if n := len(h.logs.pids()); n != 1 {
		t.Errorf("%d ffmpeg started, want 1", n)
	}
	h.checkNoRestart()
}

func TestTLSValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca := write("ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	junk := write("junk.pem", "not a certificate\n")
	key := write("key.pem", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
	const rtmps = "rtmps://h/live/" + supKey
	good := []struct {
		tls    TLS
		output string
	}{
		{TLS{}, rtmps}, {TLS{Insecure: true}, rtmps}, {TLS{CAFile: ca}, rtmps}, {TLS{CAFile: ca}, "RTMPS://h/live/key"},
		{TLS{}, "rtmp://h/live/key"}, {TLS{Insecure: true}, "out.flv"},
	}
	for _, g := range good {
		if err := g.tls.Validate(g.output); err != nil {
			t.Errorf("%+v.Validate(%q) = %v", g.tls, g.output, err)
		}
	}
	bad := []struct {
		tls    TLS
		output string
		want   string
	}{
		{TLS{CAFile: filepath.Join(dir, "missing.pem")}, rtmps, "no such file"},
		{TLS{CAFile: dir}, rtmps, "is a directory"},
		{TLS{CAFile: junk}, rtmps, "no PEM certificate"},
		{TLS{CAFile: key}, rtmps, "no PEM certificate"},
		{TLS{CAFile: ca, Insecure: true}, rtmps, "not verified"},
		{TLS{CAFile: ca}, "rtmp://h/live/" + supKey, "rtmps:// outputs only"},
		{TLS{CAFile: ca}, "out.flv", "rtmps:// outputs only"},
	}
	for _, b := range bad {
		err := b.tls.Validate(b.output)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%+v.Validate(%q) = %v, want ErrInvalidConfig saying %q", b.tls, b.output, err, b.want)
		}
		if err != nil && strings.Contains(err.Error(), supKey) {
			t.Errorf("error shows the stream key: %v", err)
		}
	}
}
