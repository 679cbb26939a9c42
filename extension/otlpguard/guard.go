package otlpguard

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-aiops/otelcol-aiops/extension/otlpguard/internal/metadata"
)

// Why a request was refused: the values of the reason attribute.
const (
	reasonTooDeep     = "too_deep"     // values nested beyond max_value_depth
	reasonInvalidJSON = "invalid_json" // an OTLP/JSON body that is not JSON
	reasonTooLarge    = "too_large"    // a body beyond max_body_bytes
	numReasons        = 3
)

var reasons = [numReasons]string{reasonTooDeep, reasonInvalidJSON, reasonTooLarge}

const (
	transportHTTP = "http"
	transportGRPC = "grpc"
)

type guard struct {
	cfg    *Config
	logger *zap.Logger

	checked, rejected metric.Int64Counter
	checkedOpt        map[string]metric.AddOption
	rejectedOpt       map[[2]string]metric.AddOption
	logged            [numReasons]atomic.Bool

	// pending holds gRPC requests the codec refused, until the interceptor
	// answers them (see grpc.go).
	pending parked
}

var (
	_ extensionmiddleware.HTTPServer = (*guard)(nil)
	_ extensionmiddleware.GRPCServer = (*guard)(nil)
)

func newGuard(cfg *Config, set component.TelemetrySettings) (*guard, error) {
	g := &guard{cfg: cfg, logger: set.Logger, checkedOpt: map[string]metric.AddOption{}, rejectedOpt: map[[2]string]metric.AddOption{}}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	var err1, err2 error
	g.checked, err1 = meter.Int64Counter("aiops_otlp_guard_checked",
		metric.WithDescription("OTLP requests checked before decoding, by transport."), metric.WithUnit("{requests}"))
	g.rejected, err2 = meter.Int64Counter("aiops_otlp_guard_rejected",
		metric.WithDescription("OTLP requests refused before decoding, by reason (too_deep, invalid_json, too_large) and transport."), metric.WithUnit("{requests}"))
	for _, tr := range []string{transportHTTP, transportGRPC} {
		g.checkedOpt[tr] = metric.WithAttributeSet(attribute.NewSet(attribute.String("transport", tr)))
		for _, r := range reasons {
			g.rejectedOpt[[2]string{r, tr}] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", r), attribute.String("transport", tr)))
		}
	}
	return g, errors.Join(err1, err2)
}

func (g *guard) Start(context.Context, component.Host) error { return nil }

func (g *guard) Shutdown(context.Context) error { return nil }

// refusal is one refused request.
type refusal struct {
	reason string
	detail string // for the client and the log
}

func (g *guard) countChecked(ctx context.Context, transport string) {
	g.checked.Add(ctx, 1, g.checkedOpt[transport])
}

// refuse counts a refusal and logs the first of each reason.
func (g *guard) refuse(ctx context.Context, transport, peer string, r refusal) {
	g.rejected.Add(ctx, 1, g.rejectedOpt[[2]string{r.reason, transport}])
	for i, name := range reasons {
		if name == r.reason && g.logged[i].CompareAndSwap(false, true) {
			g.logger.Warn("Refused an OTLP request before decoding; further refusals for this reason are only counted in aiops_otlp_guard_rejected",
				zap.String("reason", r.reason), zap.String("transport", transport), zap.String("peer", peer), zap.String("detail", r.detail))
		}
	}
}

// checkProto checks a protobuf request of the given type (mNone: unknown,
// checked as every signal).
func (g *guard) checkProto(b []byte, root msg) (refusal, bool) {
	roots := []msg{root}
	if root == mNone {
		roots = []msg{mTracesRequest, mLogsRequest, mMetricsRequest, mProfilesRequest}
	}
	for _, r := range roots {
		if _, deep := scanProto(b, r, g.cfg.MaxValueDepth); deep {
			return refusal{reasonTooDeep, fmt.Sprintf("refused by otlp_guard: a value nests more than %d arrays and maps (max_value_depth)", g.cfg.MaxValueDepth)}, false
		}
	}
	return refusal{}, true
}

func (g *guard) checkJSON(b []byte) (refusal, bool) {
	limit := g.cfg.jsonDepthLimit()
	switch _, v := scanJSON(b, limit); v {
	case jsonTooDeep:
		return refusal{reasonTooDeep, fmt.Sprintf("refused by otlp_guard: the JSON nests more than %d brackets, beyond values %d levels deep (max_value_depth)", limit, g.cfg.MaxValueDepth)}, false
	case jsonInvalid:
		return refusal{reasonInvalidJSON, "refused by otlp_guard: the body is not valid JSON"}, false
	}
	return refusal{}, true
}
