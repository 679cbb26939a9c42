package budget

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
	"github.com/otelcol-aiops/otelcol-aiops/internal/pricing"
)

// SpendQuery asks for spend per key over [From, To), optionally split into
// buckets of Bucket starting at From (0 = one bucket).
type SpendQuery struct {
	Dim    Dimension
	Value  string // one key; "" with Each (every non-empty key) or for All
	Each   bool
	From   time.Time
	To     time.Time
	Bucket time.Duration
}

// SpendRow is the spend of one key in one bucket (0-based from From).
type SpendRow struct {
	Key    string
	Bucket int64
	Amount pricing.Amount
}

// SpendSource is shared spend, e.g. every collector replica's rows in ClickHouse.
type SpendSource interface {
	Spend(ctx context.Context, q SpendQuery) ([]SpendRow, error)
}

// Reconcile raises each key's spend to what src reports for the current
// window. Local spend is never lowered: spend per key (and per rolling
// bucket) becomes max(local, shared), because the shared figure lags by the
// export delay while the local one misses other replicas' calls. Crossings
// this causes are returned with Item -1.
func (t *Tracker) Reconcile(ctx context.Context, src SpendSource, now time.Time) ([]Crossing, error) {
	nowNs := now.UnixNano()
	var out []Crossing
	var errs []error
	for _, rs := range t.rules {
		q := SpendQuery{Dim: rs.rule.Dim, Value: rs.rule.Value, Each: rs.rule.Each, To: now.Add(time.Nanosecond)}
		t.mu.Lock()
		var firstBucket int64
		if rs.rule.Window.Kind == Rolling {
			firstBucket = nowNs/rs.width - RollingBuckets + 1
			q.From = time.Unix(0, firstBucket*rs.width)
			q.Bucket = time.Duration(rs.width)
		} else {
			q.From = time.Unix(0, rs.windowStart(nowNs))
		}
		t.mu.Unlock()

		rows, err := src.Spend(ctx, q)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", rs.rule.Name, err))
			continue
		}
		t.mu.Lock()
		touched := map[string]*keyState{}
		for _, r := range rows {
			if r.Amount <= 0 || (rs.rule.Dim != All && r.Key == "") {
				continue
			}
			key := capKey(r.Key)
			if rs.rule.Dim == All {
				key = ""
			}
			ks := t.get(rs, key)
			if ks == nil {
				t.dropped.Add(1)
				continue
			}
			rs.roll(ks, nowNs)
			if rs.rule.Window.Kind == Rolling {
				b := firstBucket + r.Bucket
				if b > ks.start || b <= ks.start-RollingBuckets {
					continue
				}
				idx := b % RollingBuckets
				if r.Amount > ks.buckets[idx] {
					ks.spent = addSat(ks.spent, r.Amount-ks.buckets[idx])
					ks.buckets[idx] = r.Amount
					t.dirty = true
				}
			} else if r.Amount > ks.spent {
				ks.spent = r.Amount
				t.dirty = true
			}
			touched[key] = ks
		}
		for key, ks := range touched {
			out = rs.fire(ks, key, -1, nowNs, out)
		}
		t.mu.Unlock()
	}
	return out, errors.Join(errs...)
}

// ClickHouseSource reads spend from the exporter's genai_spans table. Calls
// marked as duplicates of another span (aiops.usage.duplicate_of) and
// unpriced calls are left out, as costattr leaves them out of budgets.
type ClickHouseSource struct {
	Store    chstore.Store
	Database string
}

// NewClickHouseSource checks the database name, the only text that reaches SQL.
func NewClickHouseSource(s chstore.Store, database string) (*ClickHouseSource, error) {
	if err := chstore.ValidIdent(database); err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	return &ClickHouseSource{Store: s, Database: database}, nil
}

// Spend implements SpendSource with one GROUP BY query; values are bound
// parameters.
func (s *ClickHouseSource) Spend(ctx context.Context, q SpendQuery) ([]SpendRow, error) {
	if err := chstore.ValidIdent(s.Database); err != nil {
		return nil, err
	}
	from, to := q.From.UnixNano(), q.To.UnixNano()
	width := int64(q.Bucket)
	if width <= 0 {
		width = to - from
	}
	if width <= 0 {
		return nil, errors.New("empty time range")
	}
	keyExpr := "''"
	where := ""
	params := []chstore.Param{
		{Name: "from", Value: strconv.FormatInt(from, 10)},
		{Name: "to", Value: strconv.FormatInt(to, 10)},
		{Name: "width", Value: strconv.FormatInt(width, 10)},
	}
	if q.Dim != All {
		col := q.Dim.Column() // a fixed column name, never user input
		keyExpr = col
		if q.Each {
			where = " AND " + col + " != ''"
		} else {
			where = " AND " + col + " = {key:String}"
			params = append(params, chstore.Param{Name: "key", Value: q.Value})
		}
	}
	sql := "SELECT " + keyExpr + " AS k," +
		" intDiv(toUnixTimestamp64Nano(timestamp) - {from:Int64}, {width:Int64}) AS b," +
		" toString(sum(cost_usd)) AS s" +
		" FROM " + s.Database + ".genai_spans" +
		" WHERE timestamp >= fromUnixTimestamp64Nano({from:Int64}) AND timestamp < fromUnixTimestamp64Nano({to:Int64})" +
		" AND cost_source IN ('provider', 'computed')" +
		" AND attributes['aiops.usage.duplicate_of'] = ''" + where +
		" GROUP BY k, b"
	rows, err := s.Store.Query(ctx, sql, params...)
	if err != nil {
		return nil, err
	}
	ki, bi, si := rows.Col("k"), rows.Col("b"), rows.Col("s")
	if ki < 0 || bi < 0 || si < 0 {
		return nil, fmt.Errorf("spend query returned columns %v", rows.Columns)
	}
	out := make([]SpendRow, 0, len(rows.Data))
	for _, r := range rows.Data {
		k, _ := r[ki].(string)
		b, ok := r[bi].(int64)
		if !ok {
			return nil, fmt.Errorf("bucket column is %T, want int64", r[bi])
		}
		str, _ := r[si].(string)
		a, err := pricing.ParseUSD(str)
		if err != nil {
			return nil, fmt.Errorf("spend %q: %w", str, err)
		}
		out = append(out, SpendRow{Key: k, Bucket: b, Amount: a})
	}
	return out, nil
}
