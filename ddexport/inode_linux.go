package ddexport

import (
	"os"
	"syscall"
)

// fileInode returns the inode number of the file at p.
func fileInode(p string) (uint64, bool) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Ino, true
}
