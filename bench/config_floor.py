#!/usr/bin/env python3
"""The durable floor of a config migration, for bench/config.sh: what any
tool must at least do to rename keys in many YAML files without losing
anything to a crash. For each file: read it, rename the keys as text, write
its original into a record folder and fsync it, write the new text beside
the file and fsync it, rename it over the file; then fsync each folder once.
The same fsyncs and renames as `ferry config migrate`, with none of its
parsing, checking, diffing or journaling.

  config_floor.py FOLDER RECORD_FOLDER OLD=NEW [OLD=NEW ...]   # apply
  config_floor.py --restore FOLDER RECORD_FOLDER               # put originals back (not timed)
"""
import os
import re
import sys


def write_synced(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def files(folder):
    out = [os.path.join(folder, "config.yaml")]
    prof = os.path.join(folder, "profiles")
    out += sorted(os.path.join(prof, f) for f in os.listdir(prof) if f.endswith(".yaml"))
    return out


def main():
    if sys.argv[1] == "--restore":
        folder, record = sys.argv[2], sys.argv[3]
        for i, path in enumerate(files(folder)):
            saved = os.path.join(record, str(i))
            if not os.path.exists(saved):
                continue
            with open(saved, "rb") as f:
                data = f.read()
            with open(path, "wb") as f:
                f.write(data)
        return
    folder, record = sys.argv[1], sys.argv[2]
    renames = [a.split("=", 1) for a in sys.argv[3:]]
    patterns = [(re.compile(rb"^(\s*)" + re.escape(old.encode()) + rb":", re.M), new.encode()) for old, new in renames]
    os.makedirs(record, exist_ok=True)
    dirs = {record}
    for i, path in enumerate(files(folder)):
        with open(path, "rb") as f:
            before = f.read()
        after = before
        for pattern, new in patterns:
            after = pattern.sub(lambda m: m.group(1) + new + b":", after)
        if after == before:
            continue
        write_synced(os.path.join(record, str(i)), before)
        tmp = path + ".tmp"
        write_synced(tmp, after)
        os.rename(tmp, path)
        dirs.add(os.path.dirname(path))
    for d in dirs:
        fsync_dir(d)


if __name__ == "__main__":
    main()
