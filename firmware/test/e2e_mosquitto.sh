#!/usr/bin/env bash
# End to end on a real broker: starts Debian's mosquitto on 127.0.0.1 at a
# random high port, runs the host-built device (cp-device) for a few readings,
# captures them with mosquitto_sub and verifies every envelope (canonical
# re-encoding + P-256 low-s signature) with cp-device verify.
#   e2e_mosquitto.sh CP_DEVICE [tcp|tls|outage]
# tls: the broker has a certificate from a throwaway CA; the device must
# authenticate it (and must refuse a broker whose CA it does not trust).
set -euo pipefail
DEVICE_BIN="$1"
MODE="${2:-tcp}"
command -v mosquitto >/dev/null || { echo "mosquitto not installed (apt-get install mosquitto mosquitto-clients)"; exit 1; }
WORK="$(mktemp -d /tmp/cp-fw-e2e-XXXXXX)"
# Below Linux's ephemeral range (32768-60999): a port in it can be taken at any
# moment by another process's outgoing connection ("Address already in use",
# seen with other test suites running alongside). A port that already accepts
# connections is skipped.
pick_port() {
  local p
  for _ in $(seq 20); do
    p=$(( 20000 + RANDOM % 12000 ))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "$p"
}
PORT=$(pick_port)
cleanup() {
  [[ -n "${SUB_PID:-}" ]] && kill "$SUB_PID" 2>/dev/null || true
  if [[ -f "$WORK/mosquitto.pid" ]]; then
    local pid
    pid="$(cat "$WORK/mosquitto.pid")"
    kill "$pid" 2>/dev/null || true
    # mosquitto writes its persistence file on the way out: let it finish first
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$WORK" || true
}
trap cleanup EXIT

HOST=127.0.0.1
SUB_TLS=()
DEVICE_TLS=""
cat > "$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
user $(id -un)
pid_file $WORK/mosquitto.pid
log_dest file $WORK/mosquitto.log
CONF
if [[ "$MODE" == tls ]]; then
  HOST=localhost
  (
    cd "$WORK"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 \
      -subj "/CN=carbonproof-test-ca" 2>/dev/null
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key -out other-ca.pem -days 1 \
      -subj "/CN=untrusted-ca" 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
      -subj "/CN=localhost" 2>/dev/null
    printf "subjectAltName=DNS:localhost,IP:127.0.0.1\n" > san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 \
      -extfile san.ext 2>/dev/null
  )
  cat >> "$WORK/mosquitto.conf" <<CONF
cafile $WORK/ca.pem
certfile $WORK/server.pem
keyfile $WORK/server.key
tls_version tlsv1.2
CONF
  SUB_TLS=(--cafile "$WORK/ca.pem")
  DEVICE_TLS=", \"caFile\": \"$WORK/ca.pem\""
fi
wait_broker() {
  for _ in $(seq 50); do
    rc=0
    mosquitto_sub -h "$HOST" -p "$PORT" "${SUB_TLS[@]}" -t probe -W 1 -C 1 >/dev/null 2>&1 || rc=$?
    [[ $rc -eq 27 ]] && return 0  # connected and timed out waiting for a message: broker is up
    sleep 0.1
  done
  echo "broker did not come up"; cat "$WORK/mosquitto.log"; exit 1
}

if [[ "$MODE" == outage ]]; then
  # The broker is down while the device measures: readings are buffered and
  # connection attempts back off; when the broker comes back the device
  # reconnects and delivers everything oldest-first. A persistent subscriber
  # session (clean session off) collects what was published while it was away.
  sed -i 's/^persistence false$/persistence true\npersistence_location '"${WORK//\//\\/}"'\//' "$WORK/mosquitto.conf"
  mosquitto -c "$WORK/mosquitto.conf" -d
  wait_broker
  mosquitto_sub -h "$HOST" -p "$PORT" -c -i cp-e2e-collector -q 1 -t 'carbonproof/v1/+/+/readings' -E
  kill "$(cat "$WORK/mosquitto.pid")"
  while [[ -f "$WORK/mosquitto.pid" ]] && kill -0 "$(cat "$WORK/mosquitto.pid")" 2>/dev/null; do sleep 0.05; done
  "$DEVICE_BIN" keygen "$WORK/device.pem" > "$WORK/pub.json"
  N=6
  cat > "$WORK/device.json" <<JSON
{ "deviceId": "kangaita-chimney-1", "facilityId": "ktda-kangaita", "keyFile": "$WORK/device.pem",
  "dataDir": "$WORK/data", "intervalS": 5, "periodMs": 150, "count": $N, "timeoutS": 40,
  "broker": { "host": "$HOST", "port": $PORT, "backoffMinMs": 100, "backoffMaxMs": 800 } }
JSON
  "$DEVICE_BIN" run "$WORK/device.json" 2> "$WORK/device.log" &
  DEV_PID=$!
  sleep 2  # every reading is taken while the broker is down
  mosquitto -c "$WORK/mosquitto.conf" -d
  wait "$DEV_PID" || { echo "device failed"; cat "$WORK/device.log"; exit 1; }
  grep -q "mqtt attempt failed" "$WORK/device.log" || { echo "device never saw the outage"; cat "$WORK/device.log"; exit 1; }
  grep -q "retry in 800 ms" "$WORK/device.log" || { echo "backoff did not reach its cap"; cat "$WORK/device.log"; exit 1; }
  mosquitto_sub -h "$HOST" -p "$PORT" -c -i cp-e2e-collector -q 1 -t 'carbonproof/v1/+/+/readings' -C "$N" -W 10 \
    > "$WORK/envelopes.txt" || { echo "collector did not get $N readings"; cat "$WORK/device.log"; exit 1; }
  PUB=$(sed -E 's/.*"publicKey":"(0x04[0-9a-f]+)".*/\1/' "$WORK/pub.json")
  "$DEVICE_BIN" verify "$PUB" < "$WORK/envelopes.txt"
  for i in $(seq 0 $((N - 1))); do
    sed -n "$((i + 1))p" "$WORK/envelopes.txt" | grep -q "\"seq\":$i,"
  done
  echo "e2e (outage): $N readings taken while the broker was down arrived in order after it came back"
  exit 0
