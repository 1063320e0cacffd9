#!/usr/bin/env bash
# Installs everything Kyosei needs on a fresh machine; safe to run again (each step checks first).
#  1. system packages (Debian): Chromium for browser tests, a Japanese font so pages and PDFs show kanji
#  2. a Python virtualenv in .venv with the project and its dev tools
#  3. front-end assets from the npm registry (htmx, pinned by ui/package-lock.json)
#  4. the Keycloak server distribution (Maven Central) into the user cache
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[bootstrap] %s\n' "$*"; }

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
fc-list 2>/dev/null | grep -qi 'Noto Sans CJK' || need_apt+=(fonts-noto-cjk)
fc-list 2>/dev/null | grep -qi 'IPAexGothic' || need_apt+=(fonts-ipaexfont-gothic)  # TrueType, for printed documents
command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)  # tests render printed forms to PNG
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "apt-get install ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    log "missing system packages: ${need_apt[*]} (run as root or install them: sudo apt-get install ${need_apt[*]})"
  fi
fi

PY=${PY:-python3}
if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PY --version)"
  $PY -m venv .venv
fi
log "pip install -e .[dev]"
.venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'

log "npm ci (ui/)"
(cd ui && npm ci --no-audit --no-fund --loglevel=error)
mkdir -p ui/static/vendor
cp ui/node_modules/htmx.org/dist/htmx.min.js ui/static/vendor/htmx.min.js

log "Keycloak distribution"
.venv/bin/python -m infra.keycloak.fetch
log "done"
