package journalstorage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.uber.org/zap"
)

// A journal is one client's key-value store: append-only segment files plus
// an in-memory index. Small values live in the index; large ones (queued
// requests) are read back from the segment that holds them, so the process
// maps nothing and a value is written once, never copied into pages.
//
// Segment file: records, each [crc32c u32][length u32][payload]. The first
// record of every segment is a checkpoint: the whole index at the moment
// the segment was opened. Opening a journal therefore reads only the newest
// segment; older ones are kept while the index still points into them.

const (
	recBatch      = 1
	recCheckpoint = 2

	opSet    = 1
	opDelete = 2

	// inlineMax: values up to this size are held in memory and repeated in
	// every checkpoint (the queue's metadata); larger ones are referenced.
	inlineMax = 4096

	headerSize = 8
	// maxRecord bounds a record header read from disk before trusting it.
	maxRecord = 1 << 31
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks data on disk that failed a check.
var errCorrupt = errors.New("journal data is corrupt")

type location struct {
	seg uint64
	off int64 // of the value bytes in the segment file
	n   int
	crc uint32
}

type entry struct {
	inline []byte // nil when the value is in a segment
	loc    location
}

type segment struct {
	f    *os.File
	refs int // index entries whose value is in this segment
}

type journal struct {
	mu          sync.Mutex
	dir         string
	segmentSize int64
	fsync       bool
	logger      *zap.Logger

	lock    *os.File
	index   map[string]entry
	segs    map[uint64]*segment
	active  uint64
	size    int64 // of the active segment
	buf     []byte
	closed  bool
	onClose func()
}

func segName(n uint64) string { return fmt.Sprintf("%016x.seg", n) }

// openJournal opens or creates the journal in dir, recovering from a crash:
// a torn record at the end of the newest segment is cut off.
func openJournal(dir string, segmentSize int64, fsync bool, logger *zap.Logger) (*journal, error) {
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		// file_storage keeps each client in a file of this very name.
		return nil, fmt.Errorf("%s is a file, likely a file_storage queue: drain it with storage: file_storage first, or move it aside (what it holds is then not exported)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("journal %s is in use by another process: %w", dir, err)
	}
	j := &journal{dir: dir, segmentSize: segmentSize, fsync: fsync, logger: logger, lock: lock,
		index: map[string]entry{}, segs: map[uint64]*segment{}}
	if err := j.recover(); err != nil {
		j.closeFiles()
		return nil, err
	}
	return j, nil
}

func (j *journal) recover() error {
	names, err := os.ReadDir(j.dir)
	if err != nil {
		return err
	}
	var nums []uint64
	for _, d := range names {
		name := d.Name()
		switch {
		case strings.HasSuffix(name, ".seg.tmp"):
			// A rotation that did not finish: its checkpoint never became the newest.
			if err := os.Remove(filepath.Join(j.dir, name)); err != nil {
				return err
			}
		case strings.HasSuffix(name, ".seg"):
			n, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 16, 64)
			if err != nil {
				return fmt.Errorf("%w: unexpected file %s in the journal directory", errCorrupt, name)
			}
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(a, b int) bool { return nums[a] < nums[b] })
	if len(nums) == 0 {
		return j.startSegment(1)
	}
	last := nums[len(nums)-1]
	f, err := os.OpenFile(filepath.Join(j.dir, segName(last)), os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	j.segs[last] = &segment{f: f}
	j.active = last
	end, torn, err := j.replay(f, last)
	if err != nil {
		return fmt.Errorf("journal segment %s: %w (to start with an empty queue, move %s aside; what it holds is then not exported)",
			segName(last), err, j.dir)
	}
	if torn > 0 {
		// An interrupted append: nothing after it was ever acknowledged.
		if err := f.Truncate(end); err != nil {
			return err
		}
		j.logger.Warn("journal: cut a torn record off the end of the newest segment (an interrupted write)",
			zap.String("segment", segName(last)), zap.Int64("bytes", torn))
	}
	j.size = end
	refs := j.refCounts()
	for _, n := range nums[:len(nums)-1] {
		if refs[n] == 0 {
			if err := os.Remove(filepath.Join(j.dir, segName(n))); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(filepath.Join(j.dir, segName(n)))
		if err != nil {
			return err
		}
		j.segs[n] = &segment{f: f}
	}
	var missing int
	for k, e := range j.index {
		if e.inline != nil {
			continue
		}
		s, ok := j.segs[e.loc.seg]
		if !ok {
			missing++
			delete(j.index, k)
			continue
		}
		s.refs++
	}
	if missing > 0 {
		j.logger.Error("journal: values whose segment file is gone were dropped", zap.Int("keys", missing))
	}
	return nil
}

func (j *journal) refCounts() map[uint64]int {
	refs := map[uint64]int{}
	for _, e := range j.index {
		if e.inline == nil {
			refs[e.loc.seg]++
		}
	}
	return refs
}

// replay loads the segment's checkpoint and applies its batches. It returns
// the end of the last whole record and the bytes after it.
func (j *journal) replay(f *os.File, seg uint64) (end, torn int64, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	r := &recordReader{f: f, size: st.Size()}
	payload, ok := r.next()
	if !ok || len(payload) == 0 || payload[0] != recCheckpoint {
		return 0, 0, fmt.Errorf("%w: the segment does not start with a checkpoint", errCorrupt)
	}
	if err := j.loadCheckpoint(payload[1:]); err != nil {
		return 0, 0, err
	}
	for {
		start := r.off
		payload, ok := r.next()
		if !ok {
			return start, st.Size() - start, r.err
		}
		if len(payload) == 0 || payload[0] != recBatch || j.applyBatch(payload[1:], seg, start+headerSize+1) != nil {
			return start, st.Size() - start, nil
		}
	}
}

type recordReader struct {
	f    *os.File
	off  int64
	size int64
	err  error
}

// next reads one whole, checksummed record; false at the end or at a torn one.
func (r *recordReader) next() ([]byte, bool) {
	if r.size-r.off < headerSize {
		return nil, false
	}
	var h [headerSize]byte
	if _, err := r.f.ReadAt(h[:], r.off); err != nil {
		r.err = err
		return nil, false
	}
	n := int64(binary.LittleEndian.Uint32(h[4:]))
	if n > maxRecord || r.off+headerSize+n > r.size {
		return nil, false
	}
	p := make([]byte, n)
	if _, err := r.f.ReadAt(p, r.off+headerSize); err != nil && err != io.EOF {
		r.err = err
		return nil, false
	}
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(h[:4]) {
		return nil, false
	}
	r.off += headerSize + n
	return p, true
}

// decoder reads varint-framed fields; any overrun makes it fail.
type decoder struct {
	b   []byte
	pos int
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b[d.pos:])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.pos += n
	return v
}

func (d *decoder) bytes() (b []byte, at int) {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)-d.pos) {
		d.bad = true
		return nil, 0
	}
	at = d.pos
	d.pos += int(n)
	return d.b[at:d.pos], at
}

