#!/usr/bin/env python3
"""Prints one line per section of a HINT checkpoint file: name, size, sha256.

Used by runtime.sh to compare two checkpoints section by section (the
learner's counters carry wall time, so tests compare the other sections).
The layout is common/core/ckpt.c's: a 40-byte header, then n 56-byte table
entries (name[32], offset, size, checksum)."""
import hashlib
import struct
import sys

data = open(sys.argv[1], "rb").read()
magic, version, n = data[:8], *struct.unpack_from("<II", data, 8)
if magic != b"HINTCKPT":
    sys.exit(f"{sys.argv[1]}: not a checkpoint")
skip = set(sys.argv[2:])
for i in range(n):
    name, off, size, _ = struct.unpack_from("<32sQQQ", data, 40 + 56 * i)
    name = name.rstrip(b"\0").decode()
    if name in skip:
        continue
    print(name, size, hashlib.sha256(data[off:off + size]).hexdigest())
