//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlitestore

import (
	"errors"
	"os"
	"sync"
)

// errLocked: another Store of this process owns the file.
var errLocked = errors.New("locked")

// owned holds the lock files owned by Stores of this process, on platforms
// without flock: there the owner lock excludes only this process's other
// Stores, and Open does not release a predecessor's leases (they run out).
var owned sync.Map // lock path -> struct{}

func tryLock(f *os.File) (exclusive bool, err error) {
	if _, dup := owned.LoadOrStore(f.Name(), struct{}{}); dup {
		return false, errLocked
	}
	return false, nil
}

func unlock(f *os.File) { owned.Delete(f.Name()) }
