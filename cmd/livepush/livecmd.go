package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/livepush/livepush/frames"
	"github.com/livepush/livepush/orchestrator"
	"github.com/livepush/livepush/orchestrator/control"
	"github.com/livepush/livepush/orchestrator/live"
	"github.com/urfave/cli/v2"
)

// defaultControl is where live mode's control API listens unless told.
const defaultControl = "127.0.0.1:7070"

// minToken is the shortest control token taken: a short one is guessed.
const minToken = 16

// liveSetup is what stream has made of the flags both modes share.
type liveSetup struct {
	log    *slog.Logger
	masker *orchestrator.Masker
	prog   *progress
	enc    orchestrator.Encoding
	fit    frames.Fit
	output string
	tls    orchestrator.TLS
}

// streamLive runs --live: the stream never ends on its own; speech and
// pictures come over the control API.
func streamLive(c *cli.Context, ls liveSetup) error {
	log, m, enc, fit, output, tls := ls.log, ls.masker, ls.enc, ls.fit, ls.output, ls.tls
	switch {
	case c.Bool("loop"):
		return bad(errors.New("--loop has no use with --live: queue speech over the control API instead"))
	case !c.Bool("realtime"):
		return bad(errors.New("--realtime=false has no use with --live: a live stream is paced to the wall clock"))
	case c.Duration("max-queue") <= 0:
		return bad(errors.New("--max-queue must be positive"))
	}
	token := c.String("control-token")
	addr := strings.TrimSpace(c.String("control"))
	if addr != "off" {
		if err := checkControl(addr, token); err != nil {
			return bad(err)
		}
	}
	maxUpload, err := parseBytes(c.String("max-upload"))
	if err != nil {
		return bad(fmt.Errorf("--max-upload: %w", err))
	}

	img, err := frames.LoadImage(c.String("image"), enc.Width, enc.Height, fit)
	if err != nil {
		return bad(err)
	}
	face, err := talkFlags(c)
	if err != nil {
		return bad(err)
	}
	talking, blinking, err := face.load(enc, fit)
	if err != nil {
		return bad(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	abort := make(chan struct{})
	s, err := live.New(live.Config{
		Config:    supervisorConfig(c, output, tls, enc, abort, log, m),
		Image:     img,
		ImageName: c.String("image"),
		Talk:      talking,
		Blink:     blinking,
		Detector:  face.detector,
		Fit:       fit,
		MaxQueue:  c.Duration("max-queue"),
	})
	if err != nil {
		return bad(err)
	}
	if path := strings.TrimSpace(c.String("audio")); path != "" {
		if _, err := s.SpeakFile(path, false); err != nil {
			return bad(err)
		}
	}

	// The control address is taken before anything starts, so that one in
	// use is bad input, not a stream without control.
	var serve func(context.Context) error
	if addr != "off" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return bad(fmt.Errorf("--control %s: %w", addr, err))
		}
		// Uploads wait in a folder of our own: one that SIGKILL leaves
		// behind is removed by the next livepush, as its FIFOs are.
		uploads, err := orchestrator.PrivateDir()
		if err != nil {
			ln.Close()
			return fmt.Errorf("upload folder: %w", err)
		}
		defer os.RemoveAll(uploads)
		srv, err := control.New(control.Config{Stream: s, Token: token, MaxUpload: maxUpload, Logger: log,
			Version: version(), TempDir: uploads})
		if err != nil {
			ln.Close()
			return bad(err)
		}
		serve = func(ctx context.Context) error { return srv.Serve(ctx, ln) }
		log.Info("control API listening", "address", ln.Addr().String(), "token", token != "")
	}

	stopSignals := handleSignals(log, signalActions{stop: s.Stop, abort: func() { close(abort) }, exit: os.Exit})
	defer stopSignals()

	log.Info("streaming live", "output", m.Mask(strings.Join(outputList(c), " ")), "size", fmt.Sprintf("%dx%d", enc.Width, enc.Height),
		"fps", enc.FPS, "gop", enc.GOP, "audio", fmt.Sprintf("%d Hz %s", enc.SampleRate, channelNames(enc.Channels)))
	served := make(chan error, 1)
	serveCtx, stopServing := context.WithCancel(ctx)
	if serve != nil {
		go func() { served <- serve(serveCtx) }()
	} else {
		served <- nil
	}
	stopProgress := ls.prog.start(func() progressInfo { return liveProgress(s.Status()) })
	err = s.Run(ctx)
	stopProgress()
	stopServing()
	if serr := <-served; serr != nil && err == nil {
		log.Warn("control API", "error", serr)
	}
	if errors.Is(err, orchestrator.ErrCertificate) {
		err = fmt.Errorf("%w (if the server has a private CA, give it with --tls-ca-file PATH, or skip the check with --tls-verify=false)", err)
	}
	return err
}

// checkControl refuses a control address that others could reach unless
// a token guards it, and a token too short to do so.
func checkControl(addr, token string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--control %q: want host:port, e.g. %s", addr, defaultControl)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("--control %q: bad port %q", addr, port)
	}
	if token != "" && len(token) < minToken {
		return fmt.Errorf("--control-token: at least %d characters", minToken)
	}
	if token == "" && !loopback(host) {
		return fmt.Errorf("--control %s is reachable from other hosts: set --control-token (or LIVEPUSH_CONTROL_TOKEN), or listen on 127.0.0.1", addr)
	}
	return nil
}

// loopback reports whether host names this machine only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseBytes reads a size such as 64MiB, 16M, 512k or 1048576.
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"k", 1 << 10}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("%q: want a size such as 64MiB", s)
	}
	return n * mult, nil
}
