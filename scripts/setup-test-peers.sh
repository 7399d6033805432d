#!/usr/bin/env bash
# Installs, when missing, the real peers Beacon's tests run against:
# Mosquitto, pymodbus (Debian's python3-pymodbus, used with /usr/bin/python3),
# InfluxDB 1.8 (built from source with go install), headless Chromium, and
# espeak-ng (the PA's offline text-to-speech).
# Safe to run again: each step is skipped when its tool is already there.
# Without root (a developer laptop) it only reports what is missing; the
# tests that need a missing peer then skip, except under CI=true.
set -euo pipefail

log() { printf 'setup-test-peers: %s\n' "$*"; }

gobin="$(go env GOPATH)/bin"
apt_pkgs=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || apt_pkgs+=(mosquitto)
/usr/bin/python3 -c 'import pymodbus' >/dev/null 2>&1 || apt_pkgs+=(python3-pymodbus)
# pymodbus's server and client modules import serial_asyncio even for TCP.
/usr/bin/python3 -c 'import serial_asyncio' >/dev/null 2>&1 || apt_pkgs+=(python3-serial-asyncio)
command -v chromium >/dev/null 2>&1 || apt_pkgs+=(chromium chromium-driver)
# A CJK font, so that the pages' Chinese labels are legible in screenshots.
fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk" || apt_pkgs+=(fonts-wqy-zenhei)
# Offline text-to-speech for PA announcements given as text.
command -v espeak-ng >/dev/null 2>&1 || apt_pkgs+=(espeak-ng)

if [ ${#apt_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${apt_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${apt_pkgs[@]}" >/dev/null
    # The Debian package starts a system-wide broker; tests start their own.
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now mosquitto >/dev/null 2>&1 || true; fi
  else
    log "missing (not root, not installing): ${apt_pkgs[*]}"
  fi
fi

if ! command -v influxd >/dev/null 2>&1 && [ ! -x "$gobin/influxd" ]; then
  log "building influxd v1.8.10 (about a minute)"
  # InfluxDB 1.8 pins its own dependencies; build it outside this module.
  (cd "$(mktemp -d)" && GOFLAGS= go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10)
fi

log "peers: mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto) influxd=$(command -v influxd || echo "$gobin/influxd") pymodbus=$(/usr/bin/python3 -c 'import pymodbus; print(pymodbus.__version__)' 2>/dev/null || echo missing) chromium=$(command -v chromium || echo missing)"
