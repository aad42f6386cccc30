#!/usr/bin/env bash
# Install the headless browser the UI tests drive: Debian's `chromium` and `chromium-driver`.
#
# Playwright's Python package drives this system binary (never `playwright install`, which downloads a
# browser build of its own). Idempotent and silent when both are already there, so `make test` can run
# it every time. Without root and without the packages it installs nothing and says so: the browser
# test then skips itself with the same message.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
DRIVER=/usr/bin/chromedriver

if [[ -x "$CHROMIUM" && -x "$DRIVER" ]]; then
    exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
    echo "install_chromium: skipped, not root and $CHROMIUM or $DRIVER is missing;" >&2
    echo "  run 'sudo apt-get install chromium chromium-driver' to enable the browser tests" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_chromium: skipped, no apt-get here; install chromium and chromium-driver yourself" >&2
    exit 0
fi

echo "install_chromium: installing chromium and chromium-driver (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
"$CHROMIUM" --version
