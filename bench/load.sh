#!/usr/bin/env bash
# The side-by-side load benchmark of issue 8 (see BENCHMARKS.md):
#
#   bench/load.sh
#
# On one 2-core machine: the upstream (nginx, a small static answer) and
# every client run on CLIENT_CPU, the proxy under test on PROXY_CPU
# (taskset). Every proxy terminates TLS with the same certificate and wrk
# speaks HTTPS over keep-alive connections; only "upstream direct" is plain
# HTTP (it is the upstream the proxies forward to). Cases run interleaved,
# ROUNDS times; each figure is the median. Then: logins/s at saturation, idle
# RSS and RSS with HOLD idle TLS connections, and (unless SKIP_MICRO=1) the
# criterion RS256/PBKDF2 benches next to `openssl speed rsa2048`.
#
# STORE=redis runs every portcullis instance on the Redis session store (a
# private redis-server it starts) instead of the embedded one.
#
# Installs nginx, haproxy, wrk (and redis-server for STORE=redis; Debian
# packages) when missing. Stops every process it started, whatever happens.
set -euo pipefail

DURATION=${DURATION:-10}       # seconds per measured case
ROUNDS=${ROUNDS:-3}            # interleaved rounds; medians are reported
CONNECTIONS=${CONNECTIONS:-50} # wrk keep-alive connections
TOKENS=${TOKENS:-100}          # pre-minted tokens for the new-token cases
FLOOD_RATE=${FLOOD_RATE:-20}   # logins/s during the login-flood case
HOLD=${HOLD:-10000}            # idle TLS connections for the memory figure
BASE_PORT=${BASE_PORT:-18400}
CLIENT_CPU=${CLIENT_CPU:-0}
PROXY_CPU=${PROXY_CPU:-1}
SKIP_MICRO=${SKIP_MICRO:-0}
STORE=${STORE:-embedded}       # portcullis's session store: embedded or redis

# die MESSAGE: says why and what the started processes said (cleanup
# removes their files), then exits.
die() {
    printf 'load.sh: %s\n' "$*" >&2
    local f
    for f in "${W:-/nonexistent}"/*.out; do
        [ -s "$f" ] || continue
        printf -- '--- %s (last lines)\n' "${f##*/}" >&2
        tail -n 5 "$f" >&2
    done
    exit 1
}

# Settings are checked before anything starts: a bad value names itself.
# Upper bounds keep a run finite and inside what the machine can open:
# HOLD connections come from one address's ephemeral ports (about 28,000),
# each proxied wrk connection holds two sockets, minting runs at about 13
# logins/s.
MAX_DURATION=3600 MAX_ROUNDS=99 MAX_CONNECTIONS=4000 MAX_TOKENS=1000
MAX_FLOOD_RATE=1000 MAX_HOLD=25000
MIN_BASE_PORT=1024 MAX_BASE_PORT=65529 # it and the next 6 ports are used
check_settings() {
    local name min max
    for name in DURATION ROUNDS CONNECTIONS TOKENS FLOOD_RATE HOLD BASE_PORT; do
        min=MIN_$name max=MAX_$name
        # No sign, no leading zero (bash would read 08000 as octal).
        [[ ${!name} =~ ^[1-9][0-9]{0,8}$ ]] && [ "${!name}" -ge "${!min:-1}" ] &&
            [ "${!name}" -le "${!max}" ] ||
            die "$name must be a whole number from ${!min:-1} to ${!max}, without leading zeros (got '${!name}')"
    done
    local cpus
    cpus=$(nproc)
    for name in CLIENT_CPU PROXY_CPU; do
        [[ ${!name} =~ ^(0|[1-9][0-9]{0,3})$ ]] && [ "${!name}" -lt "$cpus" ] ||
            die "$name must be a CPU number below $cpus, without leading zeros (got '${!name}')"
    done
    [ "$CLIENT_CPU" != "$PROXY_CPU" ] ||
        die "CLIENT_CPU and PROXY_CPU must differ (the proxy under test gets a CPU of its own)"
    [[ $SKIP_MICRO =~ ^[01]$ ]] || die "SKIP_MICRO must be 0 or 1 (got '$SKIP_MICRO')"
    case $STORE in
    embedded | redis) ;;
    *) die "STORE must be embedded or redis (got '$STORE')" ;;
    esac
}
check_settings

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
UP_PORT=$BASE_PORT
NGINX_PORT=$((BASE_PORT + 1))
HAPROXY_PORT=$((BASE_PORT + 2))
PC_PORT=$((BASE_PORT + 3))       # portcullis, verified-token cache on
PC_NOCACHE_PORT=$((BASE_PORT + 4)) # portcullis, cache off
PC_MEM_PORT=$((BASE_PORT + 5))   # portcullis, fresh, for the memory figure
REDIS_PORT=$((BASE_PORT + 6))    # a private redis-server when STORE=redis

