#!/usr/bin/env bash
# make demo: run the collector on the embedded engine, send it realistic GenAI
# traffic over OTLP, stop it cleanly, and print what landed in ClickHouse.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${AIOPS_DATA_DIR:-./data}"
export AIOPS_DATA_DIR="$DATA"
# The maturity report's bearer token (config/embedded.yaml requires one):
# yours, or a fresh random one for this run.
export AIOPS_REPORT_TOKEN="${AIOPS_REPORT_TOKEN:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
# The password of the ClickHouse HTTP interface's reader (same rule).
export AIOPS_READER_PASSWORD="${AIOPS_READER_PASSWORD:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}"
BINDIR="${DEMO_BIN_DIR:-./bin}"
BIN="$BINDIR/otelcol-aiops"
LOADGEN="$BINDIR/aiops-loadgen"
TRACES="${DEMO_TRACES:-2000}"
# The simulated reference applications (their service.name values).
SIM_APPS=prototype-chatbot,production-app,rag-app,agent-platform
mkdir -p "$DATA"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in 4317 4318 4320 8123 8888 8890 13133; do
  if port_busy "$p"; then
    echo "demo: 127.0.0.1:$p is in use; stop whatever holds it (another collector?) and retry" >&2
    exit 1
  fi
done

# A data directory from an earlier run is reused, not wiped: say so, and do
# not simulate the reference applications again, or their 14 days would be
# stored twice. The load generator's traces are new ones on every run.
SIM_SPANS=0
if [ -d "$DATA/clickhouse/metadata" ]; then
  if [ "$("$BIN" query --data-dir "$DATA" --format TSV "SELECT count() FROM system.tables WHERE database = 'aiops' AND name = 'genai_spans'")" = 1 ]; then
    SIM_SPANS=$("$BIN" query --data-dir "$DATA" --format TSV \
      "SELECT count() FROM aiops.genai_spans WHERE service_name IN ('$(sed "s/,/','/g" <<<"$SIM_APPS")')")
  fi
  echo "== reusing the data directory $DATA of an earlier run ($SIM_SPANS spans of the simulated applications);"
  echo "   to start clean, remove it (rm -rf $DATA) or set AIOPS_DATA_DIR to a new directory"
fi

echo "== starting a mock of OpenAI's and Anthropic's organization usage and cost APIs (a week of invoices)"
"$BINDIR/aiops-mockprovider" >"$DATA/mockprovider.txt" 2>&1 &
MOCK=$!
trap 'kill "$MOCK" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^anthropic:' "$DATA/mockprovider.txt" 2>/dev/null && break
  sleep 0.1
done
field() { awk -v p="$1:" -v n="$2" '$1 == p {print $n}' "$DATA/mockprovider.txt"; }
export OPENAI_USAGE_ENDPOINT="$(field openai 3)" OPENAI_ADMIN_KEY="$(field openai 5)"
export ANTHROPIC_USAGE_ENDPOINT="$(field anthropic 3)" ANTHROPIC_ADMIN_KEY="$(field anthropic 5)"
[ -n "$OPENAI_USAGE_ENDPOINT" ] && [ -n "$ANTHROPIC_USAGE_ENDPOINT" ] || { echo "demo: the provider mock did not start:" >&2; cat "$DATA/mockprovider.txt" >&2; exit 1; }
# config/provider-usage.yaml's receiver, with the mock's projects mapped to
# two of the simulated applications; proj_unmapped and Anthropic's default
# workspace stay unmapped: uninstrumented spend.
cat >"$DATA/provider-usage.yaml" <<'YAML'
receivers:
  provider_usage:
    openai:
      projects:
        proj_support: {workload: production-app}
    anthropic:
      workspaces:
        wrkspc_kb: {workload: rag-app}
YAML

echo "== starting otelcol-aiops (config/embedded.yaml + config/provider-usage.yaml, data in $DATA)"
"$BIN" --version
"$BIN" --config config/embedded.yaml --config config/provider-usage.yaml --config "$DATA/provider-usage.yaml" >"$DATA/collector.log" 2>&1 &
PID=$!
trap 'kill "$PID" "$MOCK" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  port_busy 4317 && port_busy 8888 && break
  kill -0 "$PID" 2>/dev/null || { echo "demo: the collector exited; its log:" >&2; tail -20 "$DATA/collector.log" >&2; exit 1; }
  sleep 0.5
done

echo "== sending $TRACES GenAI traces over OTLP/gRPC (chat, embeddings, RAG, tools, agents; ~10% non-GenAI spans)"
"$LOADGEN" -endpoint 127.0.0.1:4317 -traces "$TRACES" -rate 0 -duration 120s -content 256,4096 \
  -wait-metrics http://127.0.0.1:8888/metrics -wait-exporter aiops_clickhouse -wait-timeout 120s

