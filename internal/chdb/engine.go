package chdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Options selects the library and the data directory of the process's engine.
type Options struct {
	// LibraryPath overrides the library search (see LocateLibrary).
	LibraryPath string
	// DataDir holds the databases. It persists across restarts.
	DataDir string
	// Memory bounds the engine when this Open starts it; nil takes the
	// bounds of SetMemory. Given while the engine already runs with other
	// bounds, Open fails: the engine cannot change them without a restart.
	Memory *Memory
}

// Error is an exception raised by the engine.
type Error struct {
	Code    int // ClickHouse error code, 0 when the message carried none
	Message string
}

func (e *Error) Error() string {
	if e.Code == 0 {
		return "clickhouse: " + e.Message
	}
	return fmt.Sprintf("clickhouse: code %d: %s", e.Code, e.Message)
}

// ErrorCode returns the ClickHouse error code carried by err, or 0.
func ErrorCode(err error) int {
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// Result is a finished query's output in the requested format.
type Result struct {
	Data        []byte
	RowsRead    uint64
	RowsWritten uint64
	Elapsed     float64 // seconds, as measured by the engine
}

// api holds the C functions; the library stays loaded for the process's life
// because ClickHouse cannot be unloaded safely.
type api struct {
	connect       func(argc int32, argv unsafe.Pointer) unsafe.Pointer
	closeConn     func(conn unsafe.Pointer)
	queryN        func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr) unsafe.Pointer
	resultBuffer  func(res unsafe.Pointer) unsafe.Pointer
	resultLength  func(res unsafe.Pointer) uintptr
	resultError   func(res unsafe.Pointer) unsafe.Pointer
	resultRows    func(res unsafe.Pointer) uint64
	resultElapsed func(res unsafe.Pointer) float64
	destroyResult func(res unsafe.Pointer)
	rowsWritten   func(res unsafe.Pointer) uint64
	signalsOn     func(enabled bool)
	libVersion    func() unsafe.Pointer

	queryParamsN func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr,
		names unsafe.Pointer, nameLens unsafe.Pointer, values unsafe.Pointer, valueLens unsafe.Pointer, n uintptr) unsafe.Pointer
	insertN       func(conn unsafe.Pointer, q unsafe.Pointer, qlen uintptr, f unsafe.Pointer, flen uintptr) unsafe.Pointer
	insertAppend  func(st unsafe.Pointer, data unsafe.Pointer, n uintptr) int32
	insertDone    func(st unsafe.Pointer) unsafe.Pointer
	insertError   func(st unsafe.Pointer) unsafe.Pointer
	insertDestroy func(st unsafe.Pointer)
}

var (
	loadMu     sync.Mutex
	loadedPath string
	loadedAPI  *api
)

// allocatorEnv configures the jemalloc built into the library; it reads the
// variable once, when the library loads. The library's own defaults keep
// freed pages for 5 s, and inserts churn hundreds of MiB a second, so the
// engine held ~400 MiB it was not using; 250 ms cut the collector's peak RSS
// by ~200 MiB at no measurable CPU cost (0 ms cost 15%). Heap profiling is
// also switched off: it unwinds the stack of every sampled allocation.
// An operator's own JE_MALLOC_CONF is kept.
const (
	allocatorEnv  = "JE_MALLOC_CONF"
	allocatorConf = "dirty_decay_ms:250,prof_active:false"
)

