# shellcheck shell=bash
# What the benchmark scripts share: free ports, random secrets, stopping what they started, a
# private tansu broker with topics of their own, and clean-up on exit (failure included).
#
# Source it after `cd` to the repository, then call `bench_init NAME`. It sets:
#   tag         unique per invocation: key prefix, topic and database names
#   work        a temporary directory (deleted on exit) for logs and results
#   bin         the release binaries' directory (honours CARGO_TARGET_DIR)
#   redis_port, redis_url, rcli (a redis-cli function)
# and `pids`, the processes `bench_stop_all` stops on exit. Everything a script starts goes
# through `bench_spawn NAME COMMAND…` (its log is $work/NAME.log).

bench_init() {
	bench_name=$1
	export PATH="$HOME/.cargo/bin:$PATH"
	redis_port=${SK_STACK_REDIS_PORT:-6379}
	redis_url="redis://127.0.0.1:${redis_port}"
	bin="${CARGO_TARGET_DIR:-target}/release"
	tag="${bench_name}-$(date +%s)-$$"
	work=$(mktemp -d)
	pids=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

rcli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

# bench_spawn NAME COMMAND…: runs COMMAND in the background, logging to $work/NAME.log.
bench_spawn() {
	local name=$1
	shift
	"$@" >"$work/$name.log" 2>&1 &
	pids+=($!)
}

# bench_stop_all: stops every process started so far (newest first) and forgets them.
bench_stop_all() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop_pid "${pids[i]}"; done
	pids=()
}

# stop_pid PID: SIGTERM, up to 15 s to finish, then SIGKILL.
stop_pid() {
	local pid=$1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "$bench_name: $pid ignored SIGTERM; killing it" >&2
	kill -KILL "$pid" 2>/dev/null || true
}

# Functions a script adds here run at exit, after its processes stopped (e.g. dropping a
# database of its own).
bench_exit_hooks=()

bench_cleanup() {
	local status=$?
	local hook log
	bench_stop_all
	if ((status != 0)); then
		for log in "$work"/*.log; do
			[[ -s $log ]] || continue
			echo "$bench_name: failed; last lines of $log:" >&2
			tail -n 15 "$log" >&2
		done
	fi
	for hook in "${bench_exit_hooks[@]}"; do "$hook" || true; done
	# Every key this run made starts with $tag.
	rcli --scan --pattern "${tag}*" 2>/dev/null | xargs -r -n 1000 redis-cli -h 127.0.0.1 -p "$redis_port" unlink >/dev/null || true
	rm -rf "$work"
	exit "$status"
}

# bench_tansu: starts a private tansu broker (own port, own sqlite file under $work) and creates
# the topics "$tag.orders" (8 partitions) and "$tag.orders.dlq"; sets kafka_port.
bench_tansu() {
	kafka_port=$(free_port)
	local dir="$work/kafka-$kafka_port"
	mkdir -p "$dir"
	(cd "$dir" && NO_COLOR=1 exec tansu broker \
		--listener-url "tcp://127.0.0.1:${kafka_port}" \
		--advertised-listener-url "tcp://127.0.0.1:${kafka_port}" \
		--storage-engine sqlite://tansu.db >"$work/tansu.log" 2>&1) &
	pids+=($!)
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/${kafka_port}") 2>/dev/null && break
		sleep 0.1
	done
	local topic
	for topic in "$tag.orders:8" "$tag.orders.dlq:1"; do
		NO_COLOR=1 tansu topic create "${topic%:*}" --partitions "${topic#*:}" \
			--broker "tcp://127.0.0.1:${kafka_port}" >/dev/null
	done
}
