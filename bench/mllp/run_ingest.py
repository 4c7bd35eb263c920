#!/usr/bin/python3
"""MLLP ingest benchmark: junction serve (durable) vs python-hl7 and node-hl7-server.

The same load generator (`junction send --repeat N --concurrency C`) drives all
three servers on 127.0.0.1 with the same ~2 KB ORU^R01:
  junction      `junction serve`, ack after-store: every ACK waits for COMMIT + fsync
  python-hl7    hl7.mllp.start_hl7_server (Debian python3-hl7), ACKs without storing
  node-hl7      node-hl7-server (npm), ACKs without storing
Prints messages/s and p50/p99 latency side by side (median of RUNS runs), the
ratios, and junction's peak RSS (VmHWM). Called by bench/mllp-ingest.sh.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def log(text):
    print(text, file=sys.stderr, flush=True)


class Server:
    """A server process that prints its port on stdout, stopped with SIGTERM."""

    def __init__(self, name, argv, port_pattern, cwd=None, env=None):
        self.name = name
        self.argv = argv
        self.port_pattern = re.compile(port_pattern)
        self.cwd = cwd
        self.env = env
        self.proc = None
        self.port = None
        self.output = []

    def start(self, timeout=60):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.cwd, env=self.env)
        deadline = time.monotonic() + timeout
        os.set_blocking(self.proc.stdout.fileno(), True)
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            text = line.decode("utf-8", "replace").rstrip()
            self.output.append(text)
            m = self.port_pattern.search(text)
            if m:
                self.port = int(m.group(1))
            if self.port and (self.name != "junction" or text == "junction: ready"):
                # Keep reading so a chatty server never blocks on a full pipe.
                threading.Thread(target=self._drain, daemon=True).start()
                return self
        raise RuntimeError("%s did not start:\n%s" % (self.name, "\n".join(self.output[-20:])))

    def _drain(self):
        for line in self.proc.stdout:
            self.output.append(line.decode("utf-8", "replace").rstrip())

    def peak_rss_kib(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


NUMBER = r"([0-9]+(?:\.[0-9]+)?)"


def parse_send_output(text):
    """messages/s and latencies (ms) from `junction send --repeat` output."""
    def grab(patterns):
        for p in patterns:
            m = re.search(p, text, re.I)
            if m:
                return float(m.group(1))
        return None

    result = {
        "rate": grab([NUMBER + r"\s*(?:msg|messages)/s", r"throughput[^0-9]*" + NUMBER]),
        "p50": grab([r"p50[^0-9]*" + NUMBER]),
        "p90": grab([r"p90[^0-9]*" + NUMBER]),
        "p99": grab([r"p99[^0-9]*" + NUMBER]),
        "max": grab([r"max[^0-9]*" + NUMBER]),
    }
    # Latencies are printed in ms; convert if the tool says µs/us.
    if re.search(r"p50[^0-9]*[0-9.]+\s*(?:us|µs)", text):
        for k in ("p50", "p90", "p99", "max"):
            if result[k] is not None:
                result[k] /= 1000.0
    return result


def run_load(junction, port, message, repeat, concurrency, timeout):
    argv = [junction, "send", "127.0.0.1:%d" % port, message, "--repeat", str(repeat),
            "--concurrency", str(concurrency), "--timeout", "30"]
    started = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - started
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(argv), proc.returncode, text[-3000:]))
    result = parse_send_output(text)
    if result["rate"] is None:
        result["rate"] = repeat / wall
    result["raw"] = text.strip()
    return result


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "-"
    return ("{:,.%df}" % digits).format(value)


def write_junction_config(workdir, store):
    path = os.path.join(workdir, "junction.yaml")
    with open(path, "w") as f:
        f.write("""\
log: { level: warn }
server: { io_threads: 2 }
store: { sqlite: %s, max_batch: 512, max_delay_us: 0, detect_duplicates: false }
channels:
  - name: inbound
    source:
      mllp:
        listen: 127.0.0.1:0
        ack: after-store
        validate: false
        max_connections: 256
