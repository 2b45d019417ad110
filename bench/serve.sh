# Sourced by the bench scripts: `start_server BIN [SERVE_ARGS...]` starts `BIN serve` on a free
# port of 127.0.0.1, logging to $WORK/serve.log, and sets SERVER (its pid) and URL (its base
# URL, without the trailing slash) once it listens; exits showing the log if it never does.
start_server() {
  local bin="$1"
  shift
  "$bin" serve --port 0 "$@" >"$WORK/serve.log" 2>&1 &
  SERVER=$!
  URL=""
  for _ in $(seq 100); do
    URL="$(grep -o 'http://[^ ]*' "$WORK/serve.log" | head -1 || true)"
    [ -n "$URL" ] && break
    sleep 0.1
  done
  [ -n "$URL" ] || { cat "$WORK/serve.log"; exit 1; }
  URL="${URL%/}"
}
