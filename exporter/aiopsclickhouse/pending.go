package aiopsclickhouse

import (
	"sync"
	"time"
)

// maxPending bounds the requests whose first attempt is remembered. The
// sending queue bounds them already; this guards against requests the queue
// dropped (shutdown of an in-memory queue) and so were never settled.
const maxPending = 1 << 16

// pendingSet remembers, per request token, when the exporter first tried
// to store the request and since when it has failed with the same error.
// It feeds aiops_exporter_oldest_pending_age and the retry bounds.
type pendingSet struct {
	mu   sync.Mutex
	max  int
	reqs map[string]*pendingReq
}

type pendingReq struct {
	signal   string
	first    time.Time
	errKey   string
	errSince time.Time
}

func newPendingSet(max int) *pendingSet {
	return &pendingSet{max: max, reqs: map[string]*pendingReq{}}
}

// begin records the first attempt of each token not yet known. When the set
// is full, new tokens wait: the oldest stay, so the age stays right.
func (p *pendingSet) begin(signal string, tokens []string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tok := range tokens {
		if _, ok := p.reqs[tok]; ok {
			continue
		}
		if len(p.reqs) >= p.max {
			continue
		}
		p.reqs[tok] = &pendingReq{signal: signal, first: now}
	}
}

// failed notes a failure with errKey and returns how long the batch has
// been tried (its oldest request) and how long it has failed with this same
// error (a changed error restarts that clock).
func (p *pendingSet) failed(tokens []string, errKey string, now time.Time) (age, sameErr time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tok := range tokens {
		r, ok := p.reqs[tok]
		if !ok {
			continue
		}
		if r.errKey != errKey {
			r.errKey, r.errSince = errKey, now
		}
		age = max(age, now.Sub(r.first))
		sameErr = max(sameErr, now.Sub(r.errSince))
	}
	return age, sameErr
}

// done forgets requests that were stored or dead-lettered.
func (p *pendingSet) done(tokens []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, tok := range tokens {
		delete(p.reqs, tok)
	}
}

// oldest is the age of the oldest request of signal still waiting to be
// stored, or 0.
func (p *pendingSet) oldest(signal string, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var age time.Duration
	for _, r := range p.reqs {
		if r.signal == signal {
			age = max(age, now.Sub(r.first))
		}
	}
	return age
}

func (p *pendingSet) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.reqs)
}
