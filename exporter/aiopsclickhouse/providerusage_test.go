package aiopsclickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
)

var puDay = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// puLogs is one read of provider usage as the receiver emits it: one
// completions record per (api key, output tokens), at poll time at.
func puLogs(at time.Time, keys []string, outputs []int64) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range keys {
		lr := lrs.AppendEmpty()
		lr.SetEventName(genai.ProviderUsageEvent)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(puDay))
		a := lr.Attributes()
		a.PutStr(genai.PUProvider, "openai")
		a.PutStr(genai.PUSource, "completions")
		a.PutInt(genai.PUBucketStart, puDay.Unix())
		a.PutInt(genai.PUBucketEnd, puDay.Add(24*time.Hour).Unix())
		a.PutStr(genai.PUModel, "gpt-4o-2024-08-06")
		a.PutStr(genai.PUProjectID, "proj_abc")
		a.PutStr(genai.PUAPIKeyID, keys[i])
		a.PutInt(genai.PUOutputTokens, outputs[i])
		a.PutInt(genai.PUPollTime, at.UnixNano())
	}
	return ld
}

func puCount(t *testing.T, db, q string) uint64 {
	t.Helper()
	return scalar(t, "SELECT "+q+" FROM "+db).(uint64)
}

// Every column of a usage and a cost record, as read back through the view.
func TestProviderUsageRecordsBecomeRows(t *testing.T) {
	db := "pu_rows"
	h := newHarness(t, testConfig(db), nil)
	at := time.Date(2026, 11, 20, 13, 0, 0, 0, time.UTC)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	u := lrs.AppendEmpty()
	u.SetEventName(genai.ProviderUsageEvent)
	a := u.Attributes()
	a.PutStr(genai.PUProvider, "anthropic")
	a.PutStr(genai.PUSource, "messages")
	a.PutInt(genai.PUBucketStart, puDay.Unix())
	a.PutInt(genai.PUBucketEnd, puDay.Add(24*time.Hour).Unix())
	a.PutStr(genai.PUModel, "claude-sonnet-4-20250514")
	a.PutStr(genai.PUProjectID, "wrkspc_kb")
	a.PutStr(genai.PUAPIKeyID, "apikey_kb")
	a.PutStr(genai.PUServiceTier, "standard")
	a.PutStr(genai.PUContext, "0-200k")
	for i, k := range []string{genai.PUInputTokens, genai.PUCacheReadTokens, genai.PUCacheWrite5mTokens, genai.PUCacheWrite1hTokens,
		genai.PUCacheWrite30mTokens, genai.PUCacheWrite12hTokens, genai.PUOutputTokens, genai.PUInputAudioTokens,
		genai.PUOutputAudioTokens, genai.PURequests, genai.PUWebSearchRequests} {
		a.PutInt(k, int64(i+1))
	}
	a.PutInt(genai.PUPollTime, at.UnixNano())
	a.PutStr(genai.AIOpsWorkload, "kb-rag")
	a.PutStr(genai.AIOpsTenantID, "acme")
	a.PutStr(genai.AIOpsTeam, "cx")
	a.PutStr("aiops.provider_usage.extra", "kept") // not a column: kept in attributes

	c := lrs.AppendEmpty()
	c.SetEventName(genai.ProviderCostEvent)
	a = c.Attributes()
	a.PutStr(genai.PUProvider, "openai")
	a.PutStr(genai.PUSource, "costs")
	a.PutInt(genai.PUBucketStart, puDay.Unix())
	a.PutInt(genai.PUBucketEnd, puDay.Add(24*time.Hour).Unix())
	a.PutStr(genai.PUProjectID, "proj_x")
	a.PutStr(genai.PULineItem, "gpt-4o-2024-08-06, input")
	a.PutStr(genai.PUCost, "0.000000000001") // one picodollar, exactly
	a.PutStr(genai.PUCurrency, "usd")
	a.PutStr(genai.PUBatch, "true")
	a.PutInt(genai.PUPollTime, at.UnixNano())
	if err := h.logs.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}

	rows, err := openStore(t).Query(context.Background(), "SELECT kind, provider, source, bucket_start, bucket_end, project_id, api_key_id, model, "+
		"service_tier, batch, line_item, context_window, input_tokens, cache_read_tokens, cache_write_5m_tokens, cache_write_1h_tokens, "+
		"cache_write_30m_tokens, cache_write_12h_tokens, output_tokens, input_audio_tokens, output_audio_tokens, requests, web_search_requests, "+
		"toString(cost_usd), toString(cost_amount), currency, workload, tenant_id, team, poll_time, attributes FROM "+db+".provider_usage_latest ORDER BY kind DESC")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows.Data) != 2 {
		t.Fatalf("%d rows, want 2: %v", len(rows.Data), rows.Data)
	}
	usage, cost := rows.Data[0], rows.Data[1]
	want := []any{"usage", "anthropic", "messages", puDay, puDay.Add(24 * time.Hour), "wrkspc_kb", "apikey_kb", "claude-sonnet-4-20250514",
		"standard", "", "", "0-200k", uint64(1), uint64(2), uint64(3), uint64(4), uint64(5), uint64(6), uint64(7), uint64(8), uint64(9),
		uint64(10), uint64(11), "0", "0", "", "kb-rag", "acme", "cx", at}
	for i, w := range want {
		if tm, ok := w.(time.Time); ok {
			if !usage[i].(time.Time).Equal(tm) {
				t.Errorf("usage column %d: %v, want %v", i, usage[i], w)
			}
		} else if usage[i] != w {
			t.Errorf("usage column %d: %v, want %v", i, usage[i], w)
		}
	}
	if m := usage[30].(map[string]string); len(m) != 1 || m["aiops.provider_usage.extra"] != "kept" {
		t.Errorf("usage attributes %v, want only the extra key", m)
	}
	if cost[0] != "cost" || cost[5] != "proj_x" || cost[9] != "true" || cost[10] != "gpt-4o-2024-08-06, input" ||
		cost[23] != "0.000000000001" || cost[24] != "0.000000000001" || cost[25] != "USD" || cost[26] != "" {
		t.Errorf("cost row %v", cost)
	}
}

