#!/usr/bin/env python3
"""Runs a command and prints "WALL_SECONDS CPU_SECONDS" (user + system of the child)
on the last line of stderr, after the command's own stderr. Used by the benchmark
scripts: on a shared, loaded machine CPU time is the steadier measure, and both
are reported.

    cpu-time.py CMD [ARGS...]
"""
import resource
import subprocess
import sys
import time

start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.6f %.6f" % (wall, usage.ru_utime + usage.ru_stime), file=sys.stderr)
sys.exit(proc.returncode)
