#!/usr/bin/env bash
# Installs the Debian packages lilac's tests drive for real: Chromium for the
# browser tests, nix-bin for building inside real Nix, diffoscope-minimal for
# what builders send about differing copies. Run by `npm test` and `npm run bench`.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nix-build >/dev/null 2>&1 || missing+=(nix-bin)
command -v diffoscope >/dev/null 2>&1 || missing+=(diffoscope-minimal)
command -v go >/dev/null 2>&1 || { [ -n "${MONGODB_URI:-}" ] || missing+=(golang-go); }

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages the tests and benchmarks need: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

cat >&2 <<MSG
The tests and benchmarks need these programs, which are missing: ${missing[*]}
On Debian or Ubuntu, as root:  apt-get install chromium nix-bin diffoscope-minimal golang-go
Elsewhere: install Chromium at /usr/bin/chromium (or set LILAC_CHROMIUM), Nix 2.8 or newer, diffoscope,
and Go 1.22 or newer (or set MONGODB_URI to a MongoDB server instead of the embedded store).
MSG
exit 1
