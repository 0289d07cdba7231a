"""notes API: POST /notes stores a note, GET /notes lists them, GET /healthz."""
import http.server
import json
import os

from store import NoteStore

DATA_DIR = os.environ.get("NOTES_DATA_DIR", "/var/lib/notes")
store = NoteStore(DATA_DIR)  # fails at start when DATA_DIR is not writable


class Handler(http.server.BaseHTTPRequestHandler):
    def _send(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthz":
            self._send(200, {"status": "ok", "notes": store.count()})
        elif self.path == "/notes":
            self._send(200, store.all())
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self):
        if self.path != "/notes":
            return self._send(404, {"error": "not found"})
        n = int(self.headers.get("Content-Length", 0))
        self._send(201, store.add(self.rfile.read(n).decode()))


if __name__ == "__main__":
    print(f"notes API on :8000, data in {DATA_DIR}, uid {os.getuid()}", flush=True)
    http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
