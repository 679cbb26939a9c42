package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const sampleExposition = `# HELP otelcol_exporter_sent_spans Number of spans successfully sent to destination.
# TYPE otelcol_exporter_sent_spans counter
otelcol_exporter_sent_spans{exporter="otlp",service_instance_id="a1",service_name="otelcol-aiops",service_version="0.1.0"} 1200
otelcol_exporter_sent_spans{exporter="otlp/backup",service_instance_id="a1",service_name="otelcol-aiops",service_version="0.1.0"} 999
otelcol_exporter_sent_spans{exporter="debug",service_instance_id="a1"} 7
# HELP otelcol_exporter_sent_spans_total Number of spans successfully sent to destination.
# TYPE otelcol_exporter_sent_spans_total counter
otelcol_exporter_sent_spans_total{data_type="traces",exporter="otlp",otel_scope_name="go.opentelemetry.io/collector/exporter/exporterhelper"} 300 1718000000000
otelcol_exporter_send_failed_spans_total{exporter="otlp",note="say \"hi\", ok\\"} 4
otelcol_exporter_sent_spans_total{exporter="otlp"} 1.5e1
otelcol_exporter_sent_spans 42
otelcol_exporter_queue_size{exporter="otlp"} 10
otelcol_receiver_accepted_spans_total{receiver="otlp",exporter="otlp"} 100000
`

func TestParseExporterSpans(t *testing.T) {
	got, err := ParseExporterSpans(strings.NewReader(sampleExposition), "otlp")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Found || got.Sent != 1200+300+15 || got.Failed != 4 {
		t.Fatalf("otlp: %+v", got)
	}
	got, _ = ParseExporterSpans(strings.NewReader(sampleExposition), "otlp/backup")
	if got.Sent != 999 {
		t.Fatalf("otlp/backup: %+v", got)
	}
	got, _ = ParseExporterSpans(strings.NewReader(sampleExposition), "missing")
	if got.Found || got.Sent != 0 {
		t.Fatalf("missing: %+v", got)
	}
}

func TestParseLabelsEscapes(t *testing.T) {
	name, labels, v, ok := parseSample(`m{a="x\"y",b="c\\d",c="e\nf"} 3`)
	if !ok || name != "m" || v != 3 || labels["a"] != `x"y` || labels["b"] != `c\d` || labels["c"] != "e\nf" {
		t.Fatalf("got %q %v %v %v", name, labels, v, ok)
	}
	if _, _, _, ok := parseSample(`m{a="unterminated} 3`); ok {
		t.Fatal("accepted malformed labels")
	}
}

func TestWaitExporterSpans(t *testing.T) {
	var sent atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "otelcol_exporter_sent_spans_total{exporter=\"otlp\"} %d\n", sent.Add(100))
	}))
	defer hs.Close()
	got, err := WaitExporterSpans(context.Background(), hs.URL+"/metrics", "otlp", 500, 5*time.Second, 10*time.Millisecond)
	if err != nil || got.Sent < 500 {
		t.Fatalf("got %+v, %v", got, err)
	}
	_, err = WaitExporterSpans(context.Background(), hs.URL+"/metrics", "nope", 1, 150*time.Millisecond, 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "timed out") || !strings.Contains(err.Error(), `exporter="nope"`) {
		t.Fatalf("want timeout error, got %v", err)
	}
	if _, err := ScrapeExporterSpans(context.Background(), "http://example.com/metrics", "otlp"); err == nil {
		t.Fatal("scraped a non-loopback URL")
	}
}
