// Package monitoring holds what a Prometheus user installs for swarmtopo: alerting rules
// (alerts.yml, unit-tested by alerts.test.yml with promtool), a Grafana dashboard and a scrape
// configuration. It has no code; its Go test checks that the rules and the dashboard speak only
// of series swarmtopo exports, and that every rule is complete and tested. `make
// monitoring-check` runs promtool and actionlint over the files.
package monitoring
