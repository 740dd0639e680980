package sqlitestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ErrStoreInUse: Open found the store file owned by another Store, in this
// process or another one. A SQLite store has one owner at a time: two owners would
// release each other's leases and idempotency claims and handle the same envelope
// twice. The error names the file (and the owner's process ID when known).
var ErrStoreInUse = errors.New("sqlitestore: the store file is in use by another Store")

// ownerLockSuffix names the sidecar file whose exclusive OS lock (flock) marks the
// owner of a store file: "<path>-lock". The lock lives as long as the Store and
// ends with its process, however that ends, so holding it proves that no
// previous owner is alive. The file itself is left in place when the Store
// closes; removing it would let two processes lock two different files.
const ownerLockSuffix = "-lock"

// owner is the lock that makes a Store the one owner of its file.
type owner struct {
	f    *os.File
	once sync.Once
	// exclusive reports whether the lock excludes other processes (flock). Where
	// the platform has no such lock it is false, and Open leaves a predecessor's
	// leases to run out instead of releasing them.
	exclusive bool
	err       error // of the release
}

// lockOwner takes the owner lock of the store file at path, or fails at once with
// ErrStoreInUse.
func lockOwner(path string) (*owner, error) {
	lockPath := ownerLockPath(path)
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open the owner lock %s: %w", lockPath, err)
	}
	exclusive, err := tryLock(f)
	if errors.Is(err, errLocked) {
		holder := ""
		if b, rerr := os.ReadFile(lockPath); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = fmt.Sprintf(", owner pid %d", pid)
			}
		}
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s (lock %s%s)", ErrStoreInUse, path, lockPath, holder)
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("sqlitestore: lock %s: %w", lockPath, err)
	}
	// The owner's process ID, for the error a second Open reports; best effort.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &owner{f: f, exclusive: exclusive}, nil
}

// ownerLockPath is the lock file of the store file at path. Symbolic links are
// resolved, so that two names of one file share one lock.
func ownerLockPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return path + ownerLockSuffix
}

// release ends the ownership (closing the file drops the lock). Only the first
// call acts; later ones return its result. The zero owner (OpenReadOnly's)
// holds nothing.
func (o *owner) release() error {
	o.once.Do(func() {
		if o.f == nil { // OpenReadOnly: no lock was taken
			return
		}
		unlock(o.f)
		o.err = o.f.Close()
	})
	return o.err
}