func (d *decoder) byte() byte {
	if d.pos >= len(d.b) {
		d.bad = true
		return 0
	}
	d.pos++
	return d.b[d.pos-1]
}

func (d *decoder) more() bool { return !d.bad && d.pos < len(d.b) }

func (j *journal) loadCheckpoint(p []byte) error {
	d := &decoder{b: p}
	for d.more() {
		key, _ := d.bytes()
		var e entry
		if d.byte() == 1 {
			v, _ := d.bytes()
			e.inline = append([]byte{}, v...)
		} else {
			e.loc = location{seg: d.uvarint(), off: int64(d.uvarint()), n: int(d.uvarint()), crc: uint32(d.uvarint())}
		}
		if d.bad {
			break
		}
		j.index[string(key)] = e
	}
	if d.bad {
		return fmt.Errorf("%w: unreadable checkpoint", errCorrupt)
	}
	return nil
}

// applyBatch applies a batch record read at recovery. base is the file
// offset of p[0], so a large value's location is base plus its position.
func (j *journal) applyBatch(p []byte, seg uint64, base int64) error {
	d := &decoder{b: p}
	type change struct {
		key string
		e   entry
		del bool
	}
	var changes []change
	for d.more() {
		op := d.byte()
		key, _ := d.bytes()
		switch op {
		case opSet:
			v, at := d.bytes()
			e := entry{}
			if len(v) <= inlineMax {
				e.inline = append([]byte{}, v...)
			} else {
				e.loc = location{seg: seg, off: base + int64(at), n: len(v), crc: crc32.Checksum(v, castagnoli)}
			}
			changes = append(changes, change{key: string(key), e: e})
		case opDelete:
			changes = append(changes, change{key: string(key), del: true})
		default:
			d.bad = true
		}
	}
	if d.bad {
		return errCorrupt
	}
	for _, c := range changes {
		if c.del {
			delete(j.index, c.key)
		} else {
			j.index[c.key] = c.e
		}
	}
	return nil
}

