-- Tenant isolation for the otelcol-aiops dashboards (ClickHouse >= 24.8).
--
-- One read-only role and user per tenant. Each role carries a row policy on
-- every table the dashboards read, filtering on tenant_id; tables without a
-- tenant_id (spans, maturity_scores) are filtered to the workloads that
-- served the tenant. Copy the "tenant acme" block per tenant, replacing acme
-- and the password. Run as an administrator (access management enabled).
--
-- IMPORTANT: once a table has any row policy, a user that no policy names
-- sees NO rows of it. The collector's writer user (its exactly-once check
-- reads genai_* tables) and the maturity scoring must therefore keep the
-- aiops_all_rows role granted below.

-- ------------------------------------------------------------ full access
CREATE ROLE IF NOT EXISTS aiops_all_rows;
CREATE ROW POLICY IF NOT EXISTS aiops_all_rows
    ON aiops.genai_spans, aiops.genai_events, aiops.spans, aiops.genai_usage_hourly, aiops.genai_calls_hourly,
       aiops.genai_latency_hourly, aiops.genai_latency_tenant_hourly, aiops.genai_coverage_daily, aiops.maturity_scores
    FOR SELECT USING 1 TO aiops_all_rows, otel;
-- otel is the collector's user (CLICKHOUSE_USERNAME): replace it with yours.
-- Naming it here also works for users defined in users.xml, which cannot be
-- granted roles. SQL-defined administrators can take the role instead:
-- GRANT aiops_all_rows TO admin; ALTER USER admin DEFAULT ROLE ALL;

-- ------------------------------------------------------------ tenant acme
CREATE ROLE IF NOT EXISTS aiops_tenant_acme;
GRANT SELECT ON aiops.genai_spans TO aiops_tenant_acme;
GRANT SELECT ON aiops.genai_events TO aiops_tenant_acme;
GRANT SELECT ON aiops.genai_usage_hourly TO aiops_tenant_acme;
GRANT SELECT ON aiops.genai_calls_hourly TO aiops_tenant_acme;
GRANT SELECT ON aiops.genai_latency_hourly TO aiops_tenant_acme;
GRANT SELECT ON aiops.genai_latency_tenant_hourly TO aiops_tenant_acme;
GRANT SELECT ON aiops.genai_coverage_daily TO aiops_tenant_acme;
GRANT SELECT ON aiops.maturity_scores TO aiops_tenant_acme;
GRANT SELECT ON aiops.spans TO aiops_tenant_acme;

CREATE ROW POLICY IF NOT EXISTS tenant_acme
    ON aiops.genai_spans, aiops.genai_events, aiops.genai_usage_hourly, aiops.genai_calls_hourly,
       aiops.genai_latency_hourly, aiops.genai_latency_tenant_hourly, aiops.genai_coverage_daily
    FOR SELECT USING tenant_id = 'acme' TO aiops_tenant_acme;
-- No tenant_id: the workloads that served the tenant (the subquery itself is
-- filtered by the genai_coverage_daily policy above).
CREATE ROW POLICY IF NOT EXISTS tenant_acme_workloads
    ON aiops.maturity_scores, aiops.spans
    FOR SELECT USING workload IN (SELECT workload FROM aiops.genai_coverage_daily WHERE tenant_id = 'acme') TO aiops_tenant_acme;

-- readonly = 2: no writes or DDL, but the data source may still set query
-- settings (readonly = 1 would refuse them).
CREATE USER IF NOT EXISTS grafana_acme IDENTIFIED WITH sha256_password BY 'change-me'
    DEFAULT ROLE aiops_tenant_acme SETTINGS readonly = 2;
GRANT aiops_tenant_acme TO grafana_acme;
