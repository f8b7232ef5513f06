package orchestrator

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
)

// owner is the livepush process a FIFO folder belongs to. Its name carries
// the owner (see pipeDirPattern), so that a later livepush can tell a folder
// left by one that was killed (SIGKILL runs no clean-up) from a folder in use.
type owner struct {
	pid   int
	start uint64 // when the process started, in clock ticks since boot: a reused pid has another
	ns    uint64 // inode of its pid namespace: pids are compared only within one
}

// pipeDirPattern is the os.MkdirTemp pattern of o's FIFO folders.
func (o owner) pipeDirPattern() string {
	return fmt.Sprintf("livepush-%d-%d-%d-*", o.pid, o.start, o.ns)
}

// pipeDirName matches the names pipeDirPattern makes, and only those.
var pipeDirName = regexp.MustCompile(`^livepush-([1-9][0-9]{0,9})-([0-9]{1,20})-([0-9]{1,20})-[0-9]+$`)

// parseOwner reads the owner from a FIFO folder's name.
func parseOwner(name string) (owner, bool) {
	m := pipeDirName.FindStringSubmatch(name)
	if m == nil {
		return owner{}, false
	}
	pid, err1 := strconv.Atoi(m[1])
	start, err2 := strconv.ParseUint(m[2], 10, 64)
	ns, err3 := strconv.ParseUint(m[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return owner{}, false
	}
	return owner{pid: pid, start: start, ns: ns}, true
}

// removeStalePipeDirs removes the FIFO folders in dir whose owner has
// provably ended: named as pipeDirPattern names them, in our pid namespace,
// owned by our user, and whose process is gone, a zombie, or another
// process now (another start time). Anything else is left alone, the
// folders of livepush processes running beside this one above all. It
// returns how many it removed.
func removeStalePipeDirs(dir string, log *slog.Logger) int {
	self, err := selfOwner()
	if err != nil {
		log.Debug("stale FIFO folders not looked for", "error", err)
		return 0
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Debug("stale FIFO folders not looked for", "error", err)
		return 0
	}
	removed := 0
	for _, e := range entries {
		o, ok := parseOwner(e.Name())
		if !ok || o.ns != self.ns || o == self {
			continue
		}
		path := filepath.Join(dir, e.Name())
		if !ownedDir(path) || !ended(o) {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			log.Warn("could not remove a stale FIFO folder", "dir", path, "error", err)
			continue
		}
		log.Debug("removed a stale FIFO folder", "dir", path, "owner_pid", o.pid)
		removed++
	}
	if removed > 0 {
		log.Info("removed FIFO folders left by livepush processes that were killed", "count", removed, "in", dir)
	}
	return removed
}

// ownedDir reports whether path is a folder (not a link to one) of our user.
func ownedDir(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() {
		return false
	}
	uid, ok := fileUID(fi)
	return ok && uid == os.Geteuid()
}

// ended reports whether o's process has provably ended; when in doubt
// (its /proc entry unreadable), it has not.
func ended(o owner) bool {
	start, zombie, err := procStart(o.pid)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return true
	}
	return err == nil && (zombie || start != o.start)
}
