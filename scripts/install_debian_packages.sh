#!/usr/bin/env bash
# Install the Debian packages spec2prod needs on the machine, each only when its program is missing.
#
# Usage: install_debian_packages.sh PROGRAM=PACKAGE [PROGRAM=PACKAGE ...]
#   e.g. bwrap=bubblewrap (the sandbox for code under test), chromium=chromium (the UI tests' browser).
#   A PROGRAM with a '/' is a path glob instead, for binaries Debian keeps off PATH: it is present when
#   the glob matches an executable file, e.g. '/usr/lib/postgresql/*/bin/postgres=postgresql' (quote it).
# Idempotent and silent when every program is already there, so `make` can run it every time. Without
# root or apt-get it installs nothing and says what to install: the code that needs the program then
# stops (the sandbox, naming SPEC2PROD_SANDBOX=off) or its tests skip, unless CI requires it.
set -euo pipefail

# True when PROGRAM is on PATH or, for a PROGRAM with a '/', when its glob matches an executable file.
present() {
    local program="$1" match IFS=
    if [[ "$program" != */* ]]; then
        command -v "$program" >/dev/null 2>&1
        return
    fi
    # Unquoted on purpose so the glob expands (IFS is empty: no word splitting); with no match it stays
    # literal and fails -f.
    for match in $program; do
        if [[ -f "$match" && -x "$match" ]]; then
            return 0
        fi
    done
    return 1
}

missing=()
for pair in "$@"; do
    program="${pair%%=*}"
    package="${pair#*=}"
    if ! present "$program"; then
        missing+=("$package")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ "$(id -u)" != "0" ]]; then
    echo "install_debian_packages: skipped, not root; run 'sudo apt-get install ${missing[*]}'" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_debian_packages: skipped, no apt-get here; install ${missing[*]} yourself" >&2
    exit 0
fi

echo "install_debian_packages: installing ${missing[*]} (Debian packages)"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=300 update -qq
apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
