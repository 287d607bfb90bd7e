//go:build unix

package osmem

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

func mapAnon(n int64) ([]byte, error) {
	if uint64(n) > uint64(^uintptr(0)>>1) {
		return nil, unix.ENOMEM
	}
	p, err := unix.MmapPtr(-1, 0, nil, uintptr(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		return nil, err
	}
	return unsafe.Slice((*byte)(p), int(n)), nil
}

func unmap(b []byte) {
	_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(cap(b)))
}

// unlimited is the size from which a limit means "none" (cgroup v1 writes
// a page-rounded 2^63-1).
const unlimited = 1 << 62

func minLimit(cur, v int64) int64 {
	if v <= 0 || v >= unlimited {
		return cur
	}
	if cur == 0 || v < cur {
		return v
	}
	return cur
}

func readLimit() int64 {
	var lim int64
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) == nil {
		lim = minLimit(lim, int64(si.Totalram)*int64(si.Unit))
	}
	for _, r := range []int{unix.RLIMIT_AS, unix.RLIMIT_DATA} {
		var rl unix.Rlimit
		if unix.Getrlimit(r, &rl) == nil && rl.Cur < unlimited {
			lim = minLimit(lim, int64(rl.Cur))
		}
	}
	for _, d := range cgroupDirs() {
		for _, f := range []string{"memory.max", "memory.limit_in_bytes"} {
			lim = minLimit(lim, readInt(d+"/"+f))
		}
	}
	return lim
}

// Available returns how many bytes the process can still get without the
// system swapping or killing: MemAvailable, less what the cgroup's limit
// leaves. ok is false when neither could be read.
func Available() (n int64, ok bool) {
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == "MemAvailable:" {
				if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
					n, ok = kb<<10, true
				}
			}
		}
	}
	for _, d := range cgroupDirs() {
		for _, f := range [][2]string{{"memory.max", "memory.current"}, {"memory.limit_in_bytes", "memory.usage_in_bytes"}} {
			m, c := readInt(d+"/"+f[0]), readInt(d+"/"+f[1])
			if m > 0 && m < unlimited && c >= 0 {
				if left := max(m-c, 0); !ok || left < n {
					n, ok = left, true
				}
			}
		}
	}
	return n, ok
}

// cgroupDirs lists the directories where this process's memory cgroup
// files may be, for cgroup v2 and v1 (the memory controller's path).
func cgroupDirs() []string {
	dirs := []string{"/sys/fs/cgroup", "/sys/fs/cgroup/memory"}
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) != 3 || parts[2] == "/" || strings.Contains(parts[2], "..") {
				continue
			}
			switch {
			case parts[0] == "0" && parts[1] == "":
				dirs = append(dirs, "/sys/fs/cgroup"+parts[2])
			case strings.Contains(","+parts[1]+",", ",memory,"):
				dirs = append(dirs, "/sys/fs/cgroup/memory"+parts[2])
			}
		}
	}
	return dirs
}

// readInt reads a file holding one integer ("max" and errors give -1).
func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return -1
	}
	return v
}
