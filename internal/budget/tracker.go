package budget

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

// RollingBuckets is the resolution of a rolling window: spend expires in
// steps of Length/RollingBuckets (24 minutes for a 24h window).
const RollingBuckets = 60

// DefaultMaxKeys bounds the keys tracked per rule (e.g. distinct users).
const DefaultMaxKeys = 100_000

// Tracker sums spend per rule and key and detects threshold crossings. It is
// safe for concurrent use.
type Tracker struct {
	mu      sync.Mutex
	rules   []*ruleState
	maxKeys int
	dirty   bool

	late    atomic.Int64 // spend older than its window, not counted
	dropped atomic.Int64 // spend of keys beyond maxKeys, not counted
}

type ruleState struct {
	rule Rule
	keys map[string]*keyState
	// The newest calendar window seen, cached to avoid time-zone math per call.
	curStart, curEnd int64
	width            int64 // rolling bucket width, ns
}

type keyState struct {
	start   int64          // calendar: window start (unix ns); rolling: newest bucket index
	spent   pricing.Amount // the window's total
	buckets []pricing.Amount
	fired   uint8    // bit per Threshold fired in this window (rolling: this episode)
	episode [3]int64 // rolling: bucket index where each threshold fired
}

// Item is one priced call offered to AddBatch.
type Item struct {
	Values Values
	Amount pricing.Amount
	At     int64 // unix ns of the call; 0 or later than now counts as now

	// Set by AddBatch: the highest level any rule is at for this call's
	// keys after adding it, and that rule.
	Level     Threshold
	LevelRule *Rule
	LevelKey  string
}

// Crossing is a threshold reached for the first time in a window.
type Crossing struct {
	ID          string // stable: rule, key, threshold and window start
	Rule        *Rule
	Key         string // the dimension value ("" for rule key "all")
	Threshold   Threshold
	WindowStart time.Time // calendar: the window; rolling: the bucket the crossing fell in
	WindowEnd   time.Time // calendar only
	Spent       pricing.Amount
	Limit       pricing.Amount
	At          time.Time
	Item        int // index in the AddBatch items; -1 for a reconcile
}

// KeyLabel renders "user:alice" (or "all").
func (c *Crossing) KeyLabel() string {
	if c.Rule.Dim == All {
		return "all"
	}
	return c.Rule.Dim.String() + ":" + c.Key
}

// NewTracker validates the rules (names must be unique).
func NewTracker(rules []Rule, maxKeys int) (*Tracker, error) {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	t := &Tracker{maxKeys: maxKeys}
	seen := map[string]bool{}
	for i := range rules {
		r := rules[i]
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("rules[%d] (%s): %w", i, r.Name, err)
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("rules[%d]: duplicate name %q", i, r.Name)
		}
		seen[r.Name] = true
		rs := &ruleState{rule: r, keys: map[string]*keyState{}}
		if r.Window.Kind == Rolling {
			rs.width = int64(r.Window.Length / RollingBuckets)
		}
		t.rules = append(t.rules, rs)
	}
	return t, nil
}

// Rules returns the tracked rules.
func (t *Tracker) Rules() []*Rule {
	out := make([]*Rule, len(t.rules))
	for i, rs := range t.rules {
		out[i] = &rs.rule
	}
	return out
}

// Late and Dropped count spend left out: older than its window, or of keys
// beyond the per-rule cap.
func (t *Tracker) Late() int64    { return t.late.Load() }
func (t *Tracker) Dropped() int64 { return t.dropped.Load() }

// AddBatch adds each item's amount to every rule its values fall under and
// appends the crossings it causes to out.
func (t *Tracker) AddBatch(items []Item, now time.Time, out []Crossing) []Crossing {
	nowNs := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range items {
		it := &items[i]
		if it.Amount <= 0 {
			continue
		}
		at := it.At
		if at <= 0 || at > nowNs {
			at = nowNs
		}
		for _, rs := range t.rules {
			key, ok := rs.rule.key(&it.Values)
			if !ok {
				continue
			}
			ks := t.get(rs, key)
			if ks == nil {
				t.dropped.Add(1)
				continue
			}
			if !rs.add(ks, it.Amount, at, nowNs) {
				t.late.Add(1)
				continue
			}
			t.dirty = true
			if lvl := rs.level(ks.spent); lvl > it.Level {
				it.Level, it.LevelRule, it.LevelKey = lvl, &rs.rule, key
			}
			out = rs.fire(ks, key, i, nowNs, out)
		}
	}
	return out
}

func (t *Tracker) get(rs *ruleState, key string) *keyState {
	if ks := rs.keys[key]; ks != nil {
		return ks
	}
	if len(rs.keys) >= t.maxKeys {
		return nil
	}
	ks := &keyState{}
	rs.keys[strings.Clone(key)] = ks // the key may point into telemetry memory
	return ks
}

// windowStart returns the calendar window start containing at (unix ns).
func (rs *ruleState) windowStart(at int64) int64 {
	if at >= rs.curStart && at < rs.curEnd {
		return rs.curStart
	}
	s, e := rs.rule.Window.Bounds(time.Unix(0, at))
	if s.UnixNano() >= rs.curStart {
		rs.curStart, rs.curEnd = s.UnixNano(), e.UnixNano()
	}
	return s.UnixNano()
}