// startSegment makes segment n the active one. Its checkpoint is written to a
// temporary file and renamed into place, so every segment that recovery
// can see starts with a whole checkpoint.
func (j *journal) startSegment(n uint64) error {
	b := append(j.buf[:0], make([]byte, headerSize)...)
	b = append(b, recCheckpoint)
	for k, e := range j.index {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		if e.inline != nil {
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(e.inline)))
			b = append(b, e.inline...)
		} else {
			b = append(b, 0)
			b = binary.AppendUvarint(b, e.loc.seg)
			b = binary.AppendUvarint(b, uint64(e.loc.off))
			b = binary.AppendUvarint(b, uint64(e.loc.n))
			b = binary.AppendUvarint(b, uint64(e.loc.crc))
		}
	}
	seal(b)
	j.buf = b[:0]
	tmp := filepath.Join(j.dir, segName(n)+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if j.fsync {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
	}
	if err := os.Rename(tmp, filepath.Join(j.dir, segName(n))); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if j.fsync {
		if err := syncDir(j.dir); err != nil {
			return err
		}
	}
	prev := j.active
	j.segs[n] = &segment{f: f}
	j.active, j.size = n, int64(len(b))
	if s, ok := j.segs[prev]; ok && prev != n {
		j.release(prev, s)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// seal fills in the header of a record built after headerSize blank bytes.
func seal(b []byte) {
	p := b[headerSize:]
	binary.LittleEndian.PutUint32(b[4:], uint32(len(p)))
	binary.LittleEndian.PutUint32(b[:4], crc32.Checksum(p, castagnoli))
}

// release removes a segment that is neither active nor referenced.
func (j *journal) release(n uint64, s *segment) {
	if n == j.active || s.refs > 0 {
		return
	}
	s.f.Close()
	delete(j.segs, n)
	if err := os.Remove(filepath.Join(j.dir, segName(n))); err != nil && !os.IsNotExist(err) {
		j.logger.Warn("journal: could not remove a spent segment", zap.String("segment", segName(n)), zap.Error(err))
	}
}

func (j *journal) get(key string) ([]byte, error) {
	e, ok := j.index[key]
	if !ok {
		return nil, nil
	}
	if e.inline != nil {
		return append([]byte{}, e.inline...), nil
	}
	s := j.segs[e.loc.seg]
	v := make([]byte, e.loc.n)
	if _, err := s.f.ReadAt(v, e.loc.off); err != nil {
		return nil, fmt.Errorf("read %q from journal segment %s: %w", key, segName(e.loc.seg), err)
	}
	if crc32.Checksum(v, castagnoli) != e.loc.crc {
		return nil, fmt.Errorf("%w: value of %q in segment %s fails its checksum", errCorrupt, key, segName(e.loc.seg))
	}
	return v, nil
}

// batch runs the operations in order: a Get sees the Sets before it. All
// writes go to disk as one record, so after a crash either all of them or
// none are there.
func (j *journal) batch(ops []*storage.Operation) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("journal storage client is closed")
	}
	// Reads within a batch see its earlier writes: stage them.
	staged := map[string][]byte{}
	b := append(j.buf[:0], make([]byte, headerSize)...)
	b = append(b, recBatch)
	type pending struct {
		key string
		at  int // value position in b; -1 for a delete
		n   int
	}
	var changes []pending
	for _, op := range ops {
		if op == nil {
			continue
		}
		switch op.Type {
		case storage.Get:
			if v, ok := staged[op.Key]; ok {
				op.Value = nil // deleted earlier in this batch
				if v != nil {
					op.Value = append([]byte{}, v...)
				}
				continue
			}
			v, err := j.get(op.Key)
			if err != nil {
				return err
			}
			op.Value = v
		case storage.Set:
			b = append(b, opSet)
			b = binary.AppendUvarint(b, uint64(len(op.Key)))
			b = append(b, op.Key...)
			b = binary.AppendUvarint(b, uint64(len(op.Value)))
			changes = append(changes, pending{key: op.Key, at: len(b), n: len(op.Value)})
			b = append(b, op.Value...)
			staged[op.Key] = nonNil(op.Value)
		case storage.Delete:
			b = append(b, opDelete)
			b = binary.AppendUvarint(b, uint64(len(op.Key)))
			b = append(b, op.Key...)
			changes = append(changes, pending{key: op.Key, at: -1})
			staged[op.Key] = nil
		default:
			return fmt.Errorf("journal storage: unknown operation type %d", op.Type)
		}
	}
	if len(changes) == 0 {
		return nil // reads only: nothing to append
	}
	seal(b)
	if len(b) > maxRecord {
		return fmt.Errorf("journal storage: a batch of %d bytes is over the 2 GiB record limit", len(b))
	}
	start := j.size
	s := j.segs[j.active]
	if _, err := s.f.WriteAt(b, start); err != nil {
		// Leave no half record for the next append to follow.
		_ = s.f.Truncate(start)
		return fmt.Errorf("journal storage: write: %w", err)
	}
	if j.fsync {
		if err := s.f.Sync(); err != nil {
			_ = s.f.Truncate(start)
			return fmt.Errorf("journal storage: fsync: %w", err)
		}
	}
	j.size += int64(len(b))
	var spent []uint64
	for _, c := range changes {
		if old, ok := j.index[c.key]; ok && old.inline == nil {
			if prev := j.segs[old.loc.seg]; prev != nil {
				prev.refs--
				spent = append(spent, old.loc.seg)
			}
		}
		if c.at < 0 {
			delete(j.index, c.key)
			continue
		}
		v := b[c.at : c.at+c.n]
		if c.n <= inlineMax {
			j.index[c.key] = entry{inline: append(make([]byte, 0, c.n), v...)}
			continue
		}
		j.index[c.key] = entry{loc: location{seg: j.active, off: start + int64(c.at), n: c.n, crc: crc32.Checksum(v, castagnoli)}}
		s.refs++
	}
	for _, n := range spent {
		if old := j.segs[n]; old != nil {
			j.release(n, old)
		}
	}
	if cap(b) <= 4<<20 {
		j.buf = b[:0]
	} else {
		j.buf = nil // one huge request should not pin its buffer
	}
	if j.size >= j.segmentSize {
		if err := j.startSegment(j.active + 1); err != nil {
			// The batch is stored; keep appending to the current segment.
			j.logger.Warn("journal: could not start a new segment", zap.Error(err))
		}
	}
	return nil
}

