#!/usr/bin/env bash
# Install Debian's Chromium and ChromeDriver for the browser test, if they are missing.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "forecast: Chromium is missing and cannot be installed here (needs root and apt-get); the browser test will be skipped" >&2
  exit 0
fi
echo "forecast: installing chromium and chromium-driver (Debian packages) for the browser test" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >&2
