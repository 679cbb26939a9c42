package providerusage

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/genai"
	"github.com/otelcol-aiops/otelcol-aiops/receiver/providerusage/internal/metadata"
)

// provider is one configured provider: where, with which key, what to read.
type provider struct {
	name     string
	endpoint string
	headers  http.Header // holds the key; never logged
	client   *http.Client
	reports  []report
	// mapping is a project (OpenAI) or workspace (Anthropic) id to our
	// attribution; keyNull is the key for a null id.
	mapping map[string]Attribution
	keyNull string
}

type usageReceiver struct {
	cfg       *Config
	set       receiver.Settings
	next      consumer.Logs
	obs       *receiverhelper.ObsReport
	tel       *telemetry
	providers []*provider
	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(context.Context, time.Duration) error

	pollMu   sync.Mutex // one poll at a time
	lastPoll time.Time

	stop   context.CancelFunc
	done   chan struct{}
	logged sync.Map // failure kinds already logged at warn or error level
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*usageReceiver, error) {
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "http", ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	tel, err := newTelemetry(set.MeterProvider)
	if err != nil {
		return nil, err
	}
	r := &usageReceiver{cfg: cfg, set: set, next: next, obs: obs, tel: tel, now: time.Now, sleep: sleepCtx}
	agent := "otelcol-aiops provider_usage"
	if v := set.BuildInfo.Version; v != "" {
		agent += "/" + v
	}
	if oa := cfg.OpenAI.Get(); oa != nil {
		h := http.Header{}
		h.Set("Authorization", "Bearer "+string(oa.AdminKey))
		h.Set("User-Agent", agent)
		r.providers = append(r.providers, &provider{name: providerOpenAI, endpoint: strings.TrimSuffix(oa.Endpoint, "/"), headers: h,
			client: newClient(oa.Timeout), reports: []report{openAICompletions, openAIEmbeddings, openAICosts}, mapping: oa.Projects})
	}
	if an := cfg.Anthropic.Get(); an != nil {
		h := http.Header{}
		h.Set("x-api-key", string(an.AdminKey))
		h.Set("anthropic-version", anthropicVersion)
		h.Set("User-Agent", agent)
		r.providers = append(r.providers, &provider{name: providerAnthropic, endpoint: strings.TrimSuffix(an.Endpoint, "/"), headers: h,
			client: newClient(an.Timeout), reports: []report{anthropicMessages, anthropicCosts}, mapping: an.Workspaces, keyNull: defaultWorkspace})
	}
	return r, nil
}

func newClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

// Start polls at once, then every interval, until Shutdown.
func (r *usageReceiver) Start(_ context.Context, _ component.Host) error {
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.cfg.Interval)
		defer t.Stop()
		for {
			r.poll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return nil
}

// Shutdown abandons a poll under way: what it emitted stays, and the next
// start reads the whole window again with a later poll_time.
func (r *usageReceiver) Shutdown(ctx context.Context) error {
	defer r.tel.close()
	if r.stop == nil {
		return nil
	}
	r.stop()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pollTime is this poll's version: the wall clock, kept increasing within
// the process so a later read always replaces an earlier one.
func (r *usageReceiver) pollTime() time.Time {
	t := r.now().UTC()
	if !t.After(r.lastPoll) {
		t = r.lastPoll.Add(time.Nanosecond)
	}
	r.lastPoll = t
	return t
}

// poll reads every provider's window once, the providers side by side.
func (r *usageReceiver) poll(ctx context.Context) {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	at := r.pollTime()
	var wg sync.WaitGroup
	for _, p := range r.providers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pollProvider(ctx, p, at)
		}()
	}
	wg.Wait()
}

