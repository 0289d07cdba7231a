check() { sbx-cat "$1" >/dev/null; }