func load(path string) (*api, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	if loadedAPI != nil {
		if loadedPath != path {
			return nil, fmt.Errorf("chdb: %s is already loaded in this process; cannot also load %s", loadedPath, path)
		}
		return loadedAPI, nil
	}
	if _, set := os.LookupEnv(allocatorEnv); !set {
		if err := os.Setenv(allocatorEnv, allocatorConf); err != nil {
			return nil, err
		}
	}
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("chdb: cannot load %s (corrupt or not a libchdb.so for this platform?): %w. %s", path, err, howToGet())
	}
	a := &api{}
	syms := []struct {
		name     string
		fptr     any
		optional bool
	}{
		{"chdb_connect", &a.connect, false},
		{"chdb_close_conn", &a.closeConn, false},
		{"chdb_query_n", &a.queryN, false},
		{"chdb_result_buffer", &a.resultBuffer, false},
		{"chdb_result_length", &a.resultLength, false},
		{"chdb_result_error", &a.resultError, false},
		{"chdb_result_rows_read", &a.resultRows, false},
		{"chdb_result_elapsed", &a.resultElapsed, false},
		{"chdb_destroy_query_result", &a.destroyResult, false},
		{"chdb_result_rows_written", &a.rowsWritten, false},
		{"chdb_query_with_params_n", &a.queryParamsN, false},
		{"chdb_stream_insert_n", &a.insertN, false},
		{"chdb_stream_append", &a.insertAppend, false},
		{"chdb_stream_done", &a.insertDone, false},
		{"chdb_stream_insert_error", &a.insertError, false},
		{"chdb_destroy_insert_stream", &a.insertDestroy, false},
		{"chdb_set_signal_handlers_enabled", &a.signalsOn, true},
		{"chdb_version", &a.libVersion, true},
	}
	for _, s := range syms {
		fn, err := purego.Dlsym(h, s.name)
		if err != nil {
			if s.optional {
				continue
			}
			return nil, fmt.Errorf("chdb: %s lacks symbol %s (wrong library version? expected %s@%s): %w", path, s.name, NPMPackage, PackageVersion, err)
		}
		purego.RegisterFunc(s.fptr, fn)
	}
	loadedAPI, loadedPath = a, path
	return a, nil
}

// ProbeLibrary finds and loads the library without starting the engine, and
// returns its path and chDB version (for `--version`).
func ProbeLibrary(configured string) (path, version string, err error) {
	if path, err = LocateLibrary(configured); err != nil {
		return "", "", err
	}
	a, err := load(path)
	if err != nil {
		return path, "", err
	}
	if a.libVersion == nil {
		return path, "unknown", nil
	}
	return path, cString(a.libVersion()), nil
}

// Engine is the process's embedded ClickHouse connection (one engine and
// data directory per process). It is safe for concurrent use; its queries
// run one at a time because chDB does not promise concurrent use of one
// connection. Readers that must not wait behind it open sessions of their
// own (session.go).
type Engine struct {
	api     *api
	handle  unsafe.Pointer // chdb_connection*, for chdb_close_conn
	conn    unsafe.Pointer // *handle, for queries
	dataDir string
	libPath string
	version string
	memory  Memory
	sem     chan struct{} // held while a query runs
}

var (
	sharedMu   sync.Mutex
	shared     *Engine
	sharedRefs int
)

// Open returns the process's engine, starting it on first use. Every Open must
// be paired with one Close; the engine stops when the last user closes it.
// All users must agree on the data directory.
func Open(opts Options) (*Engine, error) {
	if opts.DataDir == "" {
		return nil, errors.New("chdb: data directory is required")
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("chdb: data directory %q: %w", opts.DataDir, err)
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		if shared.dataDir != dir {
			return nil, fmt.Errorf("chdb: the engine is already open on %s; one process can use only one data directory (asked for %s)", shared.dataDir, dir)
		}
		if opts.Memory != nil && *opts.Memory != shared.memory {
			return nil, fmt.Errorf("chdb: the engine on %s already runs with other memory bounds (limit %d MiB, asked for %d MiB); "+
				"everything that opens one data directory must ask for the same bounds", dir, shared.memory.Limit>>20, opts.Memory.Limit>>20)
		}
		sharedRefs++
		return shared, nil
	}
	path, err := LocateLibrary(opts.LibraryPath)
	if err != nil {
		return nil, err
	}
	mem := memoryToStart(opts)
	if err := mem.Validate(); err != nil {
		return nil, fmt.Errorf("chdb: %w", err)
	}
	a, err := load(path)
	if err != nil {
		return nil, err
	}
	e, err := connect(a, dir, mem)
	if err != nil {
		return nil, err
	}
	e.libPath = path
	shared, sharedRefs = e, 1
	return e, nil
}