func (r *usageReceiver) pollProvider(ctx context.Context, p *provider, at time.Time) {
	// Buckets start at midnight UTC; the first one holding now-lookback.
	from := midnight(at.Add(-time.Duration(r.cfg.Lookback)))
	okReports := 0
	for _, rep := range p.reports {
		rows, err := r.readReport(ctx, p, rep, from)
		if ctx.Err() != nil {
			return // shutting down: the next start reads it all again
		}
		// Rows of whole buckets read before a failure are good as they are.
		delivered := len(rows) == 0 || r.emit(ctx, p, rep, rows, at)
		if err == nil {
			if delivered {
				okReports++
			}
			continue
		}
		r.reportFailure(p, rep, err)
		if re := (*requestError)(nil); errors.As(err, &re) && re.auth() {
			break // the same key would be refused by every report
		}
	}
	outcome := pollPartial
	switch okReports {
	case len(p.reports):
		outcome = pollOK
		r.tel.succeeded(p.name, at.Unix())
		r.logged.Delete(authKey(p)) // a key refused again later is reported again
	case 0:
		outcome = pollFailed
	}
	r.tel.add(ctx, r.tel.polls, 1, attribute.String("provider", p.name), attribute.String("outcome", outcome))
}

func authKey(p *provider) string { return "auth:" + p.name }

// reportFailure logs a failed report: an auth failure at error level once
// until a poll succeeds again, anything else at warn level once per kind;
// repeats at debug level. The counters see every one.
func (r *usageReceiver) reportFailure(p *provider, rep report, err error) {
	re := (*requestError)(nil)
	errors.As(err, &re)
	fields := []zap.Field{zap.String("provider", p.name), zap.String("report", rep.source), zap.Error(err)}
	if re != nil && re.auth() {
		if _, seen := r.logged.LoadOrStore(authKey(p), true); !seen {
			r.set.Logger.Error(fmt.Sprintf("%s refused the admin key: check %s.admin_key is an organization admin key with access to the usage and cost reports; "+
				"not retried until the next poll (logged once; see aiops_provider_usage_requests)", p.name, p.name), fields...)
			return
		}
		r.set.Logger.Debug("admin key refused again", fields...)
		return
	}
	kind := "other"
	if re != nil {
		kind = re.outcome
	}
	if _, seen := r.logged.LoadOrStore("fail:"+p.name+"/"+rep.source+"/"+kind, true); !seen {
		r.set.Logger.Warn("reading a provider report failed; the next poll reads the whole window again (logged once per kind; see aiops_provider_usage_requests)", fields...)
		return
	}
	r.set.Logger.Debug("reading a provider report failed again", fields...)
}

// readReport reads every page of one report from from on. On error it
// returns the rows of the pages read so far: pages hold whole buckets.
func (r *usageReceiver) readReport(ctx context.Context, p *provider, rep report, from time.Time) ([]row, error) {
	var rows []row
	token := ""
	seen := map[string]bool{}
	for n := 0; n < maxPages; n++ {
		body, err := r.get(ctx, p, rep, rep.query(from, token))
		if err != nil {
			return rows, err
		}
		got, pg, err := rep.readPage(body)
		outcome := outcomeOK
		if err != nil {
			outcome = outcomeInvalidResponse
		}
		r.tel.add(ctx, r.tel.requests, 1, attribute.String("provider", p.name), attribute.String("report", rep.source), attribute.String("outcome", outcome))
		if err != nil {
			return rows, &requestError{outcome: outcomeInvalidResponse, msg: fmt.Sprintf("page %d: %v", n, err)}
		}
		rows = append(rows, got...)
		if !pg.HasMore {
			return rows, nil
		}
		if pg.NextPage == nil || *pg.NextPage == "" || seen[*pg.NextPage] {
			return rows, &requestError{outcome: outcomeInvalidResponse, msg: errPagesLoop.Error()}
		}
		token = *pg.NextPage
		seen[token] = true
	}
	return rows, &requestError{outcome: outcomeInvalidResponse, msg: fmt.Sprintf("more than %d pages", maxPages)}
}

