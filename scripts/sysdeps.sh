#!/usr/bin/env bash
# Install the Debian packages the project needs when they are missing (as root, or through sudo).
# Usage: scripts/sysdeps.sh PACKAGE...   Never fails the build by itself: it says what is missing.
set -uo pipefail
missing=()
for pkg in "$@"; do
  # A command of that name already on PATH counts (npm ships inside NodeSource's nodejs package,
  # whose nodejs conflicts with Debian's npm package).
  case "$pkg" in npm|chromium) command -v "$pkg" >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "sysdeps: please install: ${missing[*]} (no apt-get here)" >&2; exit 0
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo -n"
echo "sysdeps: installing ${missing[*]}"
if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/tmp/notifier-apt.log 2>&1; then
  $sudo apt-get update -q >/dev/null 2>&1
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/tmp/notifier-apt.log 2>&1 \
    || echo "sysdeps: could not install ${missing[*]} (see /tmp/notifier-apt.log)" >&2
fi
exit 0
