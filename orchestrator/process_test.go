package orchestrator

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sigCountEnv makes the test binary a child that counts the SIGINTs it gets
// (see countSIGINT).
const sigCountEnv = "LIVEPUSH_COUNT_SIGINT"

// countSIGINT prints "ready", counts the SIGINTs it gets for a second, and
// prints the count. Its main thread spins meanwhile, so that a signal is
// taken as soon as it comes.
func countSIGINT() int {
	runtime.LockOSThread()         // the main thread, which a signal to the process goes to first
	sig := make(chan os.Signal, 8) // each delivery is one element, counted at the end
	signal.Notify(sig, os.Interrupt)
	fmt.Println("ready")
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
	}
	signal.Stop(sig)
	fmt.Println(len(sig))
	return 0
}

// startCounter starts a countSIGINT child, in a process group of its own as
// ffmpeg is, and returns it once it is ready, with a func that waits for it
// and returns the number of SIGINTs it got.
func startCounter(t *testing.T) (*os.Process, func() string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), sigCountEnv+"=1")
	setProcAttr(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not get ready: %q %v", sc.Text(), sc.Err())
	}
	return cmd.Process, func() string {
		var count string
		if sc.Scan() {
			count = strings.TrimSpace(sc.Text())
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("child: %v", err)
		}
		return count
	}
}

// TestInterruptSignalsOnce: stopping ffmpeg sends one SIGINT, as ffmpeg
// aborts its output's I/O from the second SIGINT it handles on. Two sent back
// to back mostly merge into one, which a real child could not tell apart, so
// the group signal is recorded instead of sent, and the process itself must
// then get nothing.
func TestInterruptSignalsOnce(t *testing.T) {
	p, wait := startCounter(t)
	var sent []syscall.Signal
	err := interruptVia(p, func(q *os.Process, sig syscall.Signal) error {
		if q.Pid != p.Pid {
			t.Errorf("group signal for pid %d, want %d", q.Pid, p.Pid)
		}
		sent = append(sent, sig)
		return nil
	})
	if err != nil {
		t.Errorf("interrupt: %v", err)
	}
	if got := wait(); got != "0" {
		t.Errorf("the process got %s SIGINTs besides its group's, want 0", got)
	}
	if len(sent) != 1 || sent[0] != syscall.SIGINT {
		t.Errorf("group signals %v, want one SIGINT", sent)
	}
}

// TestInterruptReachesProcess: with the real group signal the process gets
// its SIGINT (it leads its group); when the group signal fails, the process
// is signalled alone.
func TestInterruptReachesProcess(t *testing.T) {
	p, wait := startCounter(t)
	if err := interrupt(p); err != nil {
		t.Errorf("interrupt: %v", err)
	}
	if got := wait(); got != "1" {
		t.Errorf("through the group: the process got %q SIGINTs, want 1", got)
	}
	p, wait = startCounter(t)
	err := interruptVia(p, func(*os.Process, syscall.Signal) error { return syscall.ESRCH })
	if err != nil {
		t.Errorf("interrupt: %v", err)
	}
	if got := wait(); got != "1" {
		t.Errorf("without a group: the process got %q SIGINTs, want 1", got)
	}
}
