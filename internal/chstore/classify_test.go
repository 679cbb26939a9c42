package chstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/otelcol-aiops/otelcol-aiops/internal/chdb"
)

// wantClass is the classification each listed code must get. Numbers and
// names are copied from ClickHouse's src/Common/ErrorCodes.cpp.
var wantClass = []struct {
	code   int
	name   string
	reason string
}{
	{6, "CANNOT_PARSE_TEXT", "bad_data"}, {7, "INCORRECT_NUMBER_OF_COLUMNS", "bad_data"},
	{9, "SIZES_OF_COLUMNS_DOESNT_MATCH", "bad_data"}, {13, "SIZES_OF_COLUMNS_IN_TUPLE_DOESNT_MATCH", "bad_data"},
	{19, "SIZE_OF_FIXED_STRING_DOESNT_MATCH", "bad_data"}, {20, "NUMBER_OF_COLUMNS_DOESNT_MATCH", "bad_data"},
	{25, "CANNOT_PARSE_ESCAPE_SEQUENCE", "bad_data"}, {26, "CANNOT_PARSE_QUOTED_STRING", "bad_data"},
	{27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "bad_data"}, {32, "ATTEMPT_TO_READ_AFTER_EOF", "bad_data"},
	{33, "CANNOT_READ_ALL_DATA", "bad_data"}, {36, "BAD_ARGUMENTS", "bad_data"},
	{38, "CANNOT_PARSE_DATE", "bad_data"}, {41, "CANNOT_PARSE_DATETIME", "bad_data"},
	{43, "ILLEGAL_TYPE_OF_ARGUMENT", "bad_data"}, {53, "TYPE_MISMATCH", "bad_data"},
	{69, "ARGUMENT_OUT_OF_BOUND", "bad_data"}, {70, "CANNOT_CONVERT_TYPE", "bad_data"},
	{72, "CANNOT_PARSE_NUMBER", "bad_data"}, {117, "INCORRECT_DATA", "bad_data"},
	{130, "CANNOT_READ_ARRAY_FROM_TEXT", "bad_data"}, {190, "SIZES_OF_ARRAYS_DONT_MATCH", "bad_data"},
	{248, "INVALID_PARTITION_VALUE", "bad_data"}, {321, "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE", "bad_data"},
	{349, "CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN", "bad_data"}, {366, "SIZES_OF_NESTED_COLUMNS_ARE_INCONSISTENT", "bad_data"},
	{376, "CANNOT_PARSE_UUID", "bad_data"}, {395, "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO", "bad_data"},
	{407, "DECIMAL_OVERFLOW", "bad_data"}, {441, "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "bad_data"},
	{467, "CANNOT_PARSE_BOOL", "bad_data"}, {469, "VIOLATED_CONSTRAINT", "bad_data"},
	{563, "CANNOT_READ_MAP_FROM_TEXT", "bad_data"}, {632, "UNEXPECTED_DATA_AFTER_PARSED_VALUE", "bad_data"},
	{691, "UNKNOWN_ELEMENT_OF_ENUM", "bad_data"}, {760, "UNICODE_ERROR", "bad_data"},

	{8, "THERE_IS_NO_COLUMN", "schema_mismatch"}, {10, "NOT_FOUND_COLUMN_IN_BLOCK", "schema_mismatch"},
	{15, "DUPLICATE_COLUMN", "schema_mismatch"}, {16, "NO_SUCH_COLUMN_IN_TABLE", "schema_mismatch"},
	{44, "ILLEGAL_COLUMN", "schema_mismatch"}, {46, "UNKNOWN_FUNCTION", "schema_mismatch"},
	{47, "UNKNOWN_IDENTIFIER", "schema_mismatch"}, {50, "UNKNOWN_TYPE", "schema_mismatch"},
	{60, "UNKNOWN_TABLE", "schema_mismatch"}, {62, "SYNTAX_ERROR", "schema_mismatch"},
	{73, "UNKNOWN_FORMAT", "schema_mismatch"}, {81, "UNKNOWN_DATABASE", "schema_mismatch"},
	{115, "UNKNOWN_SETTING", "schema_mismatch"}, {122, "INCOMPATIBLE_COLUMNS", "schema_mismatch"},
	{352, "AMBIGUOUS_COLUMN_NAME", "schema_mismatch"}, {386, "NO_COMMON_TYPE", "schema_mismatch"},
	{452, "SETTING_CONSTRAINT_VIOLATION", "schema_mismatch"}, {456, "UNKNOWN_QUERY_PARAMETER", "schema_mismatch"},
	{457, "BAD_QUERY_PARAMETER", "schema_mismatch"}, {471, "INVALID_SETTING_VALUE", "schema_mismatch"},
	{472, "READONLY_SETTING", "schema_mismatch"}, {701, "CLUSTER_DOESNT_EXIST", "schema_mismatch"},

	{39, "TOO_LARGE_SIZE_COMPRESSED", "too_large"}, {128, "TOO_LARGE_ARRAY_SIZE", "too_large"},
	{131, "TOO_LARGE_STRING_SIZE", "too_large"}, {158, "TOO_MANY_ROWS", "too_large"},
	{161, "TOO_MANY_COLUMNS", "too_large"}, {168, "TOO_BIG_AST", "too_large"},
	{191, "SET_SIZE_LIMIT_EXCEEDED", "too_large"}, {229, "QUERY_IS_TOO_LARGE", "too_large"},
	{290, "LIMIT_EXCEEDED", "too_large"}, {307, "TOO_MANY_BYTES", "too_large"},
	{396, "TOO_MANY_ROWS_OR_BYTES", "too_large"},

	{1, "UNSUPPORTED_METHOD", "unsupported"}, {2, "UNSUPPORTED_PARAMETER", "unsupported"},
	{48, "NOT_IMPLEMENTED", "unsupported"}, {344, "SUPPORT_IS_DISABLED", "unsupported"},
	{401, "FEATURE_IS_NOT_ENABLED_AT_BUILD_TIME", "unsupported"}, {764, "DEDUPLICATION_IS_NOT_POSSIBLE", "unsupported"},

	{565, "TOO_MANY_PARTITIONS", "too_many_partitions"},
	{774, "TABLE_IS_PERMANENTLY_READ_ONLY", "table_permanently_read_only"},

	{23, "CANNOT_READ_FROM_ISTREAM", "network"}, {24, "CANNOT_WRITE_TO_OSTREAM", "network"},
	{95, "CANNOT_READ_FROM_SOCKET", "network"}, {96, "CANNOT_WRITE_TO_SOCKET", "network"},
	{100, "UNKNOWN_PACKET_FROM_SERVER", "network"}, {101, "UNEXPECTED_PACKET_FROM_CLIENT", "network"},
	{102, "UNEXPECTED_PACKET_FROM_SERVER", "network"}, {198, "DNS_ERROR", "network"},
	{209, "SOCKET_TIMEOUT", "network"}, {210, "NETWORK_ERROR", "network"},
	{217, "CLIENT_HAS_CONNECTED_TO_WRONG_PORT", "network"}, {279, "ALL_CONNECTION_TRIES_FAILED", "network"},
	{297, "SHARD_HAS_NO_CONNECTIONS", "network"}, {410, "EXTERNAL_SERVER_IS_NOT_RESPONDING", "network"},
	{454, "OPENSSL_ERROR", "network"}, {519, "NO_REMOTE_SHARD_AVAILABLE", "network"},
	{904, "TOO_MANY_UNAVAILABLE_SHARDS", "network"}, {1000, "POCO_EXCEPTION", "network"},

	{159, "TIMEOUT_EXCEEDED", "timeout"}, {160, "TOO_SLOW", "timeout"}, {236, "ABORTED", "timeout"},
	{394, "QUERY_WAS_CANCELLED", "timeout"}, {677, "THREAD_WAS_CANCELED", "timeout"},
	{735, "QUERY_WAS_CANCELLED_BY_CLIENT", "timeout"},

	{201, "QUOTA_EXCEEDED", "overloaded"}, {202, "TOO_MANY_SIMULTANEOUS_QUERIES", "overloaded"},
	{203, "NO_FREE_CONNECTION", "overloaded"}, {216, "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING", "overloaded"},
	{364, "RECEIVED_ERROR_TOO_MANY_REQUESTS", "overloaded"}, {439, "CANNOT_SCHEDULE_TASK", "overloaded"},
	{574, "DISTRIBUTED_TOO_MANY_PENDING_BYTES", "overloaded"}, {700, "USER_SESSION_LIMIT_EXCEEDED", "overloaded"},
	{745, "SERVER_OVERLOADED", "overloaded"}, {749, "TCP_CONNECTION_LIMIT_REACHED", "overloaded"},
	{762, "HTTP_CONNECTION_LIMIT_REACHED", "overloaded"},

	{252, "TOO_MANY_PARTS", "too_many_parts"},

	{173, "CANNOT_ALLOCATE_MEMORY", "memory_limit"}, {241, "MEMORY_LIMIT_EXCEEDED", "memory_limit"},
	{777, "MEMORY_RESERVATION_KILLED", "memory_limit"}, {778, "MEMORY_RESERVATION_FAILED", "memory_limit"},

	{164, "READONLY", "read_only"}, {242, "TABLE_IS_READ_ONLY", "read_only"},
	{218, "TABLE_IS_DROPPED", "table_unavailable"}, {733, "TABLE_IS_BEING_RESTARTED", "table_unavailable"},

	{225, "NO_ZOOKEEPER", "replication"}, {244, "UNEXPECTED_ZOOKEEPER_ERROR", "replication"},
	{254, "NO_ACTIVE_REPLICAS", "replication"}, {265, "NO_AVAILABLE_REPLICA", "replication"},
	{285, "TOO_FEW_LIVE_REPLICAS", "replication"}, {286, "UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE", "replication"},
	{289, "REPLICA_IS_NOT_IN_QUORUM", "replication"}, {319, "UNKNOWN_STATUS_OF_INSERT", "replication"},
	{369, "ALL_REPLICAS_ARE_STALE", "replication"}, {384, "PART_IS_TEMPORARILY_LOCKED", "replication"},
	{415, "ALL_REPLICAS_LOST", "replication"}, {416, "REPLICA_STATUS_CHANGED", "replication"},
	{473, "DEADLOCK_AVOIDED", "replication"}, {529, "NOT_A_LEADER", "replication"},
	{568, "RAFT_ERROR", "replication"}, {571, "DATABASE_REPLICATION_FAILED", "replication"},
	{738, "PART_IS_LOCKED", "replication"}, {999, "KEEPER_EXCEPTION", "replication"},

	{74, "CANNOT_READ_FROM_FILE_DESCRIPTOR", "storage"}, {75, "CANNOT_WRITE_TO_FILE_DESCRIPTOR", "storage"},
	{76, "CANNOT_OPEN_FILE", "storage"}, {172, "CANNOT_CREATE_DIRECTORY", "storage"},
	{204, "CANNOT_FSYNC", "storage"}, {243, "NOT_ENOUGH_SPACE", "storage"},
	{294, "CANNOT_WRITE_TO_FILE", "storage"}, {425, "SYSTEM_ERROR", "storage"},
	{499, "S3_ERROR", "storage"}, {500, "AZURE_BLOB_STORAGE_ERROR", "storage"}, {586, "CANNOT_CREATE_FILE", "storage"},

	{192, "UNKNOWN_USER", "access"}, {193, "WRONG_PASSWORD", "access"}, {194, "REQUIRED_PASSWORD", "access"},
	{195, "IP_ADDRESS_NOT_ALLOWED", "access"}, {291, "DATABASE_ACCESS_DENIED", "access"},
	{497, "ACCESS_DENIED", "access"}, {516, "AUTHENTICATION_FAILED", "access"}, {720, "USER_EXPIRED", "access"},

	{49, "LOGICAL_ERROR", "server_error"}, {1001, "STD_EXCEPTION", "server_error"}, {1002, "UNKNOWN_EXCEPTION", "server_error"},
}

var (
	permanentWant = map[string]bool{"bad_data": true, "schema_mismatch": true, "too_large": true, "unsupported": true,
		"too_many_partitions": true, "table_permanently_read_only": true, "invalid_batch": true}
	boundedWant = map[string]bool{"memory_limit": true, "server_error": true, "unclassified": true}
)

func TestEveryListedCodeIsClassified(t *testing.T) {
	seen := map[int]bool{}
	for _, w := range wantClass {
		if seen[w.code] {
			t.Fatalf("code %d listed twice in the test", w.code)
		}
		seen[w.code] = true
		if got := ErrorName(w.code); got != w.name {
			t.Errorf("code %d: name %q, want %q", w.code, got, w.name)
		}
		msg := fmt.Sprintf("Code: %d. DB::Exception: something. (%s)", w.code, w.name)
		// The same code from either store: the embedded engine's error and
		// clickhouse-go's exception, each wrapped as the exporter wraps it.
		for _, err := range []error{
			fmt.Errorf("insert 3 rows: %w", &chdb.Error{Code: w.code, Message: msg}),
			fmt.Errorf("insert 3 rows: %w", &clickhouse.Exception{Code: int32(w.code), Name: "DB::Exception", Message: "something"}),
		} {
			c := ClassifyError(err)
			if c.Reason != w.reason || c.Permanent != permanentWant[w.reason] || c.Bounded != boundedWant[w.reason] || c.Code != w.code || c.Name != w.name {
				t.Errorf("code %d (%s) via %T: got %+v, want reason %s permanent %v bounded %v", w.code, w.name, errors.Unwrap(err), c, w.reason, permanentWant[w.reason], boundedWant[w.reason])
			}
			if p, r := Classify(err); p != permanentWant[w.reason] || r != w.reason {
				t.Errorf("Classify(%d) = %v, %s", w.code, p, r)
			}
		}
	}
	for code := range errorCodes {
		if !seen[code] {
			t.Errorf("code %d (%s) is classified but not tested", code, errorCodes[code].name)
		}
	}
}

func TestCode252IsSplitByItsMessage(t *testing.T) {
	partitions := &chdb.Error{Code: 252, Message: "Code: 252. DB::Exception: Too many partitions for single INSERT block (more than 100). The limit is controlled by 'max_partitions_per_insert_block' setting. (TOO_MANY_PARTS)"}
	if c := ClassifyError(partitions); !c.Permanent || c.Reason != ReasonTooManyPartitions || PartitionLimit(partitions) != 100 {
		t.Errorf("too many partitions: %+v, limit %d", c, PartitionLimit(partitions))
	}
	parts := &clickhouse.Exception{Code: 252, Message: "Too many parts (3001 with average size of 1.02 KiB) in table 'aiops.genai_spans'. Merges are processing significantly slower than inserts"}
	if c := ClassifyError(parts); c.Permanent || c.Reason != ReasonTooManyParts || c.Bounded || PartitionLimit(parts) != 0 {
		t.Errorf("too many parts: %+v", c)
	}
}

func TestErrorsWithoutAListedCode(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "x"}}
	for _, c := range []struct {
		err       error
		reason    string
		permanent bool
	}{
		{&chdb.Error{Code: 42, Message: "Code: 42. DB::Exception: Number of arguments doesn't match. (NUMBER_OF_ARGUMENTS_DOESNT_MATCH)"}, "unclassified", false},
		{&clickhouse.Exception{Code: 3000}, "unclassified", false},
		{errors.New("chdb: engine is closed"), "unclassified", false},
		{fmt.Errorf("ping: %w", refused), "network", false},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), "network", false},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), "network", false},
		{clickhouse.ErrConnectionClosed, "network", false},
		{clickhouse.ErrAcquireConnTimeout, "overloaded", false},
		{fmt.Errorf("insert: %w", context.DeadlineExceeded), "timeout", false},
		{fmt.Errorf("%w: dial refused", ErrNotConnected), "not_connected", false},
		{&schemaError{"schema in x is not ready"}, "not_connected", false},
		{fmt.Errorf("wrapped: %w", &BatchError{Err: errors.New("value does not fit")}), "invalid_batch", true},
		{clickhouse.ErrBatchInvalid, "invalid_batch", true},
	} {
		got := ClassifyError(c.err)
		if got.Reason != c.reason || got.Permanent != c.permanent || got.Bounded != boundedWant[c.reason] {
			t.Errorf("%v: got %+v, want %s permanent %v", c.err, got, c.reason, c.permanent)
		}
	}
	if p, r := Classify(nil); p || r != "" {
		t.Errorf("nil classified as %v %q", p, r)
	}
}

