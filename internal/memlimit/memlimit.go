// Package memlimit gives the Go runtime a soft memory limit derived from the
// collector's memory_limiter processors, so that the heap stays within the
// budget the configuration states without GOMEMLIMIT.
//
// The limit is memory_limiter's own soft limit, limit − spike (spike
// defaulting to a fifth of the limit, as memory_limiter does): the heap size
// at which memory_limiter starts refusing data. The garbage collector then
// works to keep the Go runtime's whole footprint there, which is the "80% of
// the hard limit" the processor's documentation recommends for GOMEMLIMIT
// with its default spike; the spike stays as headroom for what arrives
// between two checks, and memory_limiter's forced GC at the hard limit stays
// the backstop. Without a soft limit the heap grows to twice its live size
// between collections, far past the limiter's numbers.
package memlimit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// EnvVar is the Go runtime's own setting, which always wins.
const EnvVar = "GOMEMLIMIT"

const mib = 1 << 20

// Limit is a soft limit derived from one memory_limiter.
type Limit struct {
	// Bytes is the soft limit: Hard − Spike.
	Bytes uint64
	// Processor is the memory_limiter it comes from, e.g. memory_limiter/x.
	Processor string
	// Hard and Spike are that memory_limiter's limit and spike in bytes.
	Hard, Spike uint64
	// Total is the memory its percentages apply to; 0 for limit_mib.
	Total uint64
}

func (l Limit) String() string {
	s := fmt.Sprintf("%d MiB from %s (limit %d MiB − spike %d MiB", l.Bytes/mib, l.Processor, l.Hard/mib, l.Spike/mib)
	if l.Total > 0 {
		s += fmt.Sprintf(", percentages of %d MiB", l.Total/mib)
	}
	return s + ")"
}

// limiterConfig holds memory_limiter's fields that size it.
type limiterConfig struct {
	LimitMiB        uint32 `mapstructure:"limit_mib"`
	SpikeLimitMiB   uint32 `mapstructure:"spike_limit_mib"`
	LimitPercentage uint32 `mapstructure:"limit_percentage"`
	SpikePercentage uint32 `mapstructure:"spike_limit_percentage"`
}

// Derive finds the memory_limiter processors that some pipeline of conf
// uses and returns the smallest soft limit among them; ok is false when no
// pipeline has one. total gives the memory percentages refer to; it is
// called only for a percentage limit. An instance the collector itself
// would refuse (no limit, spike not below limit) is skipped.
func Derive(conf *confmap.Conf, total func() (uint64, error)) (lim Limit, ok bool, err error) {
	for _, id := range usedLimiters(conf) {
		sub, err := conf.Sub("processors::" + id)
		if err != nil {
			return Limit{}, false, err
		}
		var c limiterConfig
		if err := sub.Unmarshal(&c, confmap.WithIgnoreUnused()); err != nil {
			return Limit{}, false, fmt.Errorf("processors::%s: %w", id, err)
		}
		l := Limit{Processor: id}
		switch {
		case c.LimitMiB > 0:
			l.Hard, l.Spike = uint64(c.LimitMiB)*mib, uint64(c.SpikeLimitMiB)*mib
		case c.LimitPercentage > 0 && c.LimitPercentage <= 100 && c.SpikePercentage <= 100:
			t, err := total()
			if err != nil {
				return Limit{}, false, fmt.Errorf("%s sets limit_percentage, and the total memory cannot be read: %w", id, err)
			}
			l.Total = t
			l.Hard, l.Spike = uint64(c.LimitPercentage)*t/100, uint64(c.SpikePercentage)*t/100
		default:
			continue
		}
		if l.Spike == 0 {
			l.Spike = l.Hard / 5 // memory_limiter's default spike
		}
		if l.Spike >= l.Hard {
			continue
		}
		l.Bytes = l.Hard - l.Spike
		if !ok || l.Bytes < lim.Bytes {
			lim, ok = l, true
		}
	}
	return lim, ok, nil
}

