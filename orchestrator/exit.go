package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
)

// classify turns Wait's result into nil for a clean end, or an error saying
// how ffmpeg ended. It is the one place that knows ffmpeg's exit statuses.
// While stopping, ffmpeg's answers to our SIGINT are clean: status 255 (its
// exit code after a signal), death by SIGINT, or os/exec's report that the
// context was cancelled.
func classify(waitErr error, stopping bool) error {
	if waitErr == nil {
		return nil
	}
	if stopping && (errors.Is(waitErr, context.Canceled) || errors.Is(waitErr, context.DeadlineExceeded)) {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(waitErr, &ee) {
		return fmt.Errorf("ffmpeg: %w", waitErr)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return fmt.Errorf("ffmpeg: %w", waitErr)
	case ws.Signaled():
		if stopping && (ws.Signal() == syscall.SIGINT || ws.Signal() == syscall.SIGTERM) {
			return nil
		}
		return fmt.Errorf("ffmpeg killed by signal %v", ws.Signal())
	case stopping && ws.ExitStatus() == 255:
		return nil
	}
	return fmt.Errorf("ffmpeg exited with status %d", ws.ExitStatus())
}