fi

mosquitto -c "$WORK/mosquitto.conf" -d
for _ in $(seq 50); do
  rc=0
  mosquitto_sub -h "$HOST" -p "$PORT" "${SUB_TLS[@]}" -t probe -W 1 -C 1 >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 27 ]] && break  # connected and timed out waiting for a message: broker is up
  sleep 0.1
done

N=4
mosquitto_sub -h "$HOST" -p "$PORT" "${SUB_TLS[@]}" -q 1 -t 'carbonproof/v1/+/+/readings' -C "$N" -W 30 -v \
  > "$WORK/received.txt" &
SUB_PID=$!
sleep 0.5

"$DEVICE_BIN" keygen "$WORK/device.pem" > "$WORK/pub.json"
config() {  # $1 = caFile clause, $2 = timeoutS
  cat <<JSON
{ "deviceId": "kangaita-chimney-1", "facilityId": "ktda-kangaita", "keyFile": "$WORK/device.pem",
  "keyId": "e2e", "dataDir": "$WORK/data", "intervalS": 5, "periodMs": 100, "count": $N, "timeoutS": $2,
  "broker": { "host": "$HOST", "port": $PORT, "backoffMinMs": 200 $1 } }
JSON
}

if [[ "$MODE" == tls ]]; then
  # A broker whose certificate does not chain to the configured CA is refused:
  # nothing is published and the readings stay buffered.
  config ", \"caFile\": \"$WORK/other-ca.pem\"" 3 > "$WORK/untrusted.json"
  rc=0
  "$DEVICE_BIN" run "$WORK/untrusted.json" 2> "$WORK/untrusted.log" || rc=$?
  [[ $rc -eq 3 ]] || { echo "device did not refuse the untrusted broker (exit $rc)"; cat "$WORK/untrusted.log"; exit 1; }
  grep -q "TLS handshake" "$WORK/untrusted.log" || { cat "$WORK/untrusted.log"; exit 1; }
  echo "tls: untrusted broker refused, readings kept in the buffer"
fi

# Same data dir: in tls mode the 4 buffered readings from the refused run are
# delivered first (store and forward), then the new ones.
config "$DEVICE_TLS" 30 > "$WORK/device.json"
"$DEVICE_BIN" run "$WORK/device.json" 2> "$WORK/device.log" || { cat "$WORK/device.log"; exit 1; }
wait "$SUB_PID" || { echo "subscriber did not get $N messages"; cat "$WORK/device.log"; exit 1; }
SUB_PID=""

[[ $(grep -c '^carbonproof/v1/ktda-kangaita/kangaita-chimney-1/readings ' "$WORK/received.txt") -eq $N ]]
cut -d' ' -f2- "$WORK/received.txt" > "$WORK/envelopes.txt"
PUB=$(sed -E 's/.*"publicKey":"(0x04[0-9a-f]+)".*/\1/' "$WORK/pub.json")
"$DEVICE_BIN" verify "$PUB" < "$WORK/envelopes.txt"
# oldest first: seqs 0..N-1 in order
for i in $(seq 0 $((N - 1))); do
  sed -n "$((i + 1))p" "$WORK/envelopes.txt" | grep -q "\"seq\":$i,"
done
echo "e2e ($MODE): $N signed readings crossed mosquitto and verified"

if [[ "$MODE" == tcp ]]; then
  # The meter variant: electricity readings from a second device.
  mosquitto_sub -h "$HOST" -p "$PORT" -q 1 -t 'carbonproof/v1/+/kangaita-meter-1/readings' -C 2 -W 30 \
    > "$WORK/meter.txt" &
  SUB_PID=$!
  sleep 0.5
  "$DEVICE_BIN" keygen "$WORK/meter.pem" > "$WORK/meter-pub.json"
  cat > "$WORK/meter.json" <<JSON
{ "deviceId": "kangaita-meter-1", "facilityId": "ktda-kangaita", "keyFile": "$WORK/meter.pem", "kind": "electricity",
  "dataDir": "$WORK/meter-data", "intervalS": 900, "periodMs": 100, "count": 2, "timeoutS": 30,
  "sim": { "energyWh": 12500, "renewableWh": 3400 }, "broker": { "host": "$HOST", "port": $PORT } }
JSON
  "$DEVICE_BIN" run "$WORK/meter.json" 2> "$WORK/meter.log" || { cat "$WORK/meter.log"; exit 1; }
  wait "$SUB_PID" || { echo "subscriber did not get the meter readings"; cat "$WORK/meter.log"; exit 1; }
  SUB_PID=""
  PUB=$(sed -E 's/.*"publicKey":"(0x04[0-9a-f]+)".*/\1/' "$WORK/meter-pub.json")
  "$DEVICE_BIN" verify "$PUB" < "$WORK/meter.txt"
  [[ $(grep -c '"kind":"electricity","m":{"energyWh":[0-9]*,"renewableWh":3400}' "$WORK/meter.txt") -eq 2 ]]
  echo "e2e ($MODE): 2 signed electricity readings crossed mosquitto and verified"
fi
