#!/usr/bin/env bash
# Checks what monitoring/ ships, with promtool (Debian's prometheus package) and jq:
#   1. alerts.yml parses, and its unit tests (alerts.test.yml) pass;
#   2. each rule's tests can fail: with the rule's expression replaced by one that never fires,
#      `promtool test rules` must fail, so no rule is left without a case where it fires;
#   3. grafana-dashboard.json is valid JSON and every panel query parses as PromQL;
#   4. prometheus.yml and prometheus-static.yml (and the rules they load) pass
#      `promtool check config`.
# Run by `make monitoring-check`. Exits non-zero on the first problem, saying which.
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

for tool in promtool jq awk; do
	command -v "$tool" >/dev/null || { echo "monitoring/check.sh: $tool not found (apt-get install prometheus jq)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "==> promtool check rules alerts.yml"
promtool check rules alerts.yml

echo "==> promtool test rules alerts.test.yml"
promtool test rules alerts.test.yml

echo "==> each rule's tests fail when the rule never fires"
alerts=$(awk '$1 == "-" && $2 == "alert:" { print $3 }' alerts.yml)
[ -n "$alerts" ] || { echo "no alerts found in alerts.yml" >&2; exit 1; }
cp alerts.test.yml "$tmp/"
for alert in $alerts; do
	# Replace the expression (one line or a block scalar) of this alert only.
	awk -v name="$alert" '
		$1 == "-" && ($2 == "alert:" || $2 == "record:") { mine = ($2 == "alert:" && $3 == name) }
		skip && (NF == 0 || match($0, /^ */) && RLENGTH > indent) { next }
		{ skip = 0 }
		mine && /^ *expr:/ { match($0, /^ */); indent = RLENGTH; printf "%*sexpr: vector(1) < 0\n", indent, ""; skip = 1; done = 1; next }
		{ print }
		END { if (!done) exit 1 }
	' alerts.yml >"$tmp/alerts.yml" || { echo "$alert: no expr found" >&2; exit 1; }
	# The changed file must still be valid rules, or the tests would fail for the wrong reason.
	promtool check rules "$tmp/alerts.yml" >"$tmp/out" 2>&1 || { cat "$tmp/out" >&2; echo "$alert: mutated rules do not parse" >&2; exit 1; }
	if (cd "$tmp" && promtool test rules alerts.test.yml >"$tmp/out" 2>&1); then
		echo "$alert: the tests still pass when it never fires; add a test case where it fires" >&2
		exit 1
	fi
	echo "  $alert: tests fail without it, as they should"
done

echo "==> grafana-dashboard.json: valid JSON, every panel query parses"
jq empty grafana-dashboard.json
# Every query of every panel (rows included) as a recording rule, Grafana's variables
# replaced by values of their kind: $__interval-like ones by a duration, others by a word.
jq -r '
	[.. | objects | select(has("targets")) | . as $p | .targets[] | {title: $p.title, refId, expr}]
	| if length == 0 then error("no panel queries") else . end
	| "groups:\n  - name: dashboard\n    rules:",
	  (to_entries[] | "      - record: dashboard:query_\(.key)\n        labels: {panel: \(.value.title | @json), refId: \(.value.refId | @json)}\n        expr: \(.value.expr // "" | gsub("\\$\\{?__[a-z_]+\\}?"; "5m") | gsub("\\$\\{?[A-Za-z_][A-Za-z0-9_]*(:[a-z]+)?\\}?"; "x") | @json)")
' grafana-dashboard.json >"$tmp/dashboard-rules.yml"
grep -c 'record:' "$tmp/dashboard-rules.yml" | sed 's/^/  panel queries: /'
if ! promtool check rules "$tmp/dashboard-rules.yml" >"$tmp/out" 2>&1; then
	cat "$tmp/out" >&2
	for n in $(grep -o 'dashboard:query_[0-9]*' "$tmp/out" | sort -u | sed 's/.*_//'); do
		jq -r --argjson n "$n" '[.. | objects | select(has("targets")) | . as $p | .targets[] | {title: $p.title, refId, expr}][$n]
			| "grafana-dashboard.json: panel \(.title | @json), query \(.refId): does not parse: \(.expr)"' grafana-dashboard.json >&2
	done
	exit 1
fi
echo "  SUCCESS"

for config in prometheus.yml prometheus-static.yml; do
	echo "==> promtool check config $config"
	promtool check config "$config"
done