""" % store)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--junction", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--message", default=os.path.join(HERE, "oru_r01_2k.hl7"))
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--repeat", type=int, default=20000, help="messages per run")
    parser.add_argument("--node-per-connection", type=int, default=100,
                        help="cap on messages per connection for node-hl7-server, whose "
                        "per-connection buffer is never reset (cost grows with every message; "
                        "see docs/performance-mllp.md); 0 = no cap")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--servers", default="junction,python-hl7,node-hl7")
    parser.add_argument("--markdown", help="also write the table here")
    args = parser.parse_args()

    levels = [int(c) for c in args.concurrency.split(",")]
    servers = args.servers.split(",")
    os.makedirs(args.workdir, exist_ok=True)
    results = {}  # (server, concurrency) -> dict
    peak_rss = {}

    for name in servers:
        for c in levels:
            repeat = args.repeat
            if name == "node-hl7" and args.node_per_connection:
                repeat = min(repeat, args.node_per_connection * c)
            runs = []
            for run in range(args.runs):
                if name == "junction":
                    # A fresh durable store on disk for every run.
                    store_dir = os.path.join(args.workdir, "store-c%d-r%d" % (c, run))
                    subprocess.run(["rm", "-rf", store_dir], check=True)
                    os.makedirs(store_dir)
                    config = write_junction_config(args.workdir,
                                                   os.path.join(store_dir, "junction.db"))
                    server = Server(name, [args.junction, "serve", "--config", config],
                                    r"junction: listening mllp \S+ \S+:(\d+)")
                elif name == "python-hl7":
                    server = Server(name, ["/usr/bin/python3", os.path.join(HERE,
                                                                            "py_ack_server.py")],
                                    r"listening (\d+)")
                else:
                    server = Server(name, ["node", os.path.join(HERE, "node_ack_server.js")],
                                    r"listening (\d+)")
                server.start()
                try:
                    r = run_load(args.junction, server.port, args.message, repeat, c,
                                 timeout=1800)
                    if name == "junction":
                        r["rss_mib"] = (server.peak_rss_kib() or 0) / 1024.0
                finally:
                    server.stop()
                log("%-10s c=%-3d run %d: %s msg/s  p50 %s ms  p99 %s ms%s" % (
                    name, c, run + 1, fmt(r["rate"]), fmt(r["p50"], 2), fmt(r["p99"], 2),
                    ("  peak RSS %.0f MiB" % r["rss_mib"]) if "rss_mib" in r else ""))
                runs.append(r)
            results[(name, c)] = {
                "rate": median([r["rate"] for r in runs]),
                "p50": median([r["p50"] for r in runs]),
                "p99": median([r["p99"] for r in runs]),
                "repeat": repeat,
            }
            if name == "junction":
                peak_rss[c] = max(r["rss_mib"] for r in runs)

    # Side by side.
    header = ["conns"]
    for name in servers:
        header += ["%s msg/s" % name, "p50 ms", "p99 ms"]
    others = [s for s in servers if s != "junction"]
    if "junction" in servers:
        header += ["junction/%s" % s for s in others] + ["junction peak RSS MiB"]
    rows = []
    for c in levels:
        row = [str(c)]
        for name in servers:
            r = results[(name, c)]
            row += [fmt(r["rate"]), fmt(r["p50"], 2), fmt(r["p99"], 2)]
        if "junction" in servers:
            j = results[("junction", c)]["rate"]
            for s in others:
                o = results[(s, c)]["rate"]
                row.append("%.2fx" % (j / o) if j and o else "-")
            row.append("%.0f" % peak_rss[c])
        rows.append(row)

    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths)))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("| " + " | ".join(header) + " |\n")
            f.write("|" + "|".join(" ---: " for _ in header) + "|\n")
            for r in rows:
                f.write("| " + " | ".join(r) + " |\n")
        log("table written to %s" % args.markdown)


if __name__ == "__main__":
    main()
