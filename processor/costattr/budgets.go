package costattr

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/internal/budget"
	"github.com/otelcol-aiops/otelcol-aiops/internal/chstore"
)

// Storage keys of the budget state.
const (
	storageName        = "budgets"
	storageKeyTracker  = "budget_state"
	storageKeyWebhooks = "webhook_state"
)

// budgets is the processor's budget machinery: the tracker, its storage,
// the webhook notifier and the ClickHouse reconciler.
type budgets struct {
	cfg     *BudgetsConfig
	set     processor.Settings
	logger  *zap.Logger
	tel     *telemetry
	tracker *budget.Tracker
	now     func() time.Time

	client   storage.Client
	notifier *budget.Notifier
	source   budget.SpendSource
	store    chstore.Store

	// openStore opens the reconcile store; replaced in tests.
	openStore func(ctx context.Context) (chstore.Store, error)

	saveMu   sync.Mutex
	webDirty bool
	flushReq chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

func newBudgets(cfg *Config, set processor.Settings, rules []budget.Rule, tel *telemetry) (*budgets, error) {
	tr, err := budget.NewTracker(rules, cfg.Budgets.MaxKeysPerRule)
	if err != nil {
		return nil, fmt.Errorf("budgets: %w", err)
	}
	bd := &budgets{cfg: &cfg.Budgets, set: set, logger: set.Logger, tel: tel, tracker: tr, now: time.Now, flushReq: make(chan struct{}, 1)}
	rc := cfg.Budgets.Reconcile
	bd.openStore = func(ctx context.Context) (chstore.Store, error) {
		return chstore.OpenServer(ctx, chstore.ServerOptions{DSN: rc.Endpoint, Username: rc.Username, Password: string(rc.Password)})
	}
	return bd, nil
}

func (p *costProcessor) start(ctx context.Context, host component.Host) error {
	if p.bud == nil {
		return nil
	}
	p.bud.now = p.now
	return p.bud.start(ctx, host)
}

func (p *costProcessor) shutdown(ctx context.Context) error {
	var err error
	if p.bud != nil {
		err = p.bud.shutdown(ctx)
	}
	p.tel.shutdown()
	return err
}

func (bd *budgets) start(ctx context.Context, host component.Host) (err error) {
	defer func() {
		if err != nil && bd.client != nil {
			_ = bd.client.Close(ctx)
			bd.client = nil
		}
	}()
	if bd.cfg.Storage != nil {
		ext, ok := host.GetExtensions()[*bd.cfg.Storage]
		if !ok {
			return fmt.Errorf("budgets.storage: extension %q is not configured (add it under extensions and service::extensions)", bd.cfg.Storage)
		}
		se, ok := ext.(storage.Extension)
		if !ok {
			return fmt.Errorf("budgets.storage: extension %q is not a storage extension", bd.cfg.Storage)
		}
		client, gerr := se.GetClient(ctx, component.KindProcessor, bd.set.ID, storageName)
		if gerr != nil {
			return fmt.Errorf("budgets.storage: %w", gerr)
		}
		bd.client = client
		if err := bd.restoreTracker(ctx); err != nil {
			return err
		}
	}
	if bd.cfg.Webhook.Endpoint != "" {
		hc, err := bd.cfg.Webhook.ToClient(ctx, host.GetExtensions(), bd.set.TelemetrySettings)
		if err != nil {
			return fmt.Errorf("budgets.webhook: %w", err)
		}
		bd.notifier = budget.NewNotifier(hc, bd.cfg.Webhook.Endpoint, bd.cfg.Webhook.RetryOnFailure, bd.logger)
		bd.notifier.OnResult = bd.tel.webhook
		bd.notifier.OnChange = func() {
			bd.saveMu.Lock()
			bd.webDirty = true
			bd.saveMu.Unlock()
			bd.requestFlush()
		}
		if bd.client != nil {
			data, err := bd.client.Get(ctx, storageKeyWebhooks)
			if err != nil {
				return fmt.Errorf("budgets.storage: reading webhook state: %w", err)
			}
			if data != nil {
				if err := bd.notifier.Restore(data); err != nil {
					bd.logger.Error("budget webhook state unreadable; undelivered webhooks from before the restart are lost", zap.Error(err))
				} else if n := len(bd.notifier.Pending()); n > 0 {
					bd.logger.Info("budget webhooks pending from before the restart", zap.Int("count", n))
				}
			}
		}
		bd.notifier.Start()
	}
	if err := bd.tel.observeBudgets(bd.tracker, bd.now); err != nil {
		return err
	}
	bd.stop, bd.done = make(chan struct{}), make(chan struct{})
	go bd.loop()
	return nil
}

func (bd *budgets) restoreTracker(ctx context.Context) error {
	data, err := bd.client.Get(ctx, storageKeyTracker)
	if err != nil {
		return fmt.Errorf("budgets.storage: reading budget state: %w", err)
	}
	if data == nil {
		return nil
	}
	keys, discarded, err := bd.tracker.RestoreState(data, bd.now())
	if err != nil {
		// A corrupt state must not stop the pipeline: start empty, loudly.
		bd.logger.Error("budget state unreadable; budgets start from zero for the current window", zap.Error(err))
		return nil
	}
	for _, d := range discarded {
		bd.logger.Warn("budget rule changed since the state was saved; its spend starts from zero", zap.String("rule", d))
	}
	bd.logger.Info("budget state restored", zap.Int("keys", keys))
	return nil
}

func (bd *budgets) requestFlush() {
	select {
	case bd.flushReq <- struct{}{}:
	default:
	}
}

func (bd *budgets) loop() {
	defer close(bd.done)
	flush := bd.cfg.FlushInterval
	if flush <= 0 {
		flush = 10 * time.Second
	}
	ft := time.NewTicker(flush)
	defer ft.Stop()
	var rc <-chan time.Time
	if bd.cfg.Reconcile.Endpoint != "" {
		rt := time.NewTicker(bd.cfg.Reconcile.Interval)
		defer rt.Stop()
		rc = rt.C
		bd.reconcile() // at start, so a restarted replica catches up at once
	}
	for {
		select {
		case <-bd.stop:
			return
		case <-ft.C:
			bd.tracker.GC(bd.now())
			bd.save(context.Background())
		case <-bd.flushReq:
			bd.save(context.Background())
		case <-rc:
			bd.reconcile()
		}
	}
}

// save writes changed state to the storage extension.
func (bd *budgets) save(ctx context.Context) {
	if bd.client == nil {
		return
	}
	bd.saveMu.Lock()
	defer bd.saveMu.Unlock()
	var ops []*storage.Operation
	if bd.tracker.Dirty() {
		data, err := bd.tracker.MarshalState(bd.now())
		if err != nil {
			bd.logger.Error("budget state not saved", zap.Error(err))
			bd.tracker.MarkDirty()
			return
		}
		ops = append(ops, storage.SetOperation(storageKeyTracker, data))
	}
	if bd.webDirty && bd.notifier != nil {
		data, err := bd.notifier.Snapshot()
		if err == nil {
			ops = append(ops, storage.SetOperation(storageKeyWebhooks, data))
		}
	}
	if len(ops) == 0 {
		return
	}
	if err := bd.client.Batch(ctx, ops...); err != nil {
		bd.logger.Error("budget state not saved; retrying at the next flush", zap.Error(err))
		bd.tracker.MarkDirty()
		return
	}
	bd.webDirty = false
}

func (bd *budgets) reconcile() {
	rc := bd.cfg.Reconcile
	ctx, cancel := context.WithTimeout(context.Background(), rc.Timeout)
	defer cancel()
	if bd.source == nil {
		store, err := bd.openStore(ctx)
		if err != nil {
			bd.tel.reconcile("error")
			bd.logger.Warn("budget reconcile: ClickHouse not reachable; retrying at the next interval", zap.Error(err))
			return
		}
		src, err := budget.NewClickHouseSource(store, rc.Database)
		if err != nil {
			store.Close()
			bd.logger.Error("budget reconcile", zap.Error(err))
			return
		}
		bd.store, bd.source = store, src
	}
	crossings, err := bd.tracker.Reconcile(ctx, bd.source, bd.now())
	if err != nil {
		bd.tel.reconcile("error")
		bd.logger.Warn("budget reconcile failed; local spend kept", zap.Error(err))
	} else {
		bd.tel.reconcile("ok")
	}
	for i := range crossings {
		bd.announce(context.Background(), &crossings[i], "", "")
	}
	if len(crossings) > 0 {
		bd.save(context.Background())
	}
}

func (bd *budgets) shutdown(ctx context.Context) error {
	if bd.stop != nil {
		close(bd.stop)
		<-bd.done
	}
	var errs []error
	if bd.notifier != nil {
		if err := bd.notifier.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		bd.saveMu.Lock()
		bd.webDirty = true
		bd.saveMu.Unlock()
	}
	bd.save(ctx)
	if bd.client != nil {
		if err := bd.client.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if bd.store != nil {
		if err := bd.store.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// announce reports a crossing: metric, WARN log record, webhook.
func (bd *budgets) announce(ctx context.Context, c *budget.Crossing, traceID, spanID string) {
	bd.tel.crossing(ctx, c)
	fields := []zap.Field{
		zap.String("event.name", budgetEventName),
		zap.String("aiops.budget.id", c.ID),
		zap.String("aiops.budget.rule", c.Rule.Name),
		zap.String("aiops.budget.key", c.KeyLabel()),
		zap.String("aiops.budget.threshold", c.Threshold.String()),
		zap.String("aiops.budget.severity", severity(c.Threshold)),
		zap.String("aiops.budget.window", c.Rule.Window.String()),
		zap.Time("aiops.budget.window.start", c.WindowStart),
		zap.String("aiops.budget.spent_usd", c.Spent.String()),
		zap.String("aiops.budget.limit_usd", c.Limit.String()),
	}
	if traceID != "" {
		fields = append(fields, zap.String("trace_id", traceID), zap.String("span_id", spanID))
	} else {
		fields = append(fields, zap.String("aiops.budget.source", "reconcile"))
	}
	bd.logger.Warn("budget threshold crossed", fields...)
	if bd.notifier != nil {
		bd.notifier.Enqueue(budget.NotificationFor(c, traceID, spanID))
	}
}

// budget counts the batch's priced calls and acts on the crossings.
func (p *costProcessor) budget(ctx context.Context, b *batch) {
	for gi := range b.genai {
		g := &b.genai[gi]
		if !g.counted || g.amount <= 0 {
			continue
		}
		var v budget.Values
		v[budget.User], v[budget.Tenant], v[budget.Team], v[budget.Workload] = g.vals[dimUser], g.vals[dimTenant], g.vals[dimTeam], g.vals[dimWorkload]
		b.items = append(b.items, budget.Item{Values: v, Amount: g.amount, At: g.at})
		b.itemOf = append(b.itemOf, int32(gi))
	}
	if len(b.items) == 0 {
		return
	}
	now := p.now()
	b.cross = p.bud.tracker.AddBatch(b.items, now, b.cross[:0])
	for i := range b.items {
		it := &b.items[i]
		if it.Level > budget.OK {
			attrs := b.spans[b.genai[b.itemOf[i]].ref].span.Attributes()
			b.w.PutStr(attrs, keyBudgetState, it.Level.String())
			b.w.PutStr(attrs, keyBudgetRule, it.LevelRule.Name)
		}
	}
	for i := range b.cross {
		c := &b.cross[i]
		span := b.spans[b.genai[b.itemOf[c.Item]].ref].span
		ev := span.Events().AppendEmpty()
		ev.SetName(budgetEventName)
		ts := span.EndTimestamp()
		if ts == 0 {
			ts = pcommon.NewTimestampFromTime(now)
		}
		ev.SetTimestamp(ts)
		a := ev.Attributes()
		a.PutStr("aiops.budget.id", c.ID)
		a.PutStr("aiops.budget.name", c.Rule.Name) // the exporter's genai_events.name
		a.PutStr("aiops.budget.rule", c.Rule.Name)
		a.PutStr("aiops.budget.key", c.KeyLabel())
		a.PutStr("aiops.budget.threshold", c.Threshold.String())
		a.PutStr("aiops.budget.state", c.Threshold.String())
		a.PutStr("aiops.budget.severity", severity(c.Threshold))
		a.PutStr("aiops.budget.action", "alert") // a collector cannot stop the call; it reports it
		a.PutStr("aiops.budget.window", c.Rule.Window.String())
		a.PutStr("aiops.budget.window.start", c.WindowStart.Format(time.RFC3339))
		a.PutDouble("aiops.budget.spent_usd", c.Spent.USD())
		a.PutDouble("aiops.budget.limit_usd", c.Limit.USD())
		tid, sid := span.TraceID(), span.SpanID()
		p.bud.announce(ctx, c, hexOrEmpty(tid[:]), hexOrEmpty(sid[:]))
	}
	if len(b.cross) > 0 {
		p.bud.requestFlush()
	}
}

// severity follows aitrace's policy scale (info, low, medium, high, critical).
func severity(t budget.Threshold) string {
	if t == budget.Hard {
		return "high"
	}
	return "medium"
}

func hexOrEmpty(b []byte) string {
	for _, x := range b {
		if x != 0 {
			return hex.EncodeToString(b)
		}
	}
	return ""
}
