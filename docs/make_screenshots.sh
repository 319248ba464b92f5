#!/bin/sh
# Remake the README's screenshots from the preview of the first deck (needs Debian's chromium).
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp -d)
.venv/bin/deckgen preview -o "$out" >/dev/null
shoot() {  # name width height view
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --user-data-dir="$out/profile-$1" --hide-scrollbars --window-size="$2,$3" \
    --screenshot="docs/screenshots/$1.png" "file://$out/llm-interview-preview.html#$4" 2>/dev/null
}
shoot light 1100 900 "q=LoRA%20原理"
shoot night 1100 900 "night&q=LoRA%20原理"
shoot phone 375 1100 "night&phone&q=LoRA%20原理"
rm -rf "$out"