PIDS=()
W=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    [ -n "$W" ] && rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '== %s\n' "$*" >&2; }

# --- tools ------------------------------------------------------------------
install_missing() {
    local need=() sudo=""
    command -v nginx >/dev/null || need+=(nginx)
    command -v haproxy >/dev/null || need+=(haproxy)
    command -v wrk >/dev/null || need+=(wrk)
    command -v taskset >/dev/null || need+=(util-linux)
    command -v openssl >/dev/null || need+=(openssl)
    command -v curl >/dev/null || need+=(curl)
    if [ "$STORE" = redis ]; then
        command -v redis-server >/dev/null || need+=(redis-server)
        command -v redis-cli >/dev/null || need+=(redis-tools)
    fi
    [ ${#need[@]} -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    log "installing ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=300 \
        install -y -qq "${need[@]}" >/dev/null
}

check_haproxy() {
    local v
    v=$(haproxy -v | sed -n 's/.*version \([0-9]*\.[0-9]*\).*/\1/p' | head -1)
    awk -v v="$v" 'BEGIN { split(v, p, "."); exit !(p[1] > 2 || (p[1] == 2 && p[2] >= 5)) }' ||
        die "HAProxy $v has no jwt_verify (2.5 or later needed)"
    HAPROXY_VERSION=$v
}

build() {
    log "building portcullis (release)"
    run_wait "$W/build.out" cargo build --manifest-path "$ROOT/Cargo.toml" --release \
        --quiet --bin portcullis --example login_client --example hold_conns ||
        die "the release build failed"
    PORTCULLIS=$TARGET/release/portcullis
    LOGIN=$TARGET/release/examples/login_client
    HOLDER=$TARGET/release/examples/hold_conns
}

# --- processes --------------------------------------------------------------
# start CPU NAME CMD...: runs CMD pinned to CPU in the background.
start() {
    local cpu=$1 name=$2
    shift 2
    taskset -c "$cpu" "$@" >"$W/$name.out" 2>&1 &
    PIDS+=("$!")
}

# forget PID: drop PID from the processes cleanup stops (it has ended).
forget() {
    local keep=() pid
    for pid in "${PIDS[@]}"; do
        [ "$pid" = "$1" ] || keep+=("$pid")
    done
    PIDS=("${keep[@]}")
}

# run_wait OUT CMD...: runs CMD with its output in OUT and waits for it.
# In the background, because bash does not act on a Ctrl-C while a
# foreground child (wrk) catches SIGINT and exits 0; `wait` is interrupted
# and the INT trap runs.
run_wait() {
    local out=$1 pid rc=0
    shift
    "$@" >"$out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait "$pid" || rc=$?
    forget "$pid"
    return "$rc"
}

# wait_http URL: until URL answers at all (any status), at most 30 s.
wait_http() {
    local i
    for i in $(seq 300); do
        curl -sk -o /dev/null "$1" && return 0
        sleep 0.1
    done
    die "no answer from $1"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# --- configuration ----------------------------------------------------------
nginx_common() {
    cat <<EOF
worker_processes 1;
pid $W/$1.pid;
error_log $W/$1.err warn;
events { worker_connections 8192; }
EOF
}

nginx_http_common() {
    cat <<EOF
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $W/tmp/$1-body;
    proxy_temp_path $W/tmp/$1-proxy;
    fastcgi_temp_path $W/tmp/$1-fcgi;
    uwsgi_temp_path $W/tmp/$1-uwsgi;
    scgi_temp_path $W/tmp/$1-scgi;
EOF
}

write_upstream_conf() {
    {
        nginx_common up
        echo "http {"
        nginx_http_common up
        cat <<EOF
    server {
        listen 127.0.0.1:$UP_PORT;
        location / { default_type text/plain; return 200 "ok\n"; }
    }
}
EOF
    } >"$W/upstream.conf"
}

write_nginx_proxy_conf() {
    {
        nginx_common proxy
        echo "http {"
        nginx_http_common proxy
        cat <<EOF
    upstream app { server 127.0.0.1:$UP_PORT; keepalive 256; }
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $W/cert.pem;
        ssl_certificate_key $W/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    } >"$W/nginx-proxy.conf"
}

write_haproxy_conf() {
    cat "$W/cert.pem" "$W/key.pem" >"$W/haproxy.pem"
    cat >"$W/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 5000
    ssl-default-bind-options ssl-min-ver TLSv1.2

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    option http-keep-alive
    http-reuse always

frontend fe
    bind 127.0.0.1:$HAPROXY_PORT ssl crt $W/haproxy.pem alpn http/1.1
    http-request set-var(txn.bearer) http_auth_bearer
    http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('\$.alg')
    http-request deny deny_status 401 unless { var(txn.alg) -m str RS256 }
    http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"$W/jwt-public.pem") -m int 1 }
    http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
    http-request set-var(txn.now) date()
    http-request deny deny_status 401 if { var(txn.exp),sub(txn.now) -m int lt 1 }
    default_backend app

backend app
    server up 127.0.0.1:$UP_PORT
EOF
}