// roll moves ks to the window (or rolling position) of now.
func (rs *ruleState) roll(ks *keyState, now int64) {
	if rs.rule.Window.Kind != Rolling {
		if s := rs.windowStart(now); ks.start < s {
			ks.start, ks.spent, ks.fired = s, 0, 0
		}
		return
	}
	b := now / rs.width
	if ks.buckets == nil {
		ks.buckets = make([]pricing.Amount, RollingBuckets)
		ks.start = b
		return
	}
	if b <= ks.start {
		return
	}
	if b-ks.start >= RollingBuckets {
		clear(ks.buckets)
		ks.spent = 0
	} else {
		for i := ks.start + 1; i <= b; i++ {
			idx := i % RollingBuckets
			ks.spent -= ks.buckets[idx]
			ks.buckets[idx] = 0
		}
	}
	ks.start = b
	// A rolling episode ends when spend falls back below the threshold.
	for _, th := range [2]Threshold{Soft, Hard} {
		if ks.fired&(1<<th) != 0 && ks.spent < rs.rule.limit(th) {
			ks.fired &^= 1 << th
		}
	}
}

// add counts amt at time at; false when at is before the current window.
func (rs *ruleState) add(ks *keyState, amt pricing.Amount, at, now int64) bool {
	rs.roll(ks, now)
	if rs.rule.Window.Kind != Rolling {
		if rs.windowStart(at) != ks.start {
			return false
		}
		ks.spent = addSat(ks.spent, amt)
		return true
	}
	b := at / rs.width
	if b <= ks.start-RollingBuckets || b > ks.start {
		return false
	}
	idx := b % RollingBuckets
	ks.buckets[idx] = addSat(ks.buckets[idx], amt)
	ks.spent = addSat(ks.spent, amt)
	return true
}

func addSat(a, b pricing.Amount) pricing.Amount {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

func (rs *ruleState) level(spent pricing.Amount) Threshold {
	switch r := &rs.rule; {
	case r.Hard > 0 && spent >= r.Hard:
		return Hard
	case r.Soft > 0 && spent >= r.Soft:
		return Soft
	}
	return OK
}

// fire appends a crossing for each threshold reached and not yet fired.
func (rs *ruleState) fire(ks *keyState, key string, item int, now int64, out []Crossing) []Crossing {
	for _, th := range [2]Threshold{Soft, Hard} {
		lim := rs.rule.limit(th)
		if lim == 0 || ks.spent < lim || ks.fired&(1<<th) != 0 {
			continue
		}
		ks.fired |= 1 << th
		c := Crossing{Rule: &rs.rule, Key: strings.Clone(key), Threshold: th, Spent: ks.spent, Limit: lim, At: time.Unix(0, now), Item: item}
		if rs.rule.Window.Kind == Rolling {
			ks.episode[th] = ks.start
			c.WindowStart = time.Unix(0, ks.start*rs.width)
		} else {
			c.WindowStart = time.Unix(0, ks.start)
			_, c.WindowEnd = rs.rule.Window.Bounds(c.WindowStart)
		}
		c.WindowStart = c.WindowStart.In(rs.rule.Window.loc())
		if !c.WindowEnd.IsZero() {
			c.WindowEnd = c.WindowEnd.In(rs.rule.Window.loc())
		}
		c.ID = crossingID(rs.rule.Name, c.KeyLabel(), th, c.WindowStart)
		out = append(out, c)
	}
	return out
}

func crossingID(rule, key string, th Threshold, start time.Time) string {
	h := sha256.New()
	for _, s := range []string{rule, key, th.String(), strconv.FormatInt(start.UnixNano(), 10)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// KeyState is a tracked key's current position.
type KeyState struct {
	Rule  *Rule
	Key   string
	Level Threshold
	Spent pricing.Amount
}

// Observe reports, as of now, every key at the soft or hard level through
// perKey, and per rule the number of tracked keys at each level through
// perRule. Windows that ended are rolled first.
func (t *Tracker) Observe(now time.Time, perKey func(KeyState), perRule func(r *Rule, ok, soft, hard int)) {
	nowNs := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rs := range t.rules {
		var counts [3]int
		for k, ks := range rs.keys {
			rs.roll(ks, nowNs)
			lvl := rs.level(ks.spent)
			counts[lvl]++
			if lvl > OK && perKey != nil {
				perKey(KeyState{Rule: &rs.rule, Key: k, Level: lvl, Spent: ks.spent})
			}
		}
		if perRule != nil {
			perRule(&rs.rule, counts[OK], counts[Soft], counts[Hard])
		}
	}
}

// Spent returns a key's spend in the window of now.
func (t *Tracker) Spent(rule, key string, now time.Time) (pricing.Amount, Threshold, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rs := range t.rules {
		if rs.rule.Name != rule {
			continue
		}
		ks := rs.keys[key]
		if ks == nil {
			return 0, OK, false
		}
		rs.roll(ks, now.UnixNano())
		return ks.spent, rs.level(ks.spent), true
	}
	return 0, OK, false
}

// GC forgets keys with no spend and nothing fired in the current window.
func (t *Tracker) GC(now time.Time) int {
	nowNs := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, rs := range t.rules {
		for k, ks := range rs.keys {
			rs.roll(ks, nowNs)
			if ks.spent == 0 && ks.fired == 0 {
				delete(rs.keys, k)
				n++
			}
		}
	}
	if n > 0 {
		t.dirty = true
	}
	return n
}

// Dirty reports whether state changed since the last MarshalState.
func (t *Tracker) Dirty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.dirty
}

// MarkDirty asks for the next save (e.g. after a failed one).
func (t *Tracker) MarkDirty() {
	t.mu.Lock()
	t.dirty = true
	t.mu.Unlock()
}
