#!/usr/bin/env python3
"""Reads REDbot's HAR output (redbot -o har URL) on stdin and prints its notes counted by
level, then the BAD and WARN ones by id: `bad 0 warn 1 info 3 good 9 | WARN:CL_MISSING`."""
import collections
import json
import sys

try:
    har = json.load(sys.stdin)
except ValueError:
    print("REDbot gave no HAR (did the request fail?)")
    sys.exit(0)
counts = collections.Counter()
flagged = []
for entry in har["log"]["entries"]:
    for note in entry.get("_red_messages", []):
        level = note["level"].upper()
        counts[level] += 1
        if level in ("BAD", "WARN"):
            flagged.append(f"{level}:{note['note_id']}")
levels = " ".join(f"{name.lower()} {counts.get(name, 0)}" for name in ("BAD", "WARN", "INFO", "GOOD"))
print(levels + (" | " + " ".join(sorted(set(flagged))) if flagged else ""))
