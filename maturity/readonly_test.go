package maturity

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// readonlyStore refuses queries that change settings, as a server does for
// a readonly user and the collector's HTTP interface for its readers.
type readonlyStore struct {
	chstore.Store
	refused int
}

func (r *readonlyStore) Query(ctx context.Context, q string, ps ...chstore.Param) (*chstore.Rows, error) {
	if strings.Contains(q, "SETTINGS") {
		r.refused++
		return nil, &clickhouse.Exception{Code: 164, Name: "READONLY", Message: "Cannot modify 'use_index_for_in_with_subqueries_max_values' setting in readonly mode"}
	}
	return r.Store.Query(ctx, q, ps...)
}

// TestScoringWithoutSettings: a reader that may not change settings gets
// the same report; the scorer asks once.
func TestScoringWithoutSettings(t *testing.T) {
	s := openStore(t)
	start := fillBench(t, s, "readonly", 20_000)
	o := Options{Database: "readonly", From: start, To: start.AddDate(0, 0, 30), RunID: "same"}
	want, err := Score(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	ro := &readonlyStore{Store: s}
	got, err := Score(context.Background(), ro, o)
	if err != nil {
		t.Fatal(err)
	}
	if ro.refused != 1 {
		t.Errorf("settings refused %d times, want once", ro.refused)
	}
	for _, r := range []*Report{got, want} {
		for i := range r.Workloads {
			for j := range r.Workloads[i].Scores {
				r.Workloads[i].Scores[j].Trend = nil // dated by the run
			}
		}
	}
	a, _ := json.Marshal(got.Workloads)
	b, _ := json.Marshal(want.Workloads)
	if string(a) != string(b) {
		t.Error("reports differ without the settings")
	}
}
