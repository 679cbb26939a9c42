package budget

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

const stateVersion = 1

type stateJSON struct {
	Version int                 `json:"version"`
	Saved   time.Time           `json:"saved"`
	Rules   map[string]ruleJSON `json:"rules"`
}

type ruleJSON struct {
	Signature string             `json:"signature"`
	Soft      int64              `json:"soft_pd"`
	Hard      int64              `json:"hard_pd"`
	Keys      map[string]keyJSON `json:"keys"`
}

type keyJSON struct {
	Start   int64           `json:"start"`             // calendar window start (unix ns) or rolling head bucket
	Spent   int64           `json:"spent_pd"`          // picodollars
	Buckets map[int64]int64 `json:"buckets,omitempty"` // rolling: bucket index -> picodollars (non-zero only)
	Fired   uint8           `json:"fired,omitempty"`
	Episode [3]int64        `json:"episode,omitempty"`
}

// MarshalState serializes every rule's keys for the storage extension and
// clears the dirty flag (call MarkDirty if saving fails).
func (t *Tracker) MarshalState(now time.Time) ([]byte, error) {
	t.mu.Lock()
	st := stateJSON{Version: stateVersion, Saved: now.UTC(), Rules: make(map[string]ruleJSON, len(t.rules))}
	for _, rs := range t.rules {
		rj := ruleJSON{Signature: rs.rule.signature(), Soft: int64(rs.rule.Soft), Hard: int64(rs.rule.Hard), Keys: make(map[string]keyJSON, len(rs.keys))}
		for k, ks := range rs.keys {
			kj := keyJSON{Start: ks.start, Spent: int64(ks.spent), Fired: ks.fired, Episode: ks.episode}
			for i, b := range ks.buckets {
				if b != 0 {
					if kj.Buckets == nil {
						kj.Buckets = map[int64]int64{}
					}
					kj.Buckets[int64(i)] = int64(b)
				}
			}
			rj.Keys[k] = kj
		}
		st.Rules[rs.rule.Name] = rj
	}
	t.dirty = false
	t.mu.Unlock()
	return json.Marshal(st)
}

// RestoreState loads a saved state. Rules whose key, window or time zone
// changed since the save start empty and are named in discarded; a changed
// threshold re-arms that threshold. Windows that ended while the collector
// was down are rolled to now.
func (t *Tracker) RestoreState(data []byte, now time.Time) (keys int, discarded []string, err error) {
	var st stateJSON
	if err := json.Unmarshal(data, &st); err != nil {
		return 0, nil, fmt.Errorf("budget state: %w", err)
	}
	if st.Version != stateVersion {
		return 0, nil, fmt.Errorf("budget state: version %d, want %d", st.Version, stateVersion)
	}
	nowNs := now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rs := range t.rules {
		rj, ok := st.Rules[rs.rule.Name]
		if !ok {
			continue
		}
		if rj.Signature != rs.rule.signature() {
			discarded = append(discarded, fmt.Sprintf("%s (was %s, now %s)", rs.rule.Name, rj.Signature, rs.rule.signature()))
			continue
		}
		var rearm uint8
		if pricing.Amount(rj.Soft) != rs.rule.Soft {
			rearm |= 1 << Soft
		}
		if pricing.Amount(rj.Hard) != rs.rule.Hard {
			rearm |= 1 << Hard
		}
		for k, kj := range rj.Keys {
			if len(rs.keys) >= t.maxKeys {
				break
			}
			ks := &keyState{start: kj.Start, spent: pricing.Amount(kj.Spent), fired: kj.Fired &^ rearm, episode: kj.Episode}
			if rs.rule.Window.Kind == Rolling {
				ks.buckets = make([]pricing.Amount, RollingBuckets)
				var sum pricing.Amount
				for i, b := range kj.Buckets {
					if i >= 0 && i < RollingBuckets && b > 0 {
						ks.buckets[i] = pricing.Amount(b)
						sum = addSat(sum, pricing.Amount(b))
					}
				}
				ks.spent = sum // the buckets are the truth
			}
			if ks.spent < 0 {
				ks.spent = 0
			}
			rs.roll(ks, nowNs)
			rs.keys[k] = ks
			keys++
		}
	}
	return keys, discarded, nil
}
