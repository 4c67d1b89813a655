#!/usr/bin/env bash
# The directory listing in a real browser (issue 16): headless Chromium
# renders the release http_server's listing of a temporary root and the
# script checks the DOM it built (`--dump-dom`) and keeps a screenshot of
# each case:
#   plain   a mixed directory: order, sizes, escaped names, no dotfiles
#   hidden  the same with --show-hidden: dotfiles listed
#   many    10,001 files: 10,000 rows and "1 more entry left out"
#   upload  with --upload (skipped if this http_server has no such flag):
#           the form, and a curl -F post of its fields to its action
#
#     bash scripts/listing-browser.sh            # OUT=target/listing-browser
#
# Installs Debian's `chromium` with apt-get if it is missing (needs root).
# Screenshots: $OUT/<case>.png; rendered DOMs: $OUT/<case>.html.
set -euo pipefail
cd "$(dirname "$0")/.."

target="${CARGO_TARGET_DIR:-target}"
out="${OUT:-$target/listing-browser}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
command -v python3 >/dev/null || { echo "needs python3" >&2; exit 1; }

cargo build --release --bin http_server
server="$target/release/http_server"

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# start ROOT ARGS...: runs the server on a free port, sets $pid and $url.
start() {
  local root="$1"; shift
  "$server" --root "$root" --addr 127.0.0.1:0 --quiet "$@" >"$work/server.out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    url="$(sed -n 's/^listening on //p' "$work/server.out")"
    [ -n "$url" ] && return 0
    sleep 0.05
  done
  echo "the server did not start:" >&2; cat "$work/server.out" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run \
    --user-data-dir="$(mktemp -d -p "$work")" "$@" 2>/dev/null
}

# shoot CASE URL: the screenshot and the rendered DOM of URL.
shoot() {
  (cd "$out" && chrome --screenshot="$1.png" --window-size=1000,800 "$2" >/dev/null)
  chrome --dump-dom "$2" >"$out/$1.html"
  echo "   $out/$1.png"
}

# check CASE PYTHON: runs PYTHON with `rows` (the (href, text, size title,
# size, time) of each entry row), `text` (the page's text) and `forms` (the
# attributes of each form and of its inputs) taken from the rendered DOM.
check() {
  python3 - "$out/$1.html" "$2" <<'EOF'
import sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.forms, self.text = [], [], []
        self.row = None
        self.cell = None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.row = {"cells": [], "href": None, "class": a.get("class", "")}
        elif tag == "td" and self.row is not None:
            self.cell = {"text": "", "title": a.get("title")}
        elif tag == "a" and self.row is not None and self.row["href"] is None:
            self.row["href"] = a.get("href")
        elif tag == "form":
            self.forms.append(dict(a, inputs=[]))
        elif tag in ("input", "button") and self.forms:
            self.forms[-1]["inputs"].append(dict(a, tag=tag))
    def handle_endtag(self, tag):
        if tag == "td" and self.row is not None and self.cell is not None:
            self.row["cells"].append(self.cell)
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if self.row["href"] is not None:
                c = self.row["cells"]
                self.rows.append((self.row["href"], c[0]["text"], c[1]["title"],
                                  c[1]["text"], c[2]["text"], self.row["class"]))
            self.row = None
    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell["text"] += data

p = Page()
p.feed(open(sys.argv[1], encoding="utf-8").read())
rows, forms, text = p.rows, p.forms, "".join(p.text)
try:
    exec(sys.argv[2])
except AssertionError as e:
    print(f"FAILED: {e}", file=sys.stderr)
    print("rows:", rows[:20], file=sys.stderr)
    sys.exit(1)
EOF
  echo "   $1: DOM checked"
}


# --- plain and hidden: one mixed directory.
root="$work/plain"
mkdir -p "$root/Docs" "$root/src" "$root/.git"
printf 'hello\n' >"$root/readme.txt"
head -c 1536 /dev/zero >"$root/Zeta.bin"
head -c 3000000 /dev/zero >"$root/big.iso"
printf 'x' >"$root/<script>alert(1)"
printf 'y' >"$root/$(printf 'caf\xe9.txt')"
printf 'z' >"$root/a & b.txt"
printf 'secret' >"$root/.env"
ln -s Docs "$root/docs-link"
touch -d '2026-12-01 18:00:00 UTC' "$root/readme.txt"

echo "== plain"
start "$root"
shoot plain "$url/"
check plain '
names = [r[1] for r in rows]
assert names == ["Docs/", "docs-link/", "src/", "<script>alert(1)", "a & b.txt", "big.iso",
                 "caf\\xE9.txt", "readme.txt", "Zeta.bin"], names
by = {r[1]: r for r in rows}
assert by["Zeta.bin"][2:4] == ("1536 bytes", "1.5 KiB"), by["Zeta.bin"]
assert by["big.iso"][3] == "2.9 MiB", by["big.iso"]
assert by["readme.txt"][4] == "2026-12-01 18:00", by["readme.txt"]
assert by["caf\\xE9.txt"][0] == "caf%E9.txt", by["caf\\xE9.txt"]
assert "l" in by["docs-link/"][5].split(), by["docs-link/"]
assert ".env" not in text and not forms
assert "left out" not in text
'
# The link of the name that is not UTF-8 serves that file.
[ "$(curl -s "$url/caf%E9.txt")" = y ] || { echo "caf%E9.txt not served" >&2; exit 1; }
stop

echo "== hidden (--show-hidden)"
start "$root" --show-hidden
shoot hidden "$url/"
check hidden '
names = [r[1] for r in rows]
assert names[:5] == [".git/", "Docs/", "docs-link/", "src/", ".env"], names
'
stop

echo "== many (10,001 entries)"
many="$work/many"
mkdir -p "$many"
(cd "$many" && seq -f 'file-%05g.txt' 0 10000 | xargs touch)
start "$many"
shoot many "$url/"
check many '
assert len(rows) == 10000, len(rows)
assert rows[0][1] == "file-00000.txt" and rows[-1][1] == "file-09999.txt", (rows[0], rows[-1])
assert "1 more entry left out: a listing shows at most 10000 entries." in text, text[-300:]
'
stop

echo "== upload (--upload)"
if "$server" --help | grep -q -- '--upload'; then
  up="$work/up"
  mkdir -p "$up"
  start "$up" --upload
  shoot upload "$url/"
  check upload '
assert len(forms) == 1, forms
f = forms[0]
assert f["method"] == "post" and f["enctype"] == "multipart/form-data", f
assert f["action"] == "/", f
i = [x for x in f["inputs"] if x["tag"] == "input"][0]
assert i["type"] == "file" and i["name"] == "file" and "multiple" in i, i
'
  # What the browser would post: the form's field, to its action.
  printf 'uploaded\n' >"$work/hello.txt"
  curl -s -o /dev/null -w '   POST %{http_code}\n' -F "file=@$work/hello.txt" "$url/"
  [ "$(curl -s "$url/hello.txt")" = uploaded ] || { echo "upload not stored" >&2; exit 1; }
  stop
else
  echo "   skipped: this http_server has no --upload"
fi

echo "== listing-browser passed; screenshots in $out"
