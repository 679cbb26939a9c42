// Package dashboards holds the Grafana dashboards (ClickHouse data source
// plugin) as JSON, their provisioning files and the row-policy SQL. The
// package has no code of its own: its tests validate every dashboard and run
// every panel's query on the embedded engine over the reference workloads.
package dashboards
