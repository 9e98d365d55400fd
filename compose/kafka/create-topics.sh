#!/usr/bin/env bash
# kafka-init (compose/docker-compose.yml) runs this once per `up`: it creates the order topics
# on the Apache Kafka broker if they do not exist yet, then exits 0. The services that produce
# or consume start only after this has succeeded (depends_on: service_completed_successfully).
#
#   KAFKA_BOOTSTRAP        broker to ask (kafka:9092)
#   SK_ORDERS_TOPIC        order lifecycle events, key = order id (sk.orders)
#   SK_ORDERS_PARTITIONS   its partitions, the most order-consumer instances that can share it (6)
#   SK_DLQ_TOPIC           events order-consumer could not apply (sk.orders.dlq)
#   SK_REPLICATION_FACTOR  1 on this single-broker stack; 3 on a real cluster
#
# Topics are never changed once created. Partitions can only grow, and growing them remaps
# keys to partitions, so change the partition count on purpose with kafka-topics.sh --alter.
set -euo pipefail

bootstrap=${KAFKA_BOOTSTRAP:-kafka:9092}
orders=${SK_ORDERS_TOPIC:-sk.orders}
partitions=${SK_ORDERS_PARTITIONS:-6}
dlq=${SK_DLQ_TOPIC:-sk.orders.dlq}
replication=${SK_REPLICATION_FACTOR:-1}
topics=/opt/kafka/bin/kafka-topics.sh

# The broker's port opens before KRaft has elected its controller: wait until it answers
# an admin request.
for attempt in $(seq 1 60); do
  if "$topics" --bootstrap-server "$bootstrap" --list >/dev/null 2>&1; then
    break
  fi
  if ((attempt == 60)); then
    echo "kafka-init: $bootstrap did not answer within two minutes" >&2
    exit 1
  fi
  echo "kafka-init: waiting for $bootstrap ($attempt)"
  sleep 2
done

# With one broker, min.insync.replicas must be 1 for acks=all to succeed. On a cluster, use
# replication 3 and min.insync.replicas 2.
min_isr=$((replication > 2 ? 2 : 1))

"$topics" --bootstrap-server "$bootstrap" --create --if-not-exists \
  --topic "$orders" --partitions "$partitions" --replication-factor "$replication" \
  --config min.insync.replicas="$min_isr"

# Dead letters wait for a person: keep them 30 days.
"$topics" --bootstrap-server "$bootstrap" --create --if-not-exists \
  --topic "$dlq" --partitions 1 --replication-factor "$replication" \
  --config min.insync.replicas="$min_isr" --config retention.ms=2592000000

"$topics" --bootstrap-server "$bootstrap" --describe --topic "$orders"
"$topics" --bootstrap-server "$bootstrap" --describe --topic "$dlq"
echo "kafka-init: topics $orders ($partitions partitions) and $dlq are ready"
