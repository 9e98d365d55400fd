#!/usr/bin/env bash
# The sk-bench service's default command (compose/docker-compose.yml, profile "tools"): a demo
# flash sale against the running compose stack, the way scripts/demo runs one locally.
#
#   docker compose -f compose/docker-compose.yml run --rm sk-bench
#
# 1. waits until every service answers /readyz;
# 2. mints an admin token with the deployment's JWT key (SK_JWT__SECRET, the same as sk-admin's);
# 3. `sk-bench flash` through the gateway: SK_DEMO_SHOPPERS shoppers (20,000) for SK_DEMO_STOCK
#    units (1,000), one each, arriving at SK_DEMO_RATE a second (2,000); 70 % pay, 20 % abandon
#    (they expire after the 10 s payment timeout), 10 % cancel; a second wave buys the returned
#    units;
# 4. `sk-bench verify`: DESIGN §6 invariants 1-5 against the admin API, MySQL and Redis.
# The run's JSON, latency plot and verdict land in /var/lib/sk (the bench-runs volume).
# Exit status: verify's (0 pass, 1 breach, 2 could not verify).
#
# The load comes from the loadgen network, which the gateway exempts from its per-client rate
# limit (SK_LIMITS__EXEMPT). That is why the gateway is addressed as loadgen-gateway.
set -euo pipefail

gateway=${SK_BENCH_GATEWAY:-http://loadgen-gateway:8080}
: "${SK_MYSQL__URL:?the sk-bench service sets SK_MYSQL__URL}"
: "${SK_REDIS__URL:?the sk-bench service sets SK_REDIS__URL}"

echo "==> waiting for the services"
sk-bench wait-ready --timeout-secs "${SK_DEMO_READY_TIMEOUT_SECS:-180}" \
  "gateway=$gateway" \
  sk-app-1=http://sk-app-1:8081 sk-app-2=http://sk-app-2:8081 \
  sk-core-1=http://sk-core-1:8082 sk-core-2=http://sk-core-2:8082 \
  sk-admin=http://sk-admin:8083 order-consumer=http://order-consumer:8084

# sk-bench reads the admin token from the environment, never from its command line.
SK_ADMIN_TOKEN=$(sk-admin token --role admin --sub sk-bench --ttl-secs 3600)
export SK_ADMIN_TOKEN

stamp=$(date -u +%Y%m%dT%H%M%SZ)
run="flash-$stamp.json"
echo
echo "==> flash sale through $gateway"
sk-bench flash --gateway "$gateway" \
  --shoppers "${SK_DEMO_SHOPPERS:-20000}" --stock "${SK_DEMO_STOCK:-1000}" --per-user-limit 1 \
  --rate "${SK_DEMO_RATE:-2000}" --pay-fraction 0.7 --abandon-fraction 0.2 \
  --json "$run" --plot "latency-$stamp.svg"

echo
echo "==> verify: DESIGN §6 invariants 1-5 against the admin API, MySQL and Redis"
verdict=0
sk-bench verify --run "$run" --admin "$gateway" \
  --mysql-url "$SK_MYSQL__URL" --redis-url "$SK_REDIS__URL" \
  --json "verdict-$stamp.json" || verdict=$?
echo
echo "files in the bench-runs volume (/var/lib/sk): $run, latency-$stamp.svg, verdict-$stamp.json"
exit "$verdict"
