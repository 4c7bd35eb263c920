#!/usr/bin/env python3
"""Times python-hl7 on an HL7 file the way its users read one: hl7.split_file()
then hl7.parse() of every message. Prints one line (see below).

    python_hl7_parse.py FILE [MAX_MB]

With MAX_MB, only the first MAX_MB megabytes (10^6 bytes) are used, cut back to
the last message boundary so no message is truncated. The time covers reading,
decoding, splitting and parsing (not interpreter start-up). Prints: bytes,
messages, wall seconds, CPU seconds, MB/s by wall time, MB/s by CPU time.
"""
import sys
import time

import hl7


def main():
    path = sys.argv[1]
    max_bytes = int(float(sys.argv[2]) * 1e6) if len(sys.argv) > 2 else None
    start = time.perf_counter()
    cpu_start = time.process_time()
    with open(path, "rb") as f:
        data = f.read(max_bytes) if max_bytes else f.read()
    if max_bytes and len(data) == max_bytes:
        cut = data.rfind(b"\rMSH|")
        if cut > 0:
            data = data[:cut + 1]
    text = data.decode("utf-8")
    messages = hl7.split_file(text)
    for m in messages:
        hl7.parse(m)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    mb = len(data) / 1e6
    print("%d %d %.6f %.6f %.3f %.3f" % (len(data), len(messages), elapsed, cpu, mb / elapsed, mb / cpu))


if __name__ == "__main__":
    main()