// usedLimiters lists the memory_limiter processors named in a pipeline, each
// once, in the order pipelines name them; defined but unused ones never run.
func usedLimiters(conf *confmap.Conf) []string {
	pipelines, _ := conf.Get("service::pipelines").(map[string]any)
	defined, _ := conf.Get("processors").(map[string]any)
	names := make([]string, 0, len(pipelines))
	for n := range pipelines {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		p, _ := pipelines[n].(map[string]any)
		list, _ := p["processors"].([]any)
		for _, v := range list {
			id := fmt.Sprint(v)
			typ, _, _ := strings.Cut(id, "/")
			if typ != "memory_limiter" || seen[id] {
				continue
			}
			if _, isDefined := defined[id]; !isDefined {
				continue
			}
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// TotalMemory is the memory memory_limiter's percentages refer to, found as
// it finds it: the cgroup's limit (v2 memory.max at /sys/fs/cgroup, v1 the
// memory controller's memory.limit_in_bytes), else the machine's MemTotal.
func TotalMemory() (uint64, error) { return totalMemory("/") }

// unlimitedV1 is what cgroup v1 reports when no limit is set (and anything
// above it).
const unlimitedV1 = 9223372036854771712

func totalMemory(root string) (uint64, error) {
	mountinfo, err := os.ReadFile(filepath.Join(root, "proc/self/mountinfo"))
	if err != nil {
		return 0, err
	}
	if limit, ok, err := cgroupLimit(root, mountinfo); err != nil {
		return 0, err
	} else if ok {
		return limit, nil
	}
	return memTotal(filepath.Join(root, "proc/meminfo"))
}

// mount is one /proc/self/mountinfo line's fields that matter here.
type mount struct {
	root, point, fsType string
	superOptions        []string
}

func parseMountInfo(b []byte) []mount {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		f := strings.Fields(sc.Text())
		sep := -1
		for i, v := range f {
			if v == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(f) < sep+4 {
			continue
		}
		out = append(out, mount{root: f[3], point: f[4], fsType: f[sep+1], superOptions: strings.Split(f[sep+3], ",")})
	}
	return out
}

// cgroupLimit reads the cgroup memory limit; ok is false when none is set.
func cgroupLimit(root string, mountinfo []byte) (uint64, bool, error) {
	mounts := parseMountInfo(mountinfo)
	for _, m := range mounts {
		if m.fsType == "cgroup2" && m.point == "/sys/fs/cgroup" {
			return readLimit(filepath.Join(root, "sys/fs/cgroup/memory.max"))
		}
	}
	// cgroup v1: the memory controller's mount and this process's path in it.
	cgroups, err := os.ReadFile(filepath.Join(root, "proc/self/cgroup"))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, err
	}
	var procPath string
	for _, line := range strings.Split(string(cgroups), "\n") {
		// 4:memory:/docker/abc
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && hasItem(strings.Split(parts[1], ","), "memory") {
			procPath = parts[2]
		}
	}
	if procPath == "" {
		return 0, false, nil
	}
	for _, m := range mounts {
		if m.fsType != "cgroup" || !hasItem(m.superOptions, "memory") {
			continue
		}
		rel, err := filepath.Rel(m.root, procPath)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		dir := path.Join(m.point, rel)
		return readLimit(filepath.Join(root, dir, "memory.limit_in_bytes"))
	}
	return 0, false, nil
}

func hasItem(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// readLimit parses memory.max or memory.limit_in_bytes: "max", a missing
// file, -1 or v1's unlimited value mean no limit.
func readLimit(file string) (uint64, bool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, false, nil
		}
		return 0, false, err
	}
	v := strings.TrimSpace(string(b))
	if v == "max" || v == "-1" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", file, err)
	}
	if n == 0 || n >= unlimitedV1 {
		return 0, false, nil
	}
	return n, true, nil
}

// memTotal reads MemTotal from /proc/meminfo, in bytes.
func memTotal(file string) (uint64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%s: MemTotal: %w", file, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%s has no MemTotal", file)
}
