package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ExporterSpans are an exporter's span counters from the collector's own
// Prometheus telemetry, summed over all series carrying exporter="NAME".
type ExporterSpans struct {
	Sent   float64
	Failed float64
	Found  bool // at least one sent_spans series matched
}

// ParseExporterSpans reads Prometheus text exposition and sums
// otelcol_exporter_sent_spans and otelcol_exporter_send_failed_spans
// (with or without a _total suffix) for the given exporter label value.
func ParseExporterSpans(r io.Reader, exporter string) (ExporterSpans, error) {
	var res ExporterSpans
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value, ok := parseSample(line)
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, "_total")
		if name != "otelcol_exporter_sent_spans" && name != "otelcol_exporter_send_failed_spans" {
			continue
		}
		if labels["exporter"] != exporter {
			continue
		}
		if name == "otelcol_exporter_sent_spans" {
			res.Sent += value
			res.Found = true
		} else {
			res.Failed += value
		}
	}
	return res, sc.Err()
}

// parseSample parses `name{k="v",...} value [timestamp]`.
func parseSample(line string) (string, map[string]string, float64, bool) {
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return "", nil, 0, false
	}
	name, rest := line[:i], line[i:]
	labels := map[string]string{}
	if rest[0] == '{' {
		var ok bool
		labels, rest, ok = parseLabels(rest[1:])
		if !ok {
			return "", nil, 0, false
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", nil, 0, false
	}
	return name, labels, v, true
}

// parseLabels parses `k="v",...}` and returns the remainder after '}'.
func parseLabels(s string) (map[string]string, string, bool) {
	labels := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return nil, "", false
		}
		if s[0] == '}' {
			return labels, s[1:], true
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, "", false
		}
		key := strings.TrimSpace(s[:eq])
		s = s[eq+2:]
		var val strings.Builder
		closed := false
		for j := 0; j < len(s); j++ {
			ch := s[j]
			if ch == '\\' && j+1 < len(s) {
				j++
				switch s[j] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(s[j])
				}
				continue
			}
			if ch == '"' {
				s = s[j+1:]
				closed = true
				break
			}
			val.WriteByte(ch)
		}
		if !closed {
			return nil, "", false
		}
		labels[key] = val.String()
	}
}

// ScrapeExporterSpans fetches a loopback metrics URL and parses it.
func ScrapeExporterSpans(ctx context.Context, url, exporter string) (ExporterSpans, error) {
	if err := CheckLoopbackURL(url); err != nil {
		return ExporterSpans{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return ExporterSpans{}, err
	}
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DialContext: dialLoopback},
		Timeout:   5 * time.Second,
	}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return ExporterSpans{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ExporterSpans{}, fmt.Errorf("GET %s: http %d", url, resp.StatusCode)
	}
	return ParseExporterSpans(resp.Body, exporter)
}

// WaitExporterSpans polls url until the exporter's sent span count reaches
// target or timeout elapses. It returns the last observed counters.
func WaitExporterSpans(ctx context.Context, url, exporter string, target float64, timeout, interval time.Duration) (ExporterSpans, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last ExporterSpans
	var lastErr error
	for {
		got, err := ScrapeExporterSpans(ctx, url, exporter)
		if err == nil {
			last, lastErr = got, nil
			if got.Sent >= target {
				return got, nil
			}
		} else {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("timed out after %s waiting for exporter %q at %s: sent_spans=%.0f want>=%.0f (send_failed_spans=%.0f)",
				timeout, exporter, url, last.Sent, target, last.Failed)
			if !last.Found {
				msg += fmt.Sprintf("; no otelcol_exporter_sent_spans series with exporter=%q", exporter)
			}
			if lastErr != nil {
				msg += "; last scrape error: " + lastErr.Error()
			}
			if errors.Is(context.Cause(ctx), context.Canceled) {
				msg = "interrupted while waiting for metrics: " + msg
			}
			return last, errors.New(msg)
		case <-time.After(interval):
		}
	}
}
