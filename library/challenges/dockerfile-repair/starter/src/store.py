import json
import os
import threading


class NoteStore:
    def __init__(self, path):
        os.makedirs(path, exist_ok=True)
        self.file = os.path.join(path, "notes.jsonl")
        open(self.file, "a").close()  # PermissionError here if not writable
        self.lock = threading.Lock()

    def add(self, text):
        with self.lock, open(self.file, "a") as f:
            note = {"id": self.count() + 1, "text": text}
            f.write(json.dumps(note) + "\n")
            return note

    def all(self):
        with open(self.file) as f:
            return [json.loads(line) for line in f if line.strip()]

    def count(self):
        return len(self.all())
