// Package budget tracks GenAI spend against budget rules keyed by user,
// tenant, team or workload, in calendar (day, month) or rolling windows, and
// reports each soft or hard threshold crossing once per window. Amounts are
// exact picodollars (pricing.Amount).
package budget

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

// Dimension is what a rule is keyed by.
type Dimension uint8

const (
	All Dimension = iota // every priced call
	User
	Tenant
	Team
	Workload
	NumDimensions
)

var dimNames = [NumDimensions]string{"all", "user", "tenant", "team", "workload"}

func (d Dimension) String() string { return dimNames[d] }

// Column is the genai_spans column holding the dimension ("" for All).
func (d Dimension) Column() string {
	return [NumDimensions]string{"", "user_id", "tenant_id", "team", "workload"}[d]
}

// Values are one call's attribution, indexed by Dimension (All is unused).
type Values [NumDimensions]string

// Threshold is a budget level.
type Threshold uint8

const (
	OK   Threshold = 0
	Soft Threshold = 1
	Hard Threshold = 2
)

func (t Threshold) String() string {
	switch t {
	case Soft:
		return "soft"
	case Hard:
		return "hard"
	}
	return "ok"
}

// WindowKind is a calendar day, a calendar month or a rolling duration.
type WindowKind uint8

const (
	Day WindowKind = iota
	Month
	Rolling
)

// Window is the period spend is summed over.
type Window struct {
	Kind   WindowKind
	Length time.Duration  // Rolling only
	Loc    *time.Location // calendar windows; nil = UTC
}

// ParseWindow reads "day", "month" or a rolling duration such as "6h" or
// "24h" (at least one minute, whole minutes).
func ParseWindow(s string, loc *time.Location) (Window, error) {
	if loc == nil {
		loc = time.UTC
	}
	switch strings.TrimSpace(s) {
	case "day":
		return Window{Kind: Day, Loc: loc}, nil
	case "month":
		return Window{Kind: Month, Loc: loc}, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return Window{}, fmt.Errorf("window %q: want day, month or a rolling duration such as 6h", s)
	}
	if d < time.Minute || d%time.Minute != 0 {
		return Window{}, fmt.Errorf("window %q: a rolling window is whole minutes, at least 1m", s)
	}
	return Window{Kind: Rolling, Length: d, Loc: loc}, nil
}

func (w Window) String() string {
	switch w.Kind {
	case Day:
		return "day"
	case Month:
		return "month"
	}
	if w.Length%time.Hour == 0 {
		return fmt.Sprintf("rolling %dh", w.Length/time.Hour)
	}
	return fmt.Sprintf("rolling %dm", w.Length/time.Minute)
}

func (w Window) loc() *time.Location {
	if w.Loc == nil {
		return time.UTC
	}
	return w.Loc
}

// Bounds returns the calendar window [start, end) containing t, in the
// window's time zone (so a day can be 23 or 25 hours long).
func (w Window) Bounds(t time.Time) (start, end time.Time) {
	l := t.In(w.loc())
	switch w.Kind {
	case Month:
		start = time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, w.loc())
		end = start.AddDate(0, 1, 0)
	default:
		start = time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, w.loc())
		end = start.AddDate(0, 0, 1)
	}
	return start, end
}

// Rule is one budget.
type Rule struct {
	Name   string
	Dim    Dimension
	Value  string // the one key to track; "" with Each
	Each   bool   // one budget per distinct value ("user:*")
	Window Window
	Soft   pricing.Amount // 0 = none
	Hard   pricing.Amount // 0 = none
}

// ParseKey reads a rule key: "all", "user:*" (each user), "tenant:acme".
func ParseKey(s string) (d Dimension, value string, each bool, err error) {
	s = strings.TrimSpace(s)
	if s == "all" || s == "*" {
		return All, "", false, nil
	}
	name, v, ok := strings.Cut(s, ":")
	if !ok || v == "" {
		return 0, "", false, fmt.Errorf("key %q: want all, DIMENSION:* or DIMENSION:VALUE with DIMENSION one of user, tenant, team, workload", s)
	}
	for i := User; i < NumDimensions; i++ {
		if dimNames[i] == name {
			if v == "*" {
				return i, "", true, nil
			}
			return i, v, false, nil
		}
	}
	return 0, "", false, fmt.Errorf("key %q: unknown dimension %q (user, tenant, team, workload)", s, name)
}

// KeyString renders the rule's key pattern, e.g. "user:*".
func (r *Rule) KeyString() string {
	switch {
	case r.Dim == All:
		return "all"
	case r.Each:
		return r.Dim.String() + ":*"
	}
	return r.Dim.String() + ":" + r.Value
}

// key returns the tracked key a call with values v falls under.
func (r *Rule) key(v *Values) (string, bool) {
	if r.Dim == All {
		return "", true
	}
	x := v[r.Dim]
	if x == "" {
		return "", false
	}
	if r.Each || x == r.Value {
		return capKey(x), true
	}
	return "", false
}

// MaxKeyLen bounds a tracked key: a longer value (telemetry is untrusted)
// is tracked as its first 64 bytes and a hash of the whole.
const MaxKeyLen = 256

func capKey(k string) string {
	if len(k) <= MaxKeyLen {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return k[:64] + "…sha256:" + hex.EncodeToString(sum[:16])
}

// Validate checks the rule.
func (r *Rule) Validate() error {
	if r.Name == "" {
		return errors.New("name: required")
	}
	if r.Soft < 0 || r.Hard < 0 {
		return errors.New("thresholds must not be negative")
	}
	if r.Soft == 0 && r.Hard == 0 {
		return errors.New("set soft_usd, hard_usd or both")
	}
	if r.Soft > 0 && r.Hard > 0 && r.Soft >= r.Hard {
		return fmt.Errorf("soft_usd %s must be below hard_usd %s", r.Soft, r.Hard)
	}
	return nil
}

// signature identifies what a rule's stored spend means; a state saved
// under another signature is discarded at restore.
func (r *Rule) signature() string {
	return r.KeyString() + "|" + r.Window.String() + "|" + r.Window.loc().String()
}

// limit returns the amount of threshold t (0 when unset).
func (r *Rule) limit(t Threshold) pricing.Amount {
	if t == Hard {
		return r.Hard
	}
	return r.Soft
}