# redis_conf NAME: the [redis] table when STORE=redis (a key prefix per
# instance, so instances do not share sessions or keys), else nothing.
redis_conf() {
    [ "$STORE" = redis ] || return 0
    printf '[redis]\nurl = "redis://127.0.0.1:%s/"\nkey_prefix = "bench-%s:"\n' "$REDIS_PORT" "$1"
}

# write_portcullis_conf DIR PORT CACHE_ENTRIES
write_portcullis_conf() {
    local dir=$1
    mkdir -p "$dir"
    cat >"$dir/portcullis.toml" <<EOF
[server]
listen = "127.0.0.1:$2"
data_dir = "data"

[tls]
cert = "$W/cert.pem"
key = "$W/key.pem"

[auth]
users_file = "users.toml"
hash_workers = 1
verified_cache_entries = $3

[session]
store = "$STORE"
# Every minted token stays valid: no eviction of older sessions.
max_per_user = 1000000
$(redis_conf "$(basename "$dir")")

[rate_limit]
# The flood and the saturation measure are logins on purpose.
login_per_ip = 0
login_per_account = 0
refresh_per_ip = 0
proxy_per_ip = 0

[lockout]
max_failures = 0

[limits]
max_connections = 30000
idle_timeout_secs = 900

[admin]
listen = ""

[log]
# nginx and HAProxy run without access logs too.
level = "warn"

[[routes]]
prefix = "/"
upstream = "http://127.0.0.1:$UP_PORT"
policy = "authenticated"

[[routes]]
prefix = "/public"
upstream = "http://127.0.0.1:$UP_PORT"
policy = "public"
EOF
    printf '[[users]]\nusername = "bench"\nroles = ["user"]\npassword_hash = "%s"\n' \
        "$PASSWORD_HASH" >"$dir/users.toml"
    chmod 600 "$dir/users.toml"
}

# start_portcullis NAME PORT CACHE_ENTRIES: started, answering.
start_portcullis() {
    write_portcullis_conf "$W/$1" "$2" "$3"
    start "$PROXY_CPU" "$1" "$PORTCULLIS" serve --config "$W/$1/portcullis.toml"
    wait_http "https://127.0.0.1:$2/public/"
}

