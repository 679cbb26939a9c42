package maturity

import (
	"context"
	"testing"
	"time"
)

func TestScoreEmptyDatabase(t *testing.T) {
	s := migrated(t, "empty_db")
	to := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rep, err := Score(context.Background(), s, Options{Database: "empty_db", From: to.AddDate(0, 0, -14), To: to, History: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Workloads) != 0 {
		t.Fatalf("workloads: %+v", rep.Workloads)
	}
}
