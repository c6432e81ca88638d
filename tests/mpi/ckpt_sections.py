#!/usr/bin/env python3
"""Prints one line per section of a HINT checkpoint file: name, size, sha256.

  ckpt_sections.py FILE [SKIP_SECTION]...   the sections, minus those named
  ckpt_sections.py --counters FILE          the counters section decoded,
                                            one name=value per line

Used by runtime.sh and faults.sh to compare two checkpoints section by section
(the learner's counters carry wall time, so tests compare the other sections)
and to check that a resumed run's counters continue the checkpoint's. The
layout is common/core/ckpt.c's: a 40-byte header, then n 56-byte table
entries (name[32], offset, size, checksum). The counters are learner.c's
learner_counters_t and runtime.h's actor_counters_t; a size that matches
neither is an error (a changed struct must be changed here too)."""
import hashlib
import struct
import sys

LEARNER = ("env_steps env_steps_student env_steps_teacher segments dropped_lag lag_sum "
           "teacher_version teacher_updates teacher_samples round eval_id next_eval_steps "
           "ckpt_id").split()
ACTOR = "seq env_steps policy_version teacher_version updates checksums_ok".split()

counters = sys.argv[1] == "--counters"
path = sys.argv[2] if counters else sys.argv[1]
data = open(path, "rb").read()
magic, version, n = data[:8], *struct.unpack_from("<II", data, 8)
if magic != b"HINTCKPT":
    sys.exit(f"{path}: not a checkpoint")
skip = set(sys.argv[2:]) if not counters else set()
for i in range(n):
    name, off, size, _ = struct.unpack_from("<32sQQQ", data, 40 + 56 * i)
    name = name.rstrip(b"\0").decode()
    if counters:
        if name != "counters":
            continue
        raw = data[off:off + size]
        if size == 8 * len(LEARNER) + 8:
            values = struct.unpack(f"<{len(LEARNER)}Qd", raw)
            names = LEARNER + ["train_wall_s"]
        elif size == 8 * len(ACTOR):
            values, names = struct.unpack(f"<{len(ACTOR)}Q", raw), ACTOR
        else:
            sys.exit(f"{path}: counters section of {size} bytes matches no known layout")
        for k, v in zip(names, values):
            print(f"{k}={v}")
        sys.exit(0)
    if name in skip:
        continue
    print(name, size, hashlib.sha256(data[off:off + size]).hexdigest())
if counters:
    sys.exit(f"{path}: no counters section")
