package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// survivePipes makes a write to a closed stdout or stderr (the reader of
// `livepush ... 2>&1 | tee log` gone first) fail with EPIPE instead of
// killing livepush, and with it ffmpeg, mid-stream. The signal is caught,
// not ignored: an ignored signal would stay ignored in ffmpeg across exec,
// a caught one is reset to the default there.
func survivePipes() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
}

// signalActions are what the signals of a stream do, in order.
type signalActions struct {
	stop  func()         // first signal: let ffmpeg finish the output
	abort func()         // second: kill ffmpeg
	exit  func(code int) // third and later: leave at once
}

// handleSignals runs act on the signals that end a stream: Ctrl-C, kill and
// docker stop, a closed terminal or dropped ssh session (SIGHUP, unless
// started under nohup), Ctrl-\ (SIGQUIT). The first stops, the second
// aborts, any later one exits with the shell's status for death by that
// signal (128+n), should the stop itself hang. The returned func stops
// listening and waits for the listener to end.
func handleSignals(log *slog.Logger, act signalActions) func() {
	sig := make(chan os.Signal, 4)
	stops := []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT}
	// Under nohup SIGHUP is ignored, and must stay so: Notify would undo it.
	if !signal.Ignored(syscall.SIGHUP) {
		stops = append(stops, syscall.SIGHUP)
	}
	signal.Notify(sig, stops...)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for n := 0; ; n++ {
			var s os.Signal
			select {
			case s = <-sig:
			case <-done:
				return
			}
			switch n {
			case 0:
				log.Info("stopping: letting ffmpeg finish the output (signal again to kill it)", "signal", s)
				act.stop()
			case 1:
				log.Warn("second signal: killing ffmpeg (signal again to exit at once)", "signal", s)
				act.abort()
			default:
				log.Warn("third signal: exiting at once", "signal", s)
				code := 128 + 15
				if n, ok := s.(syscall.Signal); ok {
					code = 128 + int(n)
				}
				act.exit(code)
				return
			}
		}
	}()
	return func() {
		signal.Stop(sig)
		close(done)
		<-finished
	}
}
