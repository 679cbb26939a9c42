package chstore

import (
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Reasons an insert or query failed. Permanent ones cannot succeed on retry
// with the same rows; the rest can.
const (
	// Permanent.
	ReasonTooManyPartitions = "too_many_partitions" // the rows span too many partitions: split them
	ReasonBadData           = "bad_data"            // a value the column or a view cannot take
	ReasonSchemaMismatch    = "schema_mismatch"     // table, column, type or setting not as the writer expects
	ReasonTooLarge          = "too_large"           // a value, block or query over a size limit
	ReasonInvalidBatch      = "invalid_batch"       // the writer refused its own batch
	ReasonUnsupported       = "unsupported"         // the server lacks a feature the writer uses
	ReasonReadOnlyForever   = "table_permanently_read_only"

	// Retryable.
	ReasonNetwork          = "network"
	ReasonTimeout          = "timeout"
	ReasonOverloaded       = "overloaded"
	ReasonTooManyParts     = "too_many_parts" // merges are behind; inserts resume when they catch up
	ReasonMemoryLimit      = "memory_limit"
	ReasonReadOnly         = "read_only"
	ReasonTableUnavailable = "table_unavailable"
	ReasonReplication      = "replication" // Keeper, replicas, quorum
	ReasonStorage          = "storage"     // disk or object storage on the server
	ReasonAccess           = "access"      // credentials or grants: fixed by an operator, not by the data
	ReasonServerError      = "server_error"
	ReasonNotConnected     = "not_connected"
	ReasonUnclassified     = "unclassified"
)

// ErrorClass says how a writer should treat an error.
type ErrorClass struct {
	Permanent bool
	Reason    string
	// Bounded marks retryable errors that may never clear (an unknown code,
	// a memory limit a large batch always hits, a server bug): the writer
	// retries them only for a while, then keeps the batch aside.
	Bounded bool
	Code    int    // ClickHouse error code, 0 when the error carried none
	Name    string // its name in ClickHouse's src/Common/ErrorCodes.cpp
}

// ErrNotConnected is returned while the store is not open yet.
var ErrNotConnected = errors.New("ClickHouse is not connected yet")

// ErrSchemaNotReady is wrapped by Verify when migrations or columns are missing.
var ErrSchemaNotReady = errors.New("schema is not ready")

type codeClass struct {
	name   string
	reason string
}

// errorCodes classifies the ClickHouse error codes an insert, its
// materialized views or the writer's queries can meet. Names and numbers are
// those of src/Common/ErrorCodes.cpp (ClickHouse 24.8 to 26.x). Any other
// code is unclassified: retried, but only for max_retry_age.
var errorCodes = map[int]codeClass{
	// Permanent: the rows or the query can never be accepted as they are.
	6:   {"CANNOT_PARSE_TEXT", ReasonBadData},
	7:   {"INCORRECT_NUMBER_OF_COLUMNS", ReasonBadData},
	9:   {"SIZES_OF_COLUMNS_DOESNT_MATCH", ReasonBadData},
	13:  {"SIZES_OF_COLUMNS_IN_TUPLE_DOESNT_MATCH", ReasonBadData},
	19:  {"SIZE_OF_FIXED_STRING_DOESNT_MATCH", ReasonBadData},
	20:  {"NUMBER_OF_COLUMNS_DOESNT_MATCH", ReasonBadData},
	25:  {"CANNOT_PARSE_ESCAPE_SEQUENCE", ReasonBadData},
	26:  {"CANNOT_PARSE_QUOTED_STRING", ReasonBadData},
	27:  {"CANNOT_PARSE_INPUT_ASSERTION_FAILED", ReasonBadData},
	32:  {"ATTEMPT_TO_READ_AFTER_EOF", ReasonBadData}, // the server read a truncated block
	33:  {"CANNOT_READ_ALL_DATA", ReasonBadData},
	36:  {"BAD_ARGUMENTS", ReasonBadData},
	38:  {"CANNOT_PARSE_DATE", ReasonBadData},
	41:  {"CANNOT_PARSE_DATETIME", ReasonBadData},
	43:  {"ILLEGAL_TYPE_OF_ARGUMENT", ReasonBadData},
	53:  {"TYPE_MISMATCH", ReasonBadData},
	69:  {"ARGUMENT_OUT_OF_BOUND", ReasonBadData},
	70:  {"CANNOT_CONVERT_TYPE", ReasonBadData},
	72:  {"CANNOT_PARSE_NUMBER", ReasonBadData},
	117: {"INCORRECT_DATA", ReasonBadData},
	130: {"CANNOT_READ_ARRAY_FROM_TEXT", ReasonBadData},
	190: {"SIZES_OF_ARRAYS_DONT_MATCH", ReasonBadData},
	248: {"INVALID_PARTITION_VALUE", ReasonBadData},
	321: {"VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE", ReasonBadData},
	349: {"CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN", ReasonBadData},
	366: {"SIZES_OF_NESTED_COLUMNS_ARE_INCONSISTENT", ReasonBadData},
	376: {"CANNOT_PARSE_UUID", ReasonBadData},
	395: {"FUNCTION_THROW_IF_VALUE_IS_NON_ZERO", ReasonBadData}, // throwIf in a view over the rows
	407: {"DECIMAL_OVERFLOW", ReasonBadData},
	441: {"CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", ReasonBadData},
	467: {"CANNOT_PARSE_BOOL", ReasonBadData},
	469: {"VIOLATED_CONSTRAINT", ReasonBadData},
	563: {"CANNOT_READ_MAP_FROM_TEXT", ReasonBadData},
	632: {"UNEXPECTED_DATA_AFTER_PARSED_VALUE", ReasonBadData},
	691: {"UNKNOWN_ELEMENT_OF_ENUM", ReasonBadData},
	760: {"UNICODE_ERROR", ReasonBadData},

	8:   {"THERE_IS_NO_COLUMN", ReasonSchemaMismatch},
	10:  {"NOT_FOUND_COLUMN_IN_BLOCK", ReasonSchemaMismatch},
	15:  {"DUPLICATE_COLUMN", ReasonSchemaMismatch},
	16:  {"NO_SUCH_COLUMN_IN_TABLE", ReasonSchemaMismatch},
	44:  {"ILLEGAL_COLUMN", ReasonSchemaMismatch},
	46:  {"UNKNOWN_FUNCTION", ReasonSchemaMismatch},
	47:  {"UNKNOWN_IDENTIFIER", ReasonSchemaMismatch},
	50:  {"UNKNOWN_TYPE", ReasonSchemaMismatch},
	60:  {"UNKNOWN_TABLE", ReasonSchemaMismatch},
	62:  {"SYNTAX_ERROR", ReasonSchemaMismatch},
	73:  {"UNKNOWN_FORMAT", ReasonSchemaMismatch},
	81:  {"UNKNOWN_DATABASE", ReasonSchemaMismatch},
	115: {"UNKNOWN_SETTING", ReasonSchemaMismatch},
	122: {"INCOMPATIBLE_COLUMNS", ReasonSchemaMismatch},
	352: {"AMBIGUOUS_COLUMN_NAME", ReasonSchemaMismatch},
	386: {"NO_COMMON_TYPE", ReasonSchemaMismatch},
	452: {"SETTING_CONSTRAINT_VIOLATION", ReasonSchemaMismatch}, // a profile forbids the insert's dedup settings
	456: {"UNKNOWN_QUERY_PARAMETER", ReasonSchemaMismatch},
	457: {"BAD_QUERY_PARAMETER", ReasonSchemaMismatch},
	471: {"INVALID_SETTING_VALUE", ReasonSchemaMismatch},
	472: {"READONLY_SETTING", ReasonSchemaMismatch},
	701: {"CLUSTER_DOESNT_EXIST", ReasonSchemaMismatch},

	39:  {"TOO_LARGE_SIZE_COMPRESSED", ReasonTooLarge},
	128: {"TOO_LARGE_ARRAY_SIZE", ReasonTooLarge},
	131: {"TOO_LARGE_STRING_SIZE", ReasonTooLarge},
	158: {"TOO_MANY_ROWS", ReasonTooLarge},
	161: {"TOO_MANY_COLUMNS", ReasonTooLarge},
	168: {"TOO_BIG_AST", ReasonTooLarge},
	191: {"SET_SIZE_LIMIT_EXCEEDED", ReasonTooLarge}, // the token check's IN set
	229: {"QUERY_IS_TOO_LARGE", ReasonTooLarge},
	290: {"LIMIT_EXCEEDED", ReasonTooLarge},
	307: {"TOO_MANY_BYTES", ReasonTooLarge},
	396: {"TOO_MANY_ROWS_OR_BYTES", ReasonTooLarge},

	1:   {"UNSUPPORTED_METHOD", ReasonUnsupported},
	2:   {"UNSUPPORTED_PARAMETER", ReasonUnsupported},
	48:  {"NOT_IMPLEMENTED", ReasonUnsupported},
	344: {"SUPPORT_IS_DISABLED", ReasonUnsupported},
	401: {"FEATURE_IS_NOT_ENABLED_AT_BUILD_TIME", ReasonUnsupported},
	764: {"DEDUPLICATION_IS_NOT_POSSIBLE", ReasonUnsupported},

	565: {"TOO_MANY_PARTITIONS", ReasonTooManyPartitions},
	774: {"TABLE_IS_PERMANENTLY_READ_ONLY", ReasonReadOnlyForever},

	// Retryable: the moment is wrong, not the rows.
	23:   {"CANNOT_READ_FROM_ISTREAM", ReasonNetwork},
	24:   {"CANNOT_WRITE_TO_OSTREAM", ReasonNetwork},
	95:   {"CANNOT_READ_FROM_SOCKET", ReasonNetwork},
	96:   {"CANNOT_WRITE_TO_SOCKET", ReasonNetwork},
	100:  {"UNKNOWN_PACKET_FROM_SERVER", ReasonNetwork},
	101:  {"UNEXPECTED_PACKET_FROM_CLIENT", ReasonNetwork},
	102:  {"UNEXPECTED_PACKET_FROM_SERVER", ReasonNetwork},
	198:  {"DNS_ERROR", ReasonNetwork},
	209:  {"SOCKET_TIMEOUT", ReasonNetwork},
	210:  {"NETWORK_ERROR", ReasonNetwork},
	217:  {"CLIENT_HAS_CONNECTED_TO_WRONG_PORT", ReasonNetwork},
	279:  {"ALL_CONNECTION_TRIES_FAILED", ReasonNetwork},
	297:  {"SHARD_HAS_NO_CONNECTIONS", ReasonNetwork},
	410:  {"EXTERNAL_SERVER_IS_NOT_RESPONDING", ReasonNetwork},
	454:  {"OPENSSL_ERROR", ReasonNetwork},
	519:  {"NO_REMOTE_SHARD_AVAILABLE", ReasonNetwork},
	904:  {"TOO_MANY_UNAVAILABLE_SHARDS", ReasonNetwork},
	1000: {"POCO_EXCEPTION", ReasonNetwork}, // Poco's net and I/O exceptions

	159: {"TIMEOUT_EXCEEDED", ReasonTimeout},
	160: {"TOO_SLOW", ReasonTimeout},
	236: {"ABORTED", ReasonTimeout},
	394: {"QUERY_WAS_CANCELLED", ReasonTimeout},
	677: {"THREAD_WAS_CANCELED", ReasonTimeout},
	735: {"QUERY_WAS_CANCELLED_BY_CLIENT", ReasonTimeout},

	201: {"QUOTA_EXCEEDED", ReasonOverloaded}, // quotas refill by interval
	202: {"TOO_MANY_SIMULTANEOUS_QUERIES", ReasonOverloaded},
	203: {"NO_FREE_CONNECTION", ReasonOverloaded},
	216: {"QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING", ReasonOverloaded},
	364: {"RECEIVED_ERROR_TOO_MANY_REQUESTS", ReasonOverloaded},
	439: {"CANNOT_SCHEDULE_TASK", ReasonOverloaded},
	574: {"DISTRIBUTED_TOO_MANY_PENDING_BYTES", ReasonOverloaded},
	700: {"USER_SESSION_LIMIT_EXCEEDED", ReasonOverloaded},
	745: {"SERVER_OVERLOADED", ReasonOverloaded},
	749: {"TCP_CONNECTION_LIMIT_REACHED", ReasonOverloaded},
	762: {"HTTP_CONNECTION_LIMIT_REACHED", ReasonOverloaded},

	// 252 is also "Too many partitions for single INSERT block": see Classify.
	252: {"TOO_MANY_PARTS", ReasonTooManyParts},

	// Transient for the server, but a batch too big for the limit fails
	// every time: retried for max_retry_age only, then dead-lettered.
	173: {"CANNOT_ALLOCATE_MEMORY", ReasonMemoryLimit},
	241: {"MEMORY_LIMIT_EXCEEDED", ReasonMemoryLimit},
	777: {"MEMORY_RESERVATION_KILLED", ReasonMemoryLimit},
	778: {"MEMORY_RESERVATION_FAILED", ReasonMemoryLimit},

	164: {"READONLY", ReasonReadOnly},
	242: {"TABLE_IS_READ_ONLY", ReasonReadOnly}, // a replica without Keeper
	218: {"TABLE_IS_DROPPED", ReasonTableUnavailable},
	733: {"TABLE_IS_BEING_RESTARTED", ReasonTableUnavailable},

	225: {"NO_ZOOKEEPER", ReasonReplication},
	244: {"UNEXPECTED_ZOOKEEPER_ERROR", ReasonReplication},
	254: {"NO_ACTIVE_REPLICAS", ReasonReplication},
	265: {"NO_AVAILABLE_REPLICA", ReasonReplication},
	285: {"TOO_FEW_LIVE_REPLICAS", ReasonReplication},
	286: {"UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE", ReasonReplication},
	289: {"REPLICA_IS_NOT_IN_QUORUM", ReasonReplication},
	319: {"UNKNOWN_STATUS_OF_INSERT", ReasonReplication}, // the token check settles it on retry
	369: {"ALL_REPLICAS_ARE_STALE", ReasonReplication},
	384: {"PART_IS_TEMPORARILY_LOCKED", ReasonReplication},
	415: {"ALL_REPLICAS_LOST", ReasonReplication},
	416: {"REPLICA_STATUS_CHANGED", ReasonReplication},
	473: {"DEADLOCK_AVOIDED", ReasonReplication},
	529: {"NOT_A_LEADER", ReasonReplication},
	568: {"RAFT_ERROR", ReasonReplication},
	571: {"DATABASE_REPLICATION_FAILED", ReasonReplication},
	738: {"PART_IS_LOCKED", ReasonReplication},
	999: {"KEEPER_EXCEPTION", ReasonReplication},

	74:  {"CANNOT_READ_FROM_FILE_DESCRIPTOR", ReasonStorage},
	75:  {"CANNOT_WRITE_TO_FILE_DESCRIPTOR", ReasonStorage},
	76:  {"CANNOT_OPEN_FILE", ReasonStorage},
	172: {"CANNOT_CREATE_DIRECTORY", ReasonStorage},
	204: {"CANNOT_FSYNC", ReasonStorage},
	243: {"NOT_ENOUGH_SPACE", ReasonStorage},
	294: {"CANNOT_WRITE_TO_FILE", ReasonStorage},
	425: {"SYSTEM_ERROR", ReasonStorage},
	499: {"S3_ERROR", ReasonStorage},
	500: {"AZURE_BLOB_STORAGE_ERROR", ReasonStorage},
	586: {"CANNOT_CREATE_FILE", ReasonStorage},

	192: {"UNKNOWN_USER", ReasonAccess},
	193: {"WRONG_PASSWORD", ReasonAccess},
	194: {"REQUIRED_PASSWORD", ReasonAccess},
	195: {"IP_ADDRESS_NOT_ALLOWED", ReasonAccess},
	291: {"DATABASE_ACCESS_DENIED", ReasonAccess},
	497: {"ACCESS_DENIED", ReasonAccess},
	516: {"AUTHENTICATION_FAILED", ReasonAccess},
	720: {"USER_EXPIRED", ReasonAccess},

	49:   {"LOGICAL_ERROR", ReasonServerError},
	1001: {"STD_EXCEPTION", ReasonServerError},
	1002: {"UNKNOWN_EXCEPTION", ReasonServerError},
}

var permanentReasons = map[string]bool{
	ReasonTooManyPartitions: true, ReasonBadData: true, ReasonSchemaMismatch: true, ReasonTooLarge: true,
	ReasonInvalidBatch: true, ReasonUnsupported: true, ReasonReadOnlyForever: true,
}

var boundedReasons = map[string]bool{ReasonMemoryLimit: true, ReasonServerError: true, ReasonUnclassified: true}

// ErrorName is the ClickHouse name of a classified code, or "".
func ErrorName(code int) string { return errorCodes[code].name }

// tooManyPartitions is the message of 252 when one INSERT block spans more
// partitions than max_partitions_per_insert_block allows.
const tooManyPartitions = "Too many partitions for single INSERT block"

// Classify reports whether err is permanent for the rows that caused it, and
// a short reason for metrics and logs.
func Classify(err error) (permanent bool, reason string) {
	c := ClassifyError(err)
	return c.Permanent, c.Reason
}

// ClassifyError is Classify with the code and whether retries are bounded.
func ClassifyError(err error) ErrorClass {
	if err == nil {
		return ErrorClass{}
	}
	if code := ErrorCode(err); code != 0 {
		cc, ok := errorCodes[code]
		if !ok {
			return class(ReasonUnclassified, code, "")
		}
		if code == 252 && strings.Contains(err.Error(), tooManyPartitions) {
			return class(ReasonTooManyPartitions, code, cc.name)
		}
		return class(cc.reason, code, cc.name)
	}
	var be *BatchError
	var ne net.Error
	switch {
	case errors.Is(err, ErrNotConnected), errors.Is(err, ErrSchemaNotReady):
		return class(ReasonNotConnected, 0, "")
	case errors.As(err, &be), errors.Is(err, clickhouse.ErrBatchInvalid):
		return class(ReasonInvalidBatch, 0, "")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return class(ReasonTimeout, 0, "")
	case errors.Is(err, clickhouse.ErrAcquireConnTimeout):
		return class(ReasonOverloaded, 0, "")
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, clickhouse.ErrConnectionClosed):
		return class(ReasonNetwork, 0, "")
	}
	return class(ReasonUnclassified, 0, "")
}

func class(reason string, code int, name string) ErrorClass {
	return ErrorClass{Permanent: permanentReasons[reason], Reason: reason, Bounded: boundedReasons[reason], Code: code, Name: name}
}

var partitionLimitRE = regexp.MustCompile(tooManyPartitions + ` \(more than (\d+)\)`)

// PartitionLimit is the max_partitions_per_insert_block named by a
// too-many-partitions error, or 0 when the message does not say.
func PartitionLimit(err error) int {
	if err == nil {
		return 0
	}
	m := partitionLimitRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// MonthPartitionColumn names the DateTime column a contract table is
// partitioned on by month (PARTITION BY toYYYYMM(column)).
func MonthPartitionColumn(table string) (string, bool) {
	for _, t := range contractTables {
		if t.Name != table {
			continue
		}
		if col, ok := strings.CutPrefix(t.PartitionBy, "toYYYYMM("); ok && strings.HasSuffix(col, ")") {
			return strings.TrimSuffix(col, ")"), true
		}
	}
	return "", false
}
