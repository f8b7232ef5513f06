package orchestrator

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deadPid returns the pid of a process that has ended and been reaped.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// liveChild starts a process that lives until the test ends and returns its
// pid and start time.
func liveChild(t *testing.T) (int, uint64) {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	start, _, err := procStart(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid, start
}

// zombieChild returns a child that has exited and is not reaped yet, with its
// start time.
func zombieChild(t *testing.T) (int, uint64) {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	start, _, err := procStart(pid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Wait() })
	syscall.Kill(pid, syscall.SIGKILL)
	if !eventually(10*time.Second, func() bool { _, z, _ := procStart(pid); return z }) {
		t.Fatal("the child did not become a zombie")
	}
	return pid, start
}

// makeStale makes a FIFO folder as newPipeDir does, named for o, in dir.
func makeStale(t *testing.T, dir string, o owner) string {
	t.Helper()
	p, err := os.MkdirTemp(dir, o.pipeDirPattern())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(p, "video"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRemoveStalePipeDirs: only folders named by a livepush of this user
// and pid namespace whose process has ended are removed; the folders of
// running ones, and everything else, stay.
func TestRemoveStalePipeDirs(t *testing.T) {
	self, err := selfOwner()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	livePid, liveStart := liveChild(t)
	zPid, zStart := zombieChild(t)
	dead := deadPid(t)
	gone := []string{
		makeStale(t, dir, owner{pid: dead, start: 12345, ns: self.ns}),                  // gone
		makeStale(t, dir, owner{pid: livePid, start: liveStart + 1, ns: self.ns}),       // pid reused by another process
		makeStale(t, dir, owner{pid: self.pid, start: self.start - 1, ns: self.ns}),     // pid reused by us
		makeStale(t, dir, owner{pid: zPid, start: zStart, ns: self.ns}),                 // a zombie
		makeStale(t, dir, owner{pid: os.Getppid(), start: 1<<63 + 7, ns: self.ns}),      // another start time
		makeStale(t, dir, owner{pid: dead, start: 0, ns: self.ns}),                      // no start time recorded
		makeStale(t, dir, owner{pid: 4194304 + 1, start: self.start, ns: self.ns}),      // beyond any pid
		makeStale(t, dir, owner{pid: livePid, start: liveStart + 1000000, ns: self.ns}), // pid reused, far apart
	}
	kept := []string{
		makeStale(t, dir, self), // this process's own folder
		makeStale(t, dir, owner{pid: livePid, start: liveStart, ns: self.ns}), // a livepush running beside us
		makeStale(t, dir, owner{pid: dead, start: 12345, ns: self.ns + 1}),    // another pid namespace: cannot tell
	}
	// Names not made by pipeDirPattern, and things that are not our folders.
	for _, name := range []string{
		"livepush-123456", // the old, ownerless names
		fmt.Sprintf("livepush-%d-1-%d-", dead, self.ns),
		fmt.Sprintf("livepush-%d-1-%d-12x", dead, self.ns),
		fmt.Sprintf("livepush-%d-1-%d-12-3", dead, self.ns),
		fmt.Sprintf("livepush-0%d-1-%d-12", dead, self.ns),
		fmt.Sprintf("livepushx-%d-1-%d-12", dead, self.ns),
		fmt.Sprintf("xlivepush-%d-1-%d-12", dead, self.ns),
		fmt.Sprintf("livepush--%d-1-%d-12", dead, self.ns),
		fmt.Sprintf("LIVEPUSH-%d-1-%d-12", dead, self.ns),
	} {
		p := filepath.Join(dir, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, p)
	}
	file := filepath.Join(dir, fmt.Sprintf("livepush-%d-1-%d-77", dead, self.ns))
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	target := t.TempDir()
	link := filepath.Join(dir, fmt.Sprintf("livepush-%d-1-%d-78", dead, self.ns))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	kept = append(kept, file, link, target)
	if os.Geteuid() == 0 {
		other := makeStale(t, dir, owner{pid: dead, start: 99, ns: self.ns})
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, other)
	} else {
		t.Log("not root: another user's folder is not tested")
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if n := removeStalePipeDirs(dir, log); n != len(gone) {
		t.Errorf("removed %d folders, want %d", n, len(gone))
	}
	for _, p := range gone {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("stale %s not removed (%v)", filepath.Base(p), err)
		}
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
	out := logs.String()
	if want := fmt.Sprintf("level=INFO msg=\"removed FIFO folders left by livepush processes that were killed\" count=%d", len(gone)); !strings.Contains(out, want) {
		t.Errorf("no info line %q in the log:\n%s", want, out)
	}
	if got := strings.Count(out, "level=DEBUG msg=\"removed a stale FIFO folder\""); got != len(gone) {
		t.Errorf("%d debug lines naming a removed folder, want %d:\n%s", got, len(gone), out)
	}

	// Nothing left to remove: a second pass removes nothing and says nothing at info.
	logs.Reset()
	if n := removeStalePipeDirs(dir, log); n != 0 {
		t.Errorf("second pass removed %d", n)
	}
	if strings.Contains(logs.String(), "level=INFO") {
		t.Errorf("second pass logged at info:\n%s", logs.String())
	}
}

// TestPipeDirNamedForOwner: the FIFO folders the supervisor makes carry
// their owner, which parseOwner reads back.
func TestPipeDirNamedForOwner(t *testing.T) {
	self, err := selfOwner()
	if err != nil {
		t.Skip(err)
	}
	pd, err := newPipeDir()
	if err != nil {
		t.Fatal(err)
	}
	defer pd.remove()
	o, ok := parseOwner(filepath.Base(pd.dir))
	if !ok || o != self {
		t.Errorf("folder %s: owner %+v (%v), want %+v", pd.dir, o, ok, self)
	}
	if removeStalePipeDirs(filepath.Dir(pd.dir), slog.New(slog.DiscardHandler)) != 0 {
		t.Error("removed a folder of this process")
	}
	if _, err := os.Stat(pd.video); err != nil {
		t.Error(err)
	}
}

// TestSupervisorRemovesStalePipeDirs: Run removes, before it starts ffmpeg,
// the FIFO folder of a livepush that was killed.
func TestSupervisorRemovesStalePipeDirs(t *testing.T) {
	self, err := selfOwner()
	if err != nil {
		t.Skip(err)
	}
	h := newHarness(t)
	stale := makeStale(t, os.TempDir(), owner{pid: deadPid(t), start: 1, ns: self.ns})
	t.Cleanup(func() { os.RemoveAll(stale) })
	ctx, _ := h.context(30 * time.Second)
	cfg := h.config(h.fake("permanent"))
	_, res := h.start(ctx, cfg)
	h.waitRun(res, 20*time.Second)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale folder %s still there after Run (%v)", stale, err)
	}
	if rs := h.logs.with("removed FIFO folders left by livepush processes that were killed", nil); len(rs) != 1 || rs[0].int("count") != 1 {
		t.Errorf("log records of the removal: %v, want one with count 1", rs)
	}
}
