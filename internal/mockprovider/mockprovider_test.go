package mockprovider

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC)

func get(t *testing.T, u string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("not JSON: %s", raw)
	}
	return resp.StatusCode, resp.Header, body
}

// Pages chain through next_page; the last has has_more false and a null
// next_page; each provider's bucket shape is as documented.
func TestPagesAndShapes(t *testing.T) {
	oa := NewOpenAI("k")
	defer oa.Close()
	oa.SetReport(OpenAICompletions, Days(testNow, 3, func(i int, _ time.Time) []map[string]any {
		return []map[string]any{OpenAIUsage{Model: "m", Input: int64(i)}.Row("organization.usage.completions.result")}
	}))
	q := url.Values{"start_time": {"0"}, "group_by": {"model"}}
	var starts []float64
	for page := ""; ; {
		if page != "" {
			q.Set("page", page)
		}
		status, _, body := get(t, oa.URL+OpenAICompletions+"?"+q.Encode(), "Authorization", "Bearer k")
		if status != 200 || body["object"] != "page" {
			t.Fatalf("%d %v", status, body)
		}
		b := body["data"].([]any)[0].(map[string]any)
		if b["object"] != "bucket" || b["end_time"].(float64)-b["start_time"].(float64) != 86400 {
			t.Errorf("bucket %v", b)
		}
		starts = append(starts, b["start_time"].(float64))
		if body["has_more"] != true {
			if body["next_page"] != nil {
				t.Errorf("last page next_page %v", body["next_page"])
			}
			break
		}
		page = body["next_page"].(string)
	}
	if len(starts) != 3 || starts[2] != float64(Day(testNow).Unix()) {
		t.Errorf("bucket starts %v", starts)
	}

	an := NewAnthropic("a")
	defer an.Close()
	an.SetReport(AnthropicCosts, Days(testNow, 1, func(int, time.Time) []map[string]any {
		return []map[string]any{AnthropicCost("w", "d", "m", "output_tokens", "1.5")}
	}))
	status, _, body := get(t, an.URL+AnthropicCosts+"?starting_at=2026-11-01T00:00:00Z&group_by[]=workspace_id", "x-api-key", "a", "anthropic-version", AnthropicVersion)
	b := body["data"].([]any)[0].(map[string]any)
	if status != 200 || b["starting_at"] != "2026-11-20T00:00:00Z" || b["results"].([]any)[0].(map[string]any)["amount"] != "1.5" {
		t.Errorf("%d %v", status, body)
	}
}

// Auth, version header, grouping syntax and scripted faults answer as the
// real APIs would, in each provider's error envelope.
func TestRefusalsAndFaults(t *testing.T) {
	oa, an := NewOpenAI("k"), NewAnthropic("a")
	defer oa.Close()
	defer an.Close()
	if s, _, body := get(t, oa.URL+OpenAICosts+"?start_time=0", "Authorization", "Bearer wrong"); s != 401 || body["error"].(map[string]any)["message"] == "" {
		t.Errorf("wrong key: %d %v", s, body)
	}
	if s, _, body := get(t, an.URL+AnthropicMessages+"?starting_at=2026-11-01T00:00:00Z", "x-api-key", "a"); s != 400 || body["type"] != "error" {
		t.Errorf("no anthropic-version: %d %v", s, body)
	}
	if s, _, _ := get(t, oa.URL+OpenAICosts+"?start_time=0&group_by[]=project_id", "Authorization", "Bearer k"); s != 400 {
		t.Errorf("Anthropic's array syntax on OpenAI: %d", s)
	}
	an.Script(AnthropicMessages, Fault{Status: 429, RetryAfter: "3"})
	s, h, body := get(t, an.URL+AnthropicMessages+"?starting_at=2026-11-01T00:00:00Z", "x-api-key", "a", "anthropic-version", AnthropicVersion)
	if s != 429 || h.Get("Retry-After") != "3" || body["error"].(map[string]any)["type"] != "rate_limit_error" {
		t.Errorf("scripted 429: %d %v %v", s, h, body)
	}
	if s, _, _ := get(t, an.URL+AnthropicMessages+"?starting_at=2026-11-01T00:00:00Z", "x-api-key", "a", "anthropic-version", AnthropicVersion); s != 200 {
		t.Errorf("after the fault: %d", s)
	}
}

// A held page waits for its release; Close lets it go, and a release after
// Close is harmless.
func TestHold(t *testing.T) {
	oa := NewOpenAI("k")
	release := oa.Hold(OpenAICosts, 0)
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, oa.URL+OpenAICosts+"?start_time=0", nil)
		req.Header.Set("Authorization", "Bearer k")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1 // Close may cut the connection before the answer
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case <-done:
		t.Fatal("a held page was answered")
	case <-time.After(100 * time.Millisecond):
	}
	oa.Close()
	release()
	select {
	case s := <-done:
		if s != 200 && s != -1 {
			t.Errorf("after Close: %d", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close left a held page waiting")
	}
}
