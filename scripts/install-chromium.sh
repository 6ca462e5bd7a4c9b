#!/usr/bin/env bash
# Installs the browser of the administrator page's tests (test/web/profile-page.test.ts): Debian's chromium
# package at /usr/bin/chromium, driven there by playwright-core (which never downloads a browser of its own).
# Idempotent and quiet: a machine that has it returns at once. Needs root (or sudo) and Debian's archive; .ci/run
# calls it before `npm test`, where the browser tests are mandatory (they skip without it, and fail when CI=true).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-chromium: not root and no sudo: install Debian's chromium package by hand" >&2; exit 1; }
  SUDO="sudo"
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: refresh them once, then install. Without the
# recommended packages (a desktop's: cups, avahi, upower…), but with fonts, so that text has glyphs to measure.
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-liberation; } >"$log" 2>&1; then
  echo "install-chromium: apt-get could not install chromium:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
[ -x /usr/bin/chromium ] || { echo "install-chromium: chromium installed, but /usr/bin/chromium is missing" >&2; exit 1; }
echo "install-chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n 1)"
