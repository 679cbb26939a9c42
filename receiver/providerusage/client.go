package providerusage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

const (
	// maxBody bounds one page; a month of daily buckets for thousands of
	// groups fits many times over.
	maxBody = 64 << 20
	// backoffBase and backoffMax shape the waits after a 5xx or a network
	// error when the server names none.
	backoffBase = time.Second
	backoffMax  = time.Minute
	// maxRetryWait is the longest Retry-After honoured within a poll; a
	// longer one leaves the report to the next poll.
	maxRetryWait = 10 * time.Minute
	// maxPages stops a server whose pages never end.
	maxPages = 1000
	// maxMessage bounds the provider's error text in logs.
	maxMessage = 300
)

// requestError is a request that failed for good in this poll.
type requestError struct {
	outcome string
	status  int
	msg     string
}

func (e *requestError) Error() string {
	if e.status != 0 {
		return fmt.Sprintf("%s (HTTP %d): %s", e.outcome, e.status, e.msg)
	}
	return e.outcome + ": " + e.msg
}

// auth reports a key the provider refused: nothing else is asked of that
// provider in this poll.
func (e *requestError) auth() bool {
	return e.outcome == outcomeUnauthorized || e.outcome == outcomeForbidden
}

// get fetches one page, retrying 429 (after Retry-After), 5xx and network
// errors up to max_attempts. 401 and 403 are not retried.
func (r *usageReceiver) get(ctx context.Context, p *provider, rep report, q url.Values) ([]byte, error) {
	u := p.endpoint + rep.path + "?" + q.Encode()
	attrs := func(outcome string) []attribute.KeyValue {
		return []attribute.KeyValue{attribute.String("provider", p.name), attribute.String("report", rep.source), attribute.String("outcome", outcome)}
	}
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, &requestError{outcome: outcomeClientError, msg: err.Error()}
		}
		for k, v := range p.headers {
			req.Header[k] = v
		}
		var wait time.Duration
		var fail *requestError
		resp, err := p.client.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			fail = &requestError{outcome: outcomeNetworkError, msg: err.Error()}
		} else {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
			resp.Body.Close()
			switch s := resp.StatusCode; {
			case rerr != nil:
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				fail = &requestError{outcome: outcomeNetworkError, status: s, msg: "reading the response: " + rerr.Error()}
			case s == http.StatusOK && len(body) > maxBody:
				r.tel.add(ctx, r.tel.requests, 1, attrs(outcomeInvalidResponse)...)
				return nil, &requestError{outcome: outcomeInvalidResponse, status: s, msg: fmt.Sprintf("a page larger than %d MiB", maxBody>>20)}
			case s == http.StatusOK:
				return body, nil // counted by the caller, once it has read the page
			case s == http.StatusUnauthorized || s == http.StatusForbidden:
				outcome := outcomeUnauthorized
				if s == http.StatusForbidden {
					outcome = outcomeForbidden
				}
				r.tel.add(ctx, r.tel.requests, 1, attrs(outcome)...)
				return nil, &requestError{outcome: outcome, status: s, msg: providerMessage(body)}
			case s == http.StatusTooManyRequests || s >= 500:
				outcome := outcomeServerError
				if s == http.StatusTooManyRequests {
					outcome = outcomeRateLimited
				}
				fail = &requestError{outcome: outcome, status: s, msg: providerMessage(body)}
				if d, ok := retryAfter(resp.Header.Get("Retry-After"), r.now()); ok {
					wait = d
				}
			default:
				r.tel.add(ctx, r.tel.requests, 1, attrs(outcomeClientError)...)
				return nil, &requestError{outcome: outcomeClientError, status: s, msg: providerMessage(body)}
			}
		}
		r.tel.add(ctx, r.tel.requests, 1, attrs(fail.outcome)...)
		if attempt >= r.cfg.MaxAttempts {
			fail.msg = fmt.Sprintf("gave up after %d attempts (max_attempts); the next poll reads it again: %s", attempt, fail.msg)
			return nil, fail
		}
		if wait == 0 {
			wait = backoff(attempt)
		}
		if wait > maxRetryWait {
			fail.msg = fmt.Sprintf("the provider asked to wait %s, longer than %s; the next poll reads it again: %s", wait, maxRetryWait, fail.msg)
			return nil, fail
		}
		if err := r.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// backoff is 1s, 2s, 4s, ... up to a minute.
func backoff(attempt int) time.Duration {
	d := backoffBase << min(attempt-1, 10)
	return min(d, backoffMax)
}

// retryAfter reads Retry-After as seconds or as an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if math.IsNaN(s) || s < 0 {
			return 0, false
		}
		if s > maxRetryWait.Seconds()*10 {
			return maxRetryWait * 10, true // far too long either way; no overflow
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// providerMessage is the error text of either provider's error envelope
// ({"error": {"message": ...}}), or the start of the body.
func providerMessage(body []byte) string {
	var env struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := ""
	if json.Unmarshal(body, &env) == nil {
		msg = env.Error.Message
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	if len(msg) > maxMessage {
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "..."
	}
	return msg
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errPagesLoop = errors.New("the provider kept answering has_more without a new next_page")