func connect(a *api, dir string, mem Memory) (*Engine, error) {
	if a.signalsOn != nil {
		// Go's runtime owns SIGSEGV, SIGURG etc.; ClickHouse's handlers would
		// turn a recoverable Go panic into a process abort.
		a.signalsOn(false)
	}
	args := []string{"clickhouse", "--path=" + dir}
	// Server and MergeTree settings reach the engine through a configuration
	// file; clickhouse-local's command line takes server settings but
	// silently ignores MergeTree ones.
	config, removeConfig, err := mem.writeConfig()
	if err != nil {
		return nil, err
	}
	defer removeConfig()
	if config != "" {
		args = append(args, "--config-file="+config)
	}
	cstrs := make([][]byte, len(args))
	argv := make([]unsafe.Pointer, len(args)+1)
	for i, s := range args {
		cstrs[i] = append([]byte(s), 0)
		argv[i] = unsafe.Pointer(&cstrs[i][0])
	}
	handle := a.connect(int32(len(args)), unsafe.Pointer(&argv[0]))
	runtime.KeepAlive(cstrs)
	runtime.KeepAlive(argv)
	if handle == nil || *(*unsafe.Pointer)(handle) == nil {
		hint := ""
		if mem.Limit > 0 {
			// Loading tables at start counts against the limit (about
			// 0.6 MiB per table); chDB does not say why it failed.
			hint = fmt.Sprintf("; or the engine's memory limit, %d MiB, is too small to load its tables", mem.Limit>>20)
		}
		return nil, fmt.Errorf("chdb: cannot open data directory %s (is it writable, and not held by another process?%s)", dir, hint)
	}
	conn := *(*unsafe.Pointer)(handle)
	e := &Engine{api: a, handle: handle, conn: conn, dataDir: dir, memory: mem, sem: make(chan struct{}, 1)}
	res, err := e.Query(context.Background(), "SELECT version()", "TSVRaw")
	if err != nil {
		a.closeConn(handle)
		return nil, fmt.Errorf("chdb: engine started on %s but does not answer: %w", dir, err)
	}
	e.version = string(trimNL(res.Data))
	return e, nil
}

// Close releases this user's reference; the last one stops the engine.
func (e *Engine) Close() error {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != e || sharedRefs == 0 {
		return errors.New("chdb: engine closed more often than opened")
	}
	sharedRefs--
	if sharedRefs > 0 {
		return nil
	}
	e.sem <- struct{}{} // wait for a running query
	e.api.closeConn(e.handle)
	e.conn, e.handle = nil, nil
	shared = nil
	<-e.sem
	return nil
}

// Version is the engine's `SELECT version()`.
func (e *Engine) Version() string { return e.version }

// DataDir is the absolute data directory.
func (e *Engine) DataDir() string { return e.dataDir }

// LibraryPath is the file the engine was loaded from.
func (e *Engine) LibraryPath() string { return e.libPath }

// Param is a value bound to a {name:Type} placeholder. Values never become
// SQL text: the engine parses Value as data of the placeholder's type, in
// ClickHouse's Escaped text format (use EscapeParam for a String).
type Param struct{ Name, Value string }

var paramEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`, "\b", `\b`, "\f", `\f`)

// EscapeParam renders a String value in the Escaped format parameters use.
func EscapeParam(v string) string { return paramEscaper.Replace(v) }

// Query runs one statement and returns its output in format (for example
// "TSVRaw", "JSONEachRow", "RowBinary"). The query may hold any bytes.
func (e *Engine) Query(ctx context.Context, query, format string, params ...Param) (*Result, error) {
	if err := e.acquire(ctx); err != nil {
		return nil, err
	}
	defer e.release()
	var res unsafe.Pointer
	if len(params) == 0 {
		res = e.api.queryN(e.conn, strPtr(query), uintptr(len(query)), strPtr(format), uintptr(len(format)))
	} else {
		n := len(params)
		names, values := make([]unsafe.Pointer, n), make([]unsafe.Pointer, n)
		nameLens, valueLens := make([]uintptr, n), make([]uintptr, n)
		for i, p := range params {
			names[i], nameLens[i] = strPtr(p.Name), uintptr(len(p.Name))
			values[i], valueLens[i] = strPtr(p.Value), uintptr(len(p.Value))
		}
		res = e.api.queryParamsN(e.conn, strPtr(query), uintptr(len(query)), strPtr(format), uintptr(len(format)),
			unsafe.Pointer(&names[0]), unsafe.Pointer(&nameLens[0]), unsafe.Pointer(&values[0]), unsafe.Pointer(&valueLens[0]), uintptr(n))
		runtime.KeepAlive(names)
		runtime.KeepAlive(values)
		runtime.KeepAlive(nameLens)
		runtime.KeepAlive(valueLens)
		runtime.KeepAlive(params)
	}
	runtime.KeepAlive(query)
	runtime.KeepAlive(format)
	return e.collect(res)
}

func (e *Engine) acquire(ctx context.Context) error {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if e.conn == nil {
		<-e.sem
		return errors.New("chdb: engine is closed")
	}
	return nil
}

func (e *Engine) release() { <-e.sem }

// collect copies a result out of engine memory and frees it.
func (e *Engine) collect(res unsafe.Pointer) (*Result, error) {
	if res == nil {
		return nil, &Error{Message: "engine returned no result"}
	}
	defer e.api.destroyResult(res)
	if msg := e.api.resultError(res); msg != nil {
		return nil, parseError(cString(msg))
	}
	out := &Result{RowsRead: e.api.resultRows(res), RowsWritten: e.api.rowsWritten(res), Elapsed: e.api.resultElapsed(res)}
	if n := e.api.resultLength(res); n > 0 {
		if buf := e.api.resultBuffer(res); buf != nil {
			out.Data = append([]byte(nil), unsafe.Slice((*byte)(buf), n)...)
		}
	}
	return out, nil
}

// Exec runs a statement whose output is not needed.
func (e *Engine) Exec(ctx context.Context, query string, params ...Param) error {
	_, err := e.Query(ctx, query, "TSVRaw", params...)
	return err
}

// InsertNative streams Native-format blocks into insert, a statement head
// without FORMAT or data such as "INSERT INTO db.t SETTINGS ...". It uses the
// length-delimited streaming insert: inline data in the query text is cut at
// the first blank line ("\n\n"), which binary blocks routinely contain.
// It returns the rows written, materialized views included.
func (e *Engine) InsertNative(ctx context.Context, insert string, blocks ...[]byte) (uint64, error) {
	return e.InsertStream(ctx, insert, func(emit func([]byte) error) error {
		for _, b := range blocks {
			if err := emit(b); err != nil {
				return err
			}
		}
		return nil
	})
}

// InsertStream is InsertNative with the data produced by fill, which passes
// it to emit in pieces of any size. The engine has consumed a piece when emit
// returns, so fill may reuse its buffer.
func (e *Engine) InsertStream(ctx context.Context, insert string, fill func(emit func([]byte) error) error) (uint64, error) {
	if err := e.acquire(ctx); err != nil {
		return 0, err
	}
	defer e.release()
	const format = "Native"
	st := e.api.insertN(e.conn, strPtr(insert), uintptr(len(insert)), strPtr(format), uintptr(len(format)))
	runtime.KeepAlive(insert)
	if st == nil {
		return 0, &Error{Message: "engine returned no insert stream"}
	}
	defer e.api.insertDestroy(st)
	if msg := e.api.insertError(st); msg != nil {
		return 0, parseError(cString(msg))
	}
	err := fill(func(b []byte) error {
		if len(b) == 0 {
			return nil
		}
		rc := e.api.insertAppend(st, unsafe.Pointer(&b[0]), uintptr(len(b)))
		runtime.KeepAlive(b)
		if rc != 0 {
			if msg := e.api.insertError(st); msg != nil {
				return parseError(cString(msg))
			}
			return &Error{Message: "insert stream refused data"}
		}
		return nil
	})
	if err != nil {
		// Destroying the stream without done abandons the statement.
		return 0, err
	}
	res, err := e.collect(e.api.insertDone(st))
	if err != nil {
		return 0, err
	}
	return res.RowsWritten, nil
}

func strPtr(s string) unsafe.Pointer {
	if s == "" {
		return unsafe.Pointer(&zero)
	}
	return unsafe.Pointer(unsafe.StringData(s))
}

var zero byte

var codeRE = regexp.MustCompile(`Code: (\d+)\. `)

func parseError(msg string) error {
	msg = string(trimNL([]byte(msg)))
	if m := codeRE.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.Atoi(m[1])
		return &Error{Code: code, Message: msg}
	}
	return &Error{Message: msg}
}

func cString(p unsafe.Pointer) string {
	n := 0
	for *(*byte)(unsafe.Add(p, n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(p), n))
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