// A re-poll replaces, a re-send is stored once, and a later read with the
// same values is not mistaken for a re-send.
func TestProviderUsageRepollReplacesAndResendIsStoredOnce(t *testing.T) {
	db := "pu_repoll"
	h := newHarness(t, testConfig(db), nil)
	ctx := context.Background()
	// No merge may collapse versions while the test counts the raw table.
	if err := openStore(t).Exec(ctx, "SYSTEM STOP MERGES "+db+".provider_usage"); err != nil {
		t.Fatal(err)
	}
	t1 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	send := func(ld plog.Logs) {
		t.Helper()
		if err := h.logs.ConsumeLogs(ctx, ld); err != nil {
			t.Fatal(err)
		}
	}
	// Poll 1: key_a 100, no key (playground) 5.
	send(puLogs(t1, []string{"key_a", ""}, []int64{100, 5}))
	// The same read again (a client retry, a queue replay): a fresh copy,
	// stamped again from its content.
	send(puLogs(t1, []string{"key_a", ""}, []int64{100, 5}))
	if n := puCount(t, db+".provider_usage", "count()"); n != 2 {
		t.Fatalf("raw table holds %d rows after a re-send, want 2", n)
	}
	if p := h.metricPoints(t)["aiops_exporter_rows_already_committed{table=provider_usage}"]; p != 2 {
		t.Errorf("rows already committed: %v, want 2", p)
	}
	// Poll 2: key_a grew to 250; the playground group is unchanged but is a
	// new read, stored beside the old one.
	send(puLogs(t2, []string{"key_a", ""}, []int64{250, 5}))
	if n := puCount(t, db+".provider_usage", "count()"); n != 4 {
		t.Fatalf("raw table holds %d rows after the second poll, want 4", n)
	}
	// A stale copy of poll 1 arrives late (a dead-letter replay): it loses.
	send(puLogs(t1, []string{"key_a", ""}, []int64{100, 5}))
	if n := puCount(t, db+".provider_usage_latest", "sum(output_tokens)"); n != 255 {
		t.Fatalf("sum through the view: %d, want 250 + 5", n)
	}
	if n := puCount(t, db+".provider_usage_latest", "countIf(poll_time = toDateTime64('2026-11-20 11:00:00', 9, 'UTC'))"); n != 2 {
		t.Errorf("%d rows from the second poll, want both groups", n)
	}
}

// Records that cannot be placed are counted by reason; an unreadable cost
// or bucket end is stored repaired, its raw cost kept.
func TestProviderUsageBadRecordsAreCounted(t *testing.T) {
	db := "pu_bad"
	h := newHarness(t, testConfig(db), nil)
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ld := puLogs(at, []string{"no_bucket", "no_poll", "no_provider", "bad_cost", "bad_end", "credit"}, []int64{1, 2, 3, 4, 5, 6})
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	lrs.At(0).Attributes().Remove(genai.PUBucketStart)
	lrs.At(1).Attributes().PutStr(genai.PUPollTime, "yesterday")
	lrs.At(2).Attributes().PutStr(genai.PUProvider, "")
	lrs.At(3).Attributes().PutStr(genai.PUCost, "12 dollars")
	lrs.At(4).Attributes().PutInt(genai.PUBucketEnd, 0)
	lrs.At(5).Attributes().PutStr(genai.PUCost, "-1.5")
	lrs.At(5).Attributes().PutStr(genai.PUCurrency, "USD")
	if err := h.logs.ConsumeLogs(context.Background(), ld); err != nil {
		t.Fatal(err)
	}
	if n := puCount(t, db+".provider_usage", "count()"); n != 3 {
		t.Fatalf("%d rows stored, want the 3 that can be placed", n)
	}
	rows, err := openStore(t).Query(context.Background(), "SELECT api_key_id, cost_usd, attributes['"+genai.PUCost+"'], bucket_end = bucket_start FROM "+
		db+".provider_usage ORDER BY api_key_id")
	if err != nil {
		t.Fatal(err)
	}
	if r := rows.Data[0]; r[0] != "bad_cost" || !r[1].(decimal.Decimal).IsZero() || r[2] != "12 dollars" {
		t.Errorf("bad cost row %v: want 0 with the raw text kept", r)
	}
	if r := rows.Data[1]; r[0] != "bad_end" || r[3] != uint8(1) {
		t.Errorf("bad end row %v: want the end set to the start", r)
	}
	if r := rows.Data[2]; r[0] != "credit" || !r[1].(decimal.Decimal).Equal(decimal.RequireFromString("-1.5")) {
		t.Errorf("credit row %v: want -1.5", r)
	}
	m := h.metricPoints(t)
	for k, want := range map[string]float64{
		"aiops_exporter_records_skipped{reason=provider_usage_no_bucket}":    1,
		"aiops_exporter_records_skipped{reason=provider_usage_no_poll_time}": 1,
		"aiops_exporter_records_skipped{reason=provider_usage_no_report}":    1,
		"aiops_exporter_values_repaired{kind=bad_cost}":                      1,
		"aiops_exporter_values_repaired{kind=bad_bucket_end}":                1,
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
}
