package chdb

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Session is a further connection to the process's engine: the engine
// creates a client with its own ClickHouse session (settings, current
// database) for every chdb_connect on one shared server, and queries on
// different clients run concurrently. A Session has its own lock, so a
// reader's long SELECT on it never holds the lock the Engine's inserts take.
type Session struct {
	e      *Engine
	handle unsafe.Pointer // chdb_connection*
	conn   unsafe.Pointer
	sem    chan struct{} // held while a call runs
}

// SessionResult is a finished query's output and what it read.
type SessionResult struct {
	Result
	BytesRead uint64
}

// NewSession opens a session on e's data directory. Close it before the
// Engine's last Close.
func (e *Engine) NewSession() (*Session, error) {
	if _, err := e.extra(); err != nil {
		return nil, err
	}
	// sharedMu keeps the engine from closing while the client is made.
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != e || e.handle == nil {
		return nil, errors.New("chdb: engine is closed")
	}
	args := []string{"clickhouse", "--path=" + e.dataDir}
	cstrs := make([][]byte, len(args))
	argv := make([]unsafe.Pointer, len(args)+1)
	for i, s := range args {
		cstrs[i] = append([]byte(s), 0)
		argv[i] = unsafe.Pointer(&cstrs[i][0])
	}
	handle := e.api.connect(int32(len(args)), unsafe.Pointer(&argv[0]))
	runtime.KeepAlive(cstrs)
	runtime.KeepAlive(argv)
	if handle == nil || *(*unsafe.Pointer)(handle) == nil {
		return nil, fmt.Errorf("chdb: cannot open a further session on %s", e.dataDir)
	}
	return &Session{e: e, handle: handle, conn: *(*unsafe.Pointer)(handle), sem: make(chan struct{}, 1)}, nil
}

func (s *Session) lock(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.conn == nil {
		<-s.sem
		return errors.New("chdb: session is closed")
	}
	return nil
}

// Query runs one statement in the session, as Engine.Query does.
func (s *Session) Query(ctx context.Context, query, format string, params ...Param) (*SessionResult, error) {
	if err := s.lock(ctx); err != nil {
		return nil, err
	}
	defer func() { <-s.sem }()
	res := s.e.run(s.conn, query, format, params)
	if res == nil {
		return nil, &Error{Message: "engine returned no result"}
	}
	// Read before collect frees the result.
	read := extraAPI.bytesRead(res)
	out, err := s.e.collect(res)
	if err != nil {
		return nil, err
	}
	return &SessionResult{Result: *out, BytesRead: read}, nil
}

// Close ends the session; a running query finishes first.
func (s *Session) Close() error {
	s.sem <- struct{}{}
	defer func() { <-s.sem }()
	if s.conn == nil {
		return nil
	}
	s.e.api.closeConn(s.handle)
	s.conn, s.handle = nil, nil
	return nil
}

// QueryClass is what a statement does, as the engine's parser sees it
// (chdb_query_class).
type QueryClass uint32

const (
	ClassReadOnly       QueryClass = 0 // SELECT, SHOW, DESCRIBE, EXPLAIN, EXISTS
	ClassMutating       QueryClass = 1 // INSERT, CREATE, ALTER, DROP, OPTIMIZE, ...
	ClassMutatingGlobal QueryClass = 2 // access entities, functions, writes into system
	ClassControl        QueryClass = 3 // USE, SET, SYSTEM, KILL, BACKUP, INTO OUTFILE, ...
	ClassUnknown        QueryClass = 4 // does not parse
)

// Classify asks the engine's parser how many statements query holds and
// the most restricted class among them.
func (s *Session) Classify(ctx context.Context, query string) (QueryClass, int, error) {
	if err := s.lock(ctx); err != nil {
		return ClassUnknown, 0, err
	}
	defer func() { <-s.sem }()
	out := [4]uint32{16} // chdb_query_analysis_v1: struct_size, statement_count, flags, query_class
	rc := extraAPI.classify(s.conn, strPtr(query), uintptr(len(query)), nil, 0, unsafe.Pointer(&out[0]))
	runtime.KeepAlive(query)
	if rc != 0 {
		return ClassUnknown, 0, errors.New("chdb: the engine could not classify the statement")
	}
	return QueryClass(out[3]), int(out[1]), nil
}

// run calls the engine on conn; the caller holds conn's lock.
func (e *Engine) run(conn unsafe.Pointer, query, format string, params []Param) unsafe.Pointer {
	var res unsafe.Pointer
	if len(params) == 0 {
		res = e.api.queryN(conn, strPtr(query), uintptr(len(query)), strPtr(format), uintptr(len(format)))
	} else {
		n := len(params)
		names, values := make([]unsafe.Pointer, n), make([]unsafe.Pointer, n)
		nameLens, valueLens := make([]uintptr, n), make([]uintptr, n)
		for i, p := range params {
			names[i], nameLens[i] = strPtr(p.Name), uintptr(len(p.Name))
			values[i], valueLens[i] = strPtr(p.Value), uintptr(len(p.Value))
		}
		res = e.api.queryParamsN(conn, strPtr(query), uintptr(len(query)), strPtr(format), uintptr(len(format)),
			unsafe.Pointer(&names[0]), unsafe.Pointer(&nameLens[0]), unsafe.Pointer(&values[0]), unsafe.Pointer(&valueLens[0]), uintptr(n))
		runtime.KeepAlive(names)
		runtime.KeepAlive(values)
		runtime.KeepAlive(nameLens)
		runtime.KeepAlive(valueLens)
		runtime.KeepAlive(params)
	}
	runtime.KeepAlive(query)
	runtime.KeepAlive(format)
	return res
}

// extra holds the entry points only sessions use, resolved once from the
// loaded library (dlopen of a loaded path returns its handle).
type extra struct {
	classify  func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, db unsafe.Pointer, dblen uintptr, out unsafe.Pointer) int32
	bytesRead func(res unsafe.Pointer) uint64
}

var (
	extraOnce sync.Once
	extraAPI  extra
	extraErr  error
)

func (e *Engine) extra() (*extra, error) {
	extraOnce.Do(func() {
		h, err := purego.Dlopen(e.libPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			extraErr = fmt.Errorf("chdb: %s: %w", e.libPath, err)
			return
		}
		for _, s := range []struct {
			name string
			fptr any
		}{{"chdb_classify_query_n", &extraAPI.classify}, {"chdb_result_bytes_read", &extraAPI.bytesRead}} {
			fn, err := purego.Dlsym(h, s.name)
			if err != nil {
				extraErr = fmt.Errorf("chdb: %s lacks symbol %s (wrong library version? expected %s@%s): %w", e.libPath, s.name, NPMPackage, PackageVersion, err)
				return
			}
			purego.RegisterFunc(s.fptr, fn)
		}
	})
	return &extraAPI, extraErr
}