// emit sends one report's rows as one request; the exporter stamps it
// with a token of its content, poll_time included, so a re-sent copy is
// stored once and a later read is stored beside it and wins.
func (r *usageReceiver) emit(ctx context.Context, p *provider, rep report, rows []row, at time.Time) (delivered bool) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	problems := map[string]int{}
	for i := range rows {
		row := &rows[i]
		skip := false
		for _, pr := range row.problems {
			problems[pr]++
			skip = skip || pr == problemBadBucket || pr == problemBadAmount
		}
		if skip {
			continue
		}
		r.record(sl.LogRecords().AppendEmpty(), p, rep, row, at)
	}
	for reason, n := range problems {
		r.tel.add(ctx, r.tel.problems, n, attribute.String("provider", p.name), attribute.String("report", rep.source), attribute.String("reason", reason))
		if _, seen := r.logged.LoadOrStore("row:"+p.name+"/"+rep.source+"/"+reason, true); !seen {
			r.set.Logger.Warn("report rows with a problem (logged once per kind; see aiops_provider_usage_row_problems)",
				zap.String("provider", p.name), zap.String("report", rep.source), zap.String("reason", reason), zap.Int("rows", n))
		}
	}
	n := ld.LogRecordCount()
	if n == 0 {
		return true
	}
	attrs := []attribute.KeyValue{attribute.String("provider", p.name), attribute.String("report", rep.source)}
	opCtx := r.obs.StartLogsOp(ctx)
	err := r.next.ConsumeLogs(opCtx, ld)
	r.obs.EndLogsOp(opCtx, "json", n, err)
	if err != nil {
		r.tel.add(ctx, r.tel.refused, n, attrs...)
		if _, seen := r.logged.LoadOrStore("refused", true); !seen {
			r.set.Logger.Warn("the pipeline refused provider usage records; the next poll reads them again (logged once; see aiops_provider_usage_records_refused)",
				zap.String("provider", p.name), zap.String("report", rep.source), zap.Error(err))
		}
		return false
	}
	r.tel.add(ctx, r.tel.emitted, n, attrs...)
	return true
}

// record writes one row in the genai.PU* contract.
func (r *usageReceiver) record(lr plog.LogRecord, p *provider, rep report, row *row, at time.Time) {
	name := genai.ProviderUsageEvent
	if rep.kind == kindCost {
		name = genai.ProviderCostEvent
	}
	lr.SetEventName(name)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(row.start))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(at))
	a := lr.Attributes()
	a.EnsureCapacity(24)
	a.PutStr(genai.PUProvider, p.name)
	a.PutStr(genai.PUSource, rep.source)
	a.PutInt(genai.PUBucketStart, row.start.Unix())
	a.PutInt(genai.PUBucketEnd, row.end.Unix())
	a.PutStr(genai.PUModel, row.model)
	a.PutStr(genai.PUProjectID, row.project)
	a.PutStr(genai.PUAPIKeyID, row.apiKey)
	a.PutStr(genai.PUServiceTier, row.serviceTier)
	if row.batch != "" {
		a.PutStr(genai.PUBatch, row.batch)
	}
	a.PutStr(genai.PULineItem, row.lineItem)
	a.PutStr(genai.PUCostType, row.costType)
	a.PutStr(genai.PUTokenType, row.tokenType)
	a.PutStr(genai.PUContext, row.contextWindow)
	for _, c := range row.counts {
		a.PutInt(c.key, c.n)
	}
	if row.hasCost {
		a.PutStr(genai.PUCost, row.cost.String())
		a.PutStr(genai.PUCurrency, row.currency)
	}
	a.PutInt(genai.PUPollTime, at.UnixNano())
	// Unmapped groups keep no workload: spend no instrumented workload claims.
	key := row.project
	if key == "" {
		key = p.keyNull
	}
	if m, ok := p.mapping[key]; ok && key != "" {
		putNonEmpty(a, genai.AIOpsWorkload, m.Workload)
		putNonEmpty(a, genai.AIOpsTenantID, m.Tenant)
		putNonEmpty(a, genai.AIOpsTeam, m.Team)
	}
}

func putNonEmpty(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}

func midnight(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