setup() {
    mkdir -p "$W/tmp" "$W/res"
    "$PORTCULLIS" certs dev --cert "$W/cert.pem" --key "$W/key.pem" >/dev/null
    BENCH_PASSWORD=$(openssl rand -hex 16)
    export BENCH_PASSWORD
    PASSWORD_HASH=$(printf '%s\n' "$BENCH_PASSWORD" | "$PORTCULLIS" hash-password)
    write_upstream_conf
    write_nginx_proxy_conf
    if [ "$STORE" = redis ]; then
        # Private, in memory only, on the clients' CPU like the upstream.
        start "$CLIENT_CPU" redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
            --save '' --appendonly no --dir "$W"
        local i
        for i in $(seq 100); do
            redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
            sleep 0.1
        done
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG ||
            die "redis-server did not start on port $REDIS_PORT"
    fi
    start "$CLIENT_CPU" upstream nginx -p "$W" -c "$W/upstream.conf" -g 'daemon off;'
    wait_http "http://127.0.0.1:$UP_PORT/"
    start "$PROXY_CPU" nginx-proxy nginx -p "$W" -c "$W/nginx-proxy.conf" -g 'daemon off;'
    wait_http "https://127.0.0.1:$NGINX_PORT/"
    start_portcullis pc "$PC_PORT" 10000
    start_portcullis pc-nocache "$PC_NOCACHE_PORT" 0
    log "minting $TOKENS tokens (one login each) and one for the cache-hit case"
    login_wait "$W/mint.out" "$PC_NOCACHE_PORT" mint "$TOKENS" "$W/tokens-new.txt" ||
        die "minting tokens failed"
    login_wait "$W/mint.out" "$PC_PORT" mint 1 "$W/token-one.txt" ||
        die "minting the cache-hit token failed"
    # HAProxy verifies the same tokens with the same RSA-2048 public key.
    openssl pkey -in "$(ls "$W"/pc-nocache/data/keys/*.pem | head -1)" -pubout \
        -out "$W/jwt-public.pem"
    write_haproxy_conf
    start "$PROXY_CPU" haproxy haproxy -f "$W/haproxy.cfg" -db
    wait_http "https://127.0.0.1:$HAPROXY_PORT/"
}

# login_cmd PORT: LOGIN_CMD is the login client's command line against the
# portcullis instance on PORT (run as one process, so stopping it stops
# the client itself).
login_cmd() {
    LOGIN_CMD=(taskset -c "$CLIENT_CPU" "$LOGIN" --url "https://127.0.0.1:$1"
        --cert "$W/cert.pem" --user bench)
}

# login_wait OUT PORT ARGS...: the login client against PORT with ARGS,
# waited for (interruptibly, see run_wait), its output in OUT.
login_wait() {
    local out=$1
    login_cmd "$2"
    shift 2
    run_wait "$out" "${LOGIN_CMD[@]}" "$@"
}

