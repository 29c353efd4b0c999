# Shared by the scripts: install what is missing, find tools. Source it; it changes nothing by itself.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUF="$ROOT/tools/node_modules/.bin/buf"

log() { printf '==> %s\n' "$*" >&2; }

# Installs Debian packages (as root, or with sudo).
apt_install() {
  log "installing $*"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# Installs Debian packages whose command is missing: ensure_packages redis-server:redis-server qemu-img:qemu-utils
ensure_packages() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_install "${missing[@]}"
}

# Debian packages that bring no command of their own (fonts): installed when dpkg does not know them.
ensure_debs() {
  local pkg missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt_install "${missing[@]}"
}

# buf, pinned in tools/package-lock.json.
ensure_buf() {
  if [ ! -x "$BUF" ]; then
    log "installing buf (npm ci in tools/)"
    (cd "$ROOT/tools" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
}
