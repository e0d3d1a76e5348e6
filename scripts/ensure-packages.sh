#!/bin/sh
# Installs the Debian packages given as arguments that are not installed yet; as non-root, prints
# the one command that would.
missing=""
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null || { echo "apt-get update failed" >&2; exit 1; }
  apt-get install -y -q --no-install-recommends $missing >/dev/null || {
    echo "apt-get install failed for:$missing" >&2; exit 1; }
else
  echo "missing Debian packages:$missing" >&2
  echo "run: sudo apt-get install -y$missing" >&2
  exit 1
fi
