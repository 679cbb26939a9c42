package genaifeedback

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// keySet remembers idempotency keys of delivered records, bounded in count
// and age. Keys of a request still being delivered are pending: they are
// not yet remembered, so a failed delivery can be retried with the same keys.
type keySet struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	done    map[string]*list.Element // of *seenKey, oldest first in order
	order   *list.List
	pending map[string]bool
}

type seenKey struct {
	key     string
	expires time.Time
}

func newKeySet(maxKeys int, ttl time.Duration) *keySet {
	return &keySet{max: maxKeys, ttl: ttl, done: map[string]*list.Element{}, order: list.New(), pending: map[string]bool{}}
}

// reserve checks keys ("" means none) against the set. It returns, per key,
// whether it is a duplicate (delivered before, or repeated earlier in the
// same list), and the keys it marked pending. When a key is pending for
// another request, it reserves nothing and returns that key as inFlight.
func (s *keySet) reserve(keys []string, now time.Time) (dup []bool, reserved []string, inFlight string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(now)
	dup = make([]bool, len(keys))
	mine := map[string]bool{}
	for i, k := range keys {
		switch {
		case k == "":
		case mine[k]:
			dup[i] = true
		case s.pending[k]:
			for _, r := range reserved {
				delete(s.pending, r)
			}
			return nil, nil, k
		case s.done[k] != nil:
			dup[i] = true
		default:
			mine[k] = true
			s.pending[k] = true
			reserved = append(reserved, k)
		}
	}
	return dup, reserved, ""
}

// commit remembers delivered keys until now+ttl or until max newer keys
// push them out.
func (s *keySet) commit(keys []string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.pending, k)
		if e := s.done[k]; e != nil {
			s.order.Remove(e)
		}
		s.done[k] = s.order.PushBack(&seenKey{key: k, expires: now.Add(s.ttl)})
	}
	for s.order.Len() > s.max {
		s.drop(s.order.Front())
	}
}

// release forgets pending keys whose delivery failed.
func (s *keySet) release(keys []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.pending, k)
	}
}

func (s *keySet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.order.Len()
}

// expire drops keys past their TTL; they are in expiry order because the
// TTL is fixed and commits move keys to the back.
func (s *keySet) expire(now time.Time) {
	for e := s.order.Front(); e != nil && !now.Before(e.Value.(*seenKey).expires); e = s.order.Front() {
		s.drop(e)
	}
}

func (s *keySet) drop(e *list.Element) {
	delete(s.done, e.Value.(*seenKey).key)
	s.order.Remove(e)
}

// limiter is a token bucket per client, keeping the most recently seen
// maxClients buckets. A client pushed out starts again with a full bucket.
type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	max     int
	buckets map[string]*list.Element // of *bucket, least recently used first
	lru     *list.List
}

type bucket struct {
	client string
	tokens float64
	last   time.Time
}

func newLimiter(c RateLimitConfig) *limiter {
	if c.RequestsPerSecond <= 0 {
		return nil
	}
	return &limiter{rate: c.RequestsPerSecond, burst: float64(c.Burst), max: c.MaxClients,
		buckets: map[string]*list.Element{}, lru: list.New()}
}

// allow takes a token from client's bucket. When there is none it returns
// false and how long until there is.
func (l *limiter) allow(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.buckets[client]
	if e == nil {
		if l.lru.Len() >= l.max {
			old := l.lru.Front()
			delete(l.buckets, old.Value.(*bucket).client)
			l.lru.Remove(old)
		}
		e = l.lru.PushBack(&bucket{client: client, tokens: l.burst, last: now})
		l.buckets[client] = e
	} else {
		l.lru.MoveToBack(e)
	}
	b := e.Value.(*bucket)
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}
