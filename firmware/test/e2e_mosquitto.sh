#!/usr/bin/env bash
# End to end on a real broker: starts Debian's mosquitto on 127.0.0.1 at a
# random high port, runs the host-built device (cp-device) for a few readings,
# captures them with mosquitto_sub and verifies every envelope (canonical
# re-encoding + P-256 low-s signature) with cp-device verify.
set -euo pipefail
DEVICE_BIN="$1"
command -v mosquitto >/dev/null || { echo "mosquitto not installed (apt-get install mosquitto mosquitto-clients)"; exit 1; }
WORK="$(mktemp -d /tmp/cp-fw-e2e-XXXXXX)"
PORT=$(( 20000 + RANDOM % 30000 ))
cleanup() {
  [[ -n "${SUB_PID:-}" ]] && kill "$SUB_PID" 2>/dev/null || true
  [[ -f "$WORK/mosquitto.pid" ]] && kill "$(cat "$WORK/mosquitto.pid")" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cat > "$WORK/mosquitto.conf" <<CONF
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
user $(id -un)
pid_file $WORK/mosquitto.pid
log_dest file $WORK/mosquitto.log
CONF
mosquitto -c "$WORK/mosquitto.conf" -d
for _ in $(seq 50); do
  mosquitto_sub -h 127.0.0.1 -p "$PORT" -t probe -W 1 -C 1 >/dev/null 2>&1 && break
  [[ $? -eq 27 ]] && break  # timed out waiting for a message: broker is up
  sleep 0.1
done

N=4
mosquitto_sub -h 127.0.0.1 -p "$PORT" -q 1 -t 'carbonproof/v1/+/+/readings' -C "$N" -W 30 -v > "$WORK/received.txt" &
SUB_PID=$!
sleep 0.5

"$DEVICE_BIN" keygen "$WORK/device.pem" > "$WORK/pub.json"
cat > "$WORK/device.json" <<JSON
{ "deviceId": "kangaita-chimney-1", "facilityId": "ktda-kangaita", "keyFile": "$WORK/device.pem",
  "keyId": "e2e", "dataDir": "$WORK/data", "intervalS": 5, "periodMs": 100, "count": $N, "timeoutS": 30,
  "broker": { "host": "127.0.0.1", "port": $PORT } }
JSON
"$DEVICE_BIN" run "$WORK/device.json" 2> "$WORK/device.log" || { cat "$WORK/device.log"; exit 1; }
wait "$SUB_PID" || { echo "subscriber did not get $N messages"; cat "$WORK/device.log"; exit 1; }
SUB_PID=""

grep -c '^carbonproof/v1/ktda-kangaita/kangaita-chimney-1/readings ' "$WORK/received.txt" | grep -qx "$N"
cut -d' ' -f2- "$WORK/received.txt" > "$WORK/envelopes.txt"
PUB=$(sed -E 's/.*"publicKey":"(0x04[0-9a-f]+)".*/\1/' "$WORK/pub.json")
"$DEVICE_BIN" verify "$PUB" < "$WORK/envelopes.txt"
# seqs 0..N-1 in order
for i in $(seq 0 $((N - 1))); do
  sed -n "$((i + 1))p" "$WORK/envelopes.txt" | grep -q "\"seq\":$i,"
done
echo "e2e: $N signed readings crossed mosquitto and verified"