if [ "$SIM_SPANS" -gt 0 ]; then
  echo "== not simulating the reference applications again: $DATA holds their $SIM_SPANS spans from an earlier run"
else
  echo "== simulating 14 days of four reference applications (prototype, production, RAG, agent platform)"
  "$BINDIR/aiops-simulator" -endpoint 127.0.0.1:4317 -days 14 -apps "$SIM_APPS" -registry-out "$DATA/registry.yaml" \
    -wait-metrics http://127.0.0.1:8888/metrics -wait-timeout 300s
fi

echo "== the maturity extension scores over HTTP (POST /run with the report token; without it: 401)"
REPORT=http://127.0.0.1:8890
code=$(curl -s -o /dev/null -w '%{http_code}' "$REPORT/report.json")
echo "without the token: HTTP $code"
[ "$code" = 401 ] || { echo "demo: the report answered $code without a token, want 401" >&2; exit 1; }
for _ in $(seq 1 60); do
  code=$(curl -s -o "$DATA/report.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $AIOPS_REPORT_TOKEN" \
    -H 'Content-Type: application/json' -d '{}' "$REPORT/run")
  [ "$code" = 200 ] && break
  sleep 2 # 503 while the store opens, 429 while a scheduled run is in progress
done
[ "$code" = 200 ] || { echo "demo: POST /run answered $code" >&2; exit 1; }
echo "with the token: HTTP $code, $(wc -c <"$DATA/report.json") bytes in $DATA/report.json; the page: $REPORT/ (Authorization: Bearer \$AIOPS_REPORT_TOKEN)"

echo "== reading the running collector's store over ClickHouse's HTTP interface (clickhouse_http, 127.0.0.1:8123, read-only)"
curl -sS --fail-with-body -u "reader:$AIOPS_READER_PASSWORD" \
  'http://127.0.0.1:8123/?query=SELECT+service_name,+count()+AS+spans+FROM+aiops.genai_spans+GROUP+BY+service_name+ORDER+BY+spans+DESC+LIMIT+5+FORMAT+PrettyCompactMonoBlock'
cat <<EOT
   To look at it in Grafana, keep a collector running on this data directory:
     AIOPS_DATA_DIR=$DATA AIOPS_REPORT_TOKEN=... AIOPS_READER_PASSWORD=... $BIN --config config/embedded.yaml
   and provision, in Grafana (11.2, the grafana-clickhouse-datasource plugin), the data source
   deploy/grafana/provisioning/datasources/clickhouse-embedded.yaml with the dashboards in dashboards/
   (dashboards/provisioning/dashboards), Grafana's environment holding
     AIOPS_CLICKHOUSE_HTTP_HOST=127.0.0.1 AIOPS_READER_USER=reader AIOPS_READER_PASSWORD=<the same password>
   The CLI reads it the same way: CLICKHOUSE_USERNAME=reader CLICKHOUSE_PASSWORD=... $BIN score --endpoint http://127.0.0.1:8123
EOT

echo "== stopping the collector (its queue is drained and the engine closed)"
kill -INT "$PID"
wait "$PID" || true
kill "$MOCK" 2>/dev/null || true
trap - EXIT

q() { "$BIN" query --data-dir "$DATA/clickhouse" "$1"; }
echo
echo "== rows per service"
q "SELECT service_name, count() AS rows, sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
          sum(cache_read_tokens) AS cached_tokens, round(sum(cost_usd), 6) AS cost
   FROM aiops.genai_spans GROUP BY service_name ORDER BY service_name"
echo "== cost per user (top 10)"
q "SELECT user_id, count() AS calls, sum(input_tokens + output_tokens) AS tokens, round(sum(cost_usd), 6) AS cost
   FROM aiops.genai_spans WHERE user_id != '' GROUP BY user_id ORDER BY cost DESC LIMIT 10"
echo "== cost per model"
q "SELECT provider, request_model, count() AS calls, round(sum(cost_usd), 6) AS cost,
          countIf(cost_source = 'unpriced') AS unpriced_calls, countIf(model_pinned) AS pinned_calls
   FROM aiops.genai_spans WHERE request_model != '' GROUP BY provider, request_model ORDER BY cost DESC"
echo "== maturity report (LLMOps stages and AI-operations levels, measured from the telemetry above)"
REGISTRY=()
[ -f "$DATA/registry.yaml" ] && REGISTRY=(--registry "$DATA/registry.yaml")
"$BIN" score --data-dir "$DATA/clickhouse" --window 15d ${REGISTRY[@]+"${REGISTRY[@]}"} --format table
echo "== spend reconciliation: the providers' invoices (mock) against spans and metrics, last 7 days"
"$BIN" reconcile --data-dir "$DATA/clickhouse" --window 7d --only-invoiced