# --- measuring --------------------------------------------------------------
# measure CASE URL [TOKENS_FILE]: one wrk run; appends to $W/res/CASE.
measure() {
    local case=$1 url=$2 tokens=${3:-} path
    path=/${url#*://*/}
    TOKENS_FILE=$tokens WRK_PATH=$path run_wait "$W/wrk.log" taskset -c "$CLIENT_CPU" \
        wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s \
        -s "$ROOT/bench/wrk.lua" "$url" ||
        die "wrk failed for $case: $(tail -n 3 "$W/wrk.log")"
    grep '^RESULT' "$W/wrk.log" >>"$W/res/$case" ||
        die "wrk gave no result for $case: $(tail -n 3 "$W/wrk.log")"
}

# One round: every case once, in a fixed order.
round() {
    measure upstream_direct "http://127.0.0.1:$UP_PORT/"
    measure nginx_proxy "https://127.0.0.1:$NGINX_PORT/"
    measure haproxy_jwt_verify "https://127.0.0.1:$HAPROXY_PORT/app" "$W/tokens-new.txt"
    measure portcullis_public "https://127.0.0.1:$PC_PORT/public/"
    measure portcullis_auth_new_token "https://127.0.0.1:$PC_NOCACHE_PORT/app" "$W/tokens-new.txt"
    measure portcullis_auth_cache_hit "https://127.0.0.1:$PC_PORT/app" "$W/token-one.txt"
    login_cmd "$PC_PORT"
    "${LOGIN_CMD[@]}" flood --rate "$FLOOD_RATE" --secs "$DURATION" >>"$W/res/flood" 2>"$W/flood.out" &
    local flood=$!
    PIDS+=("$flood")
    measure portcullis_auth_login_flood "https://127.0.0.1:$PC_PORT/app" "$W/token-one.txt"
    wait "$flood" || die "the login flood client failed"
    forget "$flood"
}

# field CASE NAME: the values of NAME=… in CASE's RESULT lines.
field() { sed -n "s/.* $2=\([0-9]*\).*/\1/p" "$W/res/$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

rps_of() { paste -d' ' <(field "$1" requests) <(field "$1" duration_us) | awk '{ printf "%.1f\n", $1 / ($2 / 1e6) }' | median; }
p50_of() { field "$1" p50_us | median; }
p99_of() { field "$1" p99_us | median; }
bad_of() { (field "$1" socket_errors; field "$1" non2xx) | awk '{ s += $1 } END { print s + 0 }'; }

CASES=(upstream_direct nginx_proxy haproxy_jwt_verify portcullis_public
    portcullis_auth_new_token portcullis_auth_cache_hit portcullis_auth_login_flood)

report_table() {
    printf '\n%-28s %12s %10s %10s %8s\n' case 'req/s' 'p50 ms' 'p99 ms' errors
    local c
    for c in "${CASES[@]}"; do
        printf '%-28s %12.0f %10.3f %10.3f %8d\n' "$c" "$(rps_of "$c")" \
            "$(awk -v v="$(p50_of "$c")" 'BEGIN { print v / 1000 }')" \
            "$(awk -v v="$(p99_of "$c")" 'BEGIN { print v / 1000 }')" "$(bad_of "$c")"
    done
    echo
    echo "login flood answers (per round): $(sed 's/^flood //' "$W/res/flood" | tr '\n' ' ')"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# --- memory, logins, micro-benchmarks -----------------------------------------
measure_logins() {
    log "logins/s at saturation (4 in flight, ${DURATION}s)"
    login_wait "$W/saturate.out" "$PC_PORT" saturate --concurrency 4 --secs "$DURATION" ||
        die "the saturation client failed"
    LOGINS_PER_SEC=$(sed -n 's/.*logins_per_sec=\([0-9.]*\).*/\1/p' "$W/saturate.out")
}

measure_memory() {
    log "memory: a fresh instance, then $HOLD idle TLS keep-alive connections"
    start_portcullis pc-mem "$PC_MEM_PORT" 10000
    local pid=${PIDS[-1]}
    sleep 1
    RSS_IDLE=$(rss_kib "$pid")
    mkfifo "$W/hold.in"
    taskset -c "$CLIENT_CPU" "$HOLDER" --addr "127.0.0.1:$PC_MEM_PORT" --cert "$W/cert.pem" \
        --count "$HOLD" <"$W/hold.in" >"$W/hold.out" 2>&1 &
    local holder=$!
    PIDS+=("$holder")
    exec 9>"$W/hold.in"
    local i
    for i in $(seq 1200); do
        grep -q '^holding' "$W/hold.out" && break
        kill -0 "$holder" 2>/dev/null || die "hold_conns failed: $(cat "$W/hold.out")"
        sleep 0.1
    done
    grep -q '^holding' "$W/hold.out" || die "hold_conns did not open $HOLD connections in 120 s"
    sleep 2
    RSS_HELD=$(rss_kib "$pid")
    exec 9>&-
    wait "$holder" || true
}

# criterion median of bench NAME (its directory under target/criterion), in ns.
criterion_ns() {
    sed -n 's/.*"median":{[^}]*}[^}]*"point_estimate":\([0-9.e+]*\).*/\1/p' \
        "$TARGET/criterion/$1/new/estimates.json"
}

measure_micro() {
    [ "$SKIP_MICRO" = 1 ] && return
    log "criterion RS256 and PBKDF2, and openssl speed rsa2048 (on CPU $PROXY_CPU)"
    run_wait "$W/criterion.out" taskset -c "$PROXY_CPU" cargo bench --manifest-path "$ROOT/Cargo.toml" \
        --quiet --bench crypto -- --warm-up-time 1 --measurement-time 3 \
        'rs256_sign|rs256_verify_uncached|pbkdf2' || die "cargo bench failed"
    SIGN_NS=$(criterion_ns rs256_sign)
    VERIFY_NS=$(criterion_ns rs256_verify_uncached)
    PBKDF2_NS=$(criterion_ns pbkdf2/pbkdf2_sha256_600k_verify)
    read -r OPENSSL_SIGN OPENSSL_VERIFY < <(taskset -c "$PROXY_CPU" openssl speed -seconds 3 rsa2048 2>/dev/null |
        awk '/^rsa 2048 bits/ { print $6, $7 }')
}

report_targets() {
    local pub nginx hap new hit p99_flood p99_idle
    pub=$(rps_of portcullis_public)
    nginx=$(rps_of nginx_proxy)
    hap=$(rps_of haproxy_jwt_verify)
    new=$(rps_of portcullis_auth_new_token)
    hit=$(rps_of portcullis_auth_cache_hit)
    p99_flood=$(p99_of portcullis_auth_login_flood)
    p99_idle=$(p99_of portcullis_auth_cache_hit)
    printf '%-62s %10s %8s\n' target measured goal
    printf '%-62s %10s %8s\n' "portcullis public ÷ nginx proxy (req/s)" "$(ratio "$pub" "$nginx")" '>= 1.0'
    printf '%-62s %10s %8s\n' "portcullis auth, new token ÷ HAProxy jwt_verify (req/s)" "$(ratio "$new" "$hap")" '>= 1.5'
    printf '%-62s %10s %8s\n' "portcullis auth, cache hit ÷ nginx proxy (req/s)" "$(ratio "$hit" "$nginx")" '>= 0.9'
    printf '%-62s %10s %8s\n' "p99 during a ${FLOOD_RATE}/s login flood ÷ p99 idle (cache hit)" "$(ratio "$p99_flood" "$p99_idle")" '<= 1.5'
    if [ -n "${LOGINS_PER_SEC:-}" ] && [ -n "${PBKDF2_NS:-}" ]; then
        # One core for the proxy under test, one hashing thread.
        printf '%-62s %10s %8s\n' "logins/s ($LOGINS_PER_SEC) ÷ (1 core ÷ PBKDF2 $(awk -v n="$PBKDF2_NS" 'BEGIN { printf "%.1f ms", n / 1e6 }'))" \
            "$(ratio "$LOGINS_PER_SEC" "$(awk -v n="$PBKDF2_NS" 'BEGIN { print 1e9 / n }')")" '>= 0.9'
    else
        printf '%-62s %10s %8s\n' "logins/s at saturation (1 core, 1 hashing thread)" "${LOGINS_PER_SEC:-n/a}" ''
    fi
    if [ -n "${SIGN_NS:-}" ]; then
        printf '%-62s %10s %8s\n' "RS256 verify/s $(awk -v n="$VERIFY_NS" 'BEGIN { printf "%.0f", 1e9 / n }') ÷ openssl $OPENSSL_VERIFY" \
            "$(ratio "$(awk -v n="$VERIFY_NS" 'BEGIN { print 1e9 / n }')" "$OPENSSL_VERIFY")" '>= 0.9'
        printf '%-62s %10s %8s\n' "RS256 sign/s $(awk -v n="$SIGN_NS" 'BEGIN { printf "%.0f", 1e9 / n }') ÷ openssl $OPENSSL_SIGN" \
            "$(ratio "$(awk -v n="$SIGN_NS" 'BEGIN { print 1e9 / n }')" "$OPENSSL_SIGN")" '>= 0.9'
    fi
    local per_conn
    per_conn=$(awk -v a="$RSS_HELD" -v b="$RSS_IDLE" -v n="$HOLD" 'BEGIN { printf "%.1f", (a - b) / n }')
    printf '%-62s %10s %8s\n' "idle RSS after start (MiB)" "$(awk -v k="$RSS_IDLE" 'BEGIN { printf "%.1f", k / 1024 }')" '<= 30'
    printf '%-62s %10s %8s\n' "RSS per idle TLS keep-alive connection (KiB, $HOLD held)" "$per_conn" '<= 10'
}

main() {
    install_missing
    check_haproxy
    command -v cargo >/dev/null || die "cargo is needed to build portcullis"
    ulimit -n 100000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    W=$(mktemp -d /tmp/portcullis-load.XXXXXX)
    chmod 700 "$W"
    build
    setup
    log "$ROUNDS interleaved rounds of ${#CASES[@]} cases, ${DURATION}s each, $CONNECTIONS connections"
    local r
    for r in $(seq "$ROUNDS"); do
        log "round $r"
        round
    done
    measure_logins
    measure_memory
    measure_micro
    echo
    echo "portcullis load benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1))"
    echo "commit $(cd "$ROOT" && git rev-parse --short HEAD), nginx $(nginx -v 2>&1 | sed 's/.*\///'), HAProxy $HAPROXY_VERSION, $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
    echo "DURATION=$DURATION ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS TOKENS=$TOKENS FLOOD_RATE=$FLOOD_RATE HOLD=$HOLD STORE=$STORE; proxies on CPU $PROXY_CPU, upstream, clients (and Redis) on CPU $CLIENT_CPU"
    report_table
    echo
    report_targets
}

# Sourcing the file (to test one function) does not run it.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