func nonNil(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// diskBytes and segments feed the extension's gauges.
func (j *journal) stats() (bytes int64, segments int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for n, s := range j.segs {
		if n == j.active {
			bytes += j.size
			continue
		}
		if st, err := s.f.Stat(); err == nil {
			bytes += st.Size()
		}
	}
	return bytes, len(j.segs)
}

func (j *journal) close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	err := j.closeFiles()
	j.mu.Unlock()
	// Outside j.mu: the extension's gauge callback takes its lock, then j.mu.
	if j.onClose != nil {
		j.onClose()
	}
	return err
}

func (j *journal) closeFiles() error {
	var errs []error
	for _, s := range j.segs {
		errs = append(errs, s.f.Close())
	}
	j.segs = map[uint64]*segment{}
	errs = append(errs, j.lock.Close()) // also drops the flock
	return errors.Join(errs...)
}

// client adapts a journal to storage.Client.
type client struct{ j *journal }

var _ storage.Client = client{}

func (c client) Get(_ context.Context, key string) ([]byte, error) {
	op := storage.GetOperation(key)
	err := c.j.batch([]*storage.Operation{op})
	return op.Value, err
}

func (c client) Set(_ context.Context, key string, value []byte) error {
	return c.j.batch([]*storage.Operation{storage.SetOperation(key, value)})
}

func (c client) Delete(_ context.Context, key string) error {
	return c.j.batch([]*storage.Operation{storage.DeleteOperation(key)})
}

func (c client) Batch(_ context.Context, ops ...*storage.Operation) error { return c.j.batch(ops) }

func (c client) Close(context.Context) error { return c.j.close() }