// The classes of errors the real engine raises, not ones built by hand.
func TestRealEngineErrorsAreClassified(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS classify",
		"CREATE TABLE IF NOT EXISTS classify.t (ts DateTime, v UInt16) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY ts",
	} {
		if err := s.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		q      string
		reason string
		limit  int
	}{
		// 150 rows in 150 months: one block over max_partitions_per_insert_block.
		{"INSERT INTO classify.t SELECT toDateTime('2010-01-15 00:00:00') + toIntervalMonth(number), 1 FROM numbers(150)", ReasonTooManyPartitions, 100},
		{"INSERT INTO classify.t SELECT now(), 'abc'", ReasonBadData, 0},
		{"SELECT toDateTime64('not a time', 9)", ReasonBadData, 0},
		{"INSERT INTO classify.missing SELECT now(), 1", ReasonSchemaMismatch, 0},
		{"SELEC 1", ReasonSchemaMismatch, 0},
		{"SELECT plus(1)", ReasonUnclassified, 0},
	} {
		err := s.Exec(ctx, c.q)
		got := ClassifyError(err)
		if err == nil || got.Reason != c.reason || got.Permanent != permanentWant[c.reason] || PartitionLimit(err) != c.limit {
			t.Errorf("%s: %+v (limit %d) from %v; want %s", c.q, got, PartitionLimit(err), err, c.reason)
		}
	}
	if n := count(t, s, "SELECT count() FROM classify.t"); n != 0 {
		t.Errorf("a refused block left %d rows", n)
	}
}

// A server that is down: the real clickhouse-go dial error is retryable.
func TestServerDownIsANetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = OpenServer(ctx, ServerOptions{DSN: "clickhouse://127.0.0.1:" + strconv.Itoa(port) + "?dial_timeout=1s"})
	if err == nil {
		t.Fatal("opened a server on a closed port")
	}
	if c := ClassifyError(err); c.Permanent || c.Reason != ReasonNetwork {
		t.Fatalf("%v classified as %+v, want network", err, c)
	}
}

func TestMonthPartitionColumn(t *testing.T) {
	for _, table := range []string{"genai_spans", "genai_events", "spans"} {
		if col, ok := MonthPartitionColumn(table); !ok || col != "timestamp" {
			t.Errorf("%s: %q %v", table, col, ok)
		}
	}
	if col, ok := MonthPartitionColumn("genai_coverage_daily"); !ok || col != "day" {
		t.Errorf("coverage: %q %v", col, ok)
	}
	if _, ok := MonthPartitionColumn("no_such_table"); ok {
		t.Error("unknown table has a partition column")
	}
	if !strings.HasPrefix(tooManyPartitions, "Too many partitions") {
		t.Fatal("message constant changed")
	}
}
