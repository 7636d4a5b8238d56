#!/usr/bin/env bash
# Runs the bench: for each stack, starts cmd/server pinned to CPU 0 and cmd/load pinned to
# CPU 1, records the driver's JSON line, then prints a Markdown comparison with the bare
# mcp-go baseline. Writes bench/results.jsonl (raw) and bench/results.md (table).
#
#   ./bench/run.sh                                   # 10s per stack, 32 workers
#   DURATION=5s CONCURRENCY=64 ./bench/run.sh
#   STACKS="bare hub" ./bench/run.sh
#   ROUNDS=3 ./bench/run.sh                          # median of 3 interleaved rounds
#   ALTERNATE=1 STACKS="bare bare-control hub" ./bench/run.sh   # 200 ms phases, CPU in ns
#
# Knobs (environment): DURATION (10s), CONCURRENCY (32), WARMUP (1s),
# STACKS (default: bare jwt-handwritten mcpauth-cold mcpauth-cached hub gosdk; add
# bare-control for an A/A check of the harness itself), ROUNDS (1),
# SERVER_CPU (0), DRIVER_CPU (1); ALTERNATE (0: rounds; 1: cmd/alternate), PHASE (200ms)
# and CYCLES (100) for the alternating mode.
set -euo pipefail

DURATION="${DURATION:-10s}"
CONCURRENCY="${CONCURRENCY:-32}"
WARMUP="${WARMUP:-1s}"
ROUNDS="${ROUNDS:-1}"
STACKS="${STACKS:-bare jwt-handwritten mcpauth-cold mcpauth-cached hub gosdk}"
SERVER_CPU="${SERVER_CPU:-0}"
DRIVER_CPU="${DRIVER_CPU:-1}"
ALTERNATE="${ALTERNATE:-0}"
PHASE="${PHASE:-200ms}"
CYCLES="${CYCLES:-100}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

work="$(mktemp -d)"
declare -A server_pid=() server_url=() server_token=()
cleanup() {
	for pid in "${server_pid[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building cmd/server, cmd/load, cmd/report, cmd/alternate..." >&2
go build -o "$work/" ./cmd/server ./cmd/load ./cmd/report ./cmd/alternate

pin_server=()
pin_driver=()
pinning="Server and driver not pinned."
if ! command -v taskset >/dev/null 2>&1; then
	echo "warning: taskset not found; server and driver share all CPUs (install it: apt-get install -y util-linux)" >&2
elif ! taskset -c "$SERVER_CPU" true 2>/dev/null || ! taskset -c "$DRIVER_CPU" true 2>/dev/null; then
	echo "warning: cannot pin to CPUs $SERVER_CPU and $DRIVER_CPU (nproc: $(nproc)); running unpinned" >&2
else
	pin_server=(taskset -c "$SERVER_CPU")
	pin_driver=(taskset -c "$DRIVER_CPU")
	pinning="Server pinned to CPU $SERVER_CPU, driver to CPU $DRIVER_CPU (taskset)."
fi

# cpu_ticks prints the user+system CPU time of a process in clock ticks (empty if unknown).
cpu_ticks() {
	if [[ -r "/proc/$1/stat" ]]; then
		# Fields after the command name, which is in parentheses: utime and stime are the
		# 12th and 13th of them.
		sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
	fi
}
clk_tck="$(getconf CLK_TCK 2>/dev/null || echo 100)"

jsonl="$here/results.jsonl"
: >"$jsonl"
failed=0

# start_server starts the server of a stack and waits for its banner line.
start_server() {
	local stack="$1" out="$work/$1.out" line="" pid
	: >"$out"
	"${pin_server[@]}" "$work/server" -stack "$stack" -addr 127.0.0.1:0 >"$out" 2>"$work/$stack.err" &
	pid=$!
	server_pid[$stack]=$pid
	for _ in $(seq 100); do
		if [[ -s "$out" ]]; then
			line="$(head -n 1 "$out")"
			[[ -n "$line" ]] && break
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	if [[ -z "$line" ]]; then
		echo "error: server for stack $stack did not start:" >&2
		cat "$work/$stack.err" >&2
		exit 1
	fi
	server_url[$stack]="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' <<<"$line")"
	server_token[$stack]="$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$line")"
}

run_stack() {
	local stack="$1" round="$2" pid="${server_pid[$1]}" cpu0 cpu1 result
	echo "== round $round/$ROUNDS: $stack at ${server_url[$stack]}: ${WARMUP} warmup + ${DURATION}, ${CONCURRENCY} workers" >&2
	cpu0="$(cpu_ticks "$pid")"
	if ! result="$("${pin_driver[@]}" "$work/load" -url "${server_url[$stack]}" -token "${server_token[$stack]}" -stack "$stack" \
		-concurrency "$CONCURRENCY" -duration "$DURATION" -warmup "$WARMUP")"; then
		echo "warning: the driver reported errors for stack $stack" >&2
		failed=1
	fi
	cpu1="$(cpu_ticks "$pid")"
	if [[ -n "$result" ]]; then
		# Add the server's CPU time while the driver ran (warmup included), so the report
		# can show CPU per request, which other work on the machine disturbs less than req/s.
		if [[ -n "$cpu0" && -n "$cpu1" ]]; then
			result="${result%\}},\"server_cpu_s\":$(awk -v a="$cpu0" -v b="$cpu1" -v hz="$clk_tck" 'BEGIN { printf "%.3f", (b - a) / hz }')}"
		fi
		echo "$result" >&2
		echo "$result" >>"$jsonl"
	fi
}

# Every server starts once and idles while the others are driven: rounds then alternate
# between the stacks every few seconds, so a slow spell of the shared machine falls on
# all of them instead of on whichever stack ran during it.
for stack in $STACKS; do
	start_server "$stack"
done
if [[ "$ALTERNATE" == 1 ]]; then
	# One driver switches between the servers every PHASE and reads each server's CPU
	# clock (nanoseconds) around its phases: see load.Alternate.
	targets=()
	for stack in $STACKS; do
		targets+=(-target "$stack ${server_url[$stack]} ${server_token[$stack]:--} ${server_pid[$stack]}")
	done
	echo "alternating between $STACKS: ${CYCLES} cycles of ${PHASE} phases, ${CONCURRENCY} workers" >&2
	status=0
	"${pin_driver[@]}" "$work/alternate" -phase "$PHASE" -cycles "$CYCLES" -concurrency "$CONCURRENCY" -warmup "$WARMUP" \
		-pinning "$pinning" -phases "$jsonl" "${targets[@]}" | tee "$here/results.md" || status=$?
	echo >&2
	echo "wrote $here/results.md and $here/results.jsonl (one line per phase)" >&2
	exit "$status"
fi
for round in $(seq "$ROUNDS"); do
	for stack in $STACKS; do
		run_stack "$stack" "$round"
	done
done

"$work/report" -pinning "$pinning" <"$jsonl" | tee "$here/results.md"
echo >&2
echo "wrote $here/results.md and $here/results.jsonl" >&2
exit "$failed"
