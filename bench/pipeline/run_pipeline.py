#!/usr/bin/python3
"""Channel pipeline benchmark (not a test); called by bench/pipeline.sh.

The pipeline under test (one `junction serve`, durable at every hop):
  MLLP source (ack after-store: the ACK waits for COMMIT + fsync)
  -> channel filter (MSH-9.1 in [ORU] and not PID-3.1 == TEST)
  -> set MSH-5, copy PID-3.1 -> PID-2.1, map PID-8 through a table
  -> one Lua step (msg:set / msg:get)
  -> two MLLP destinations, --ordering strict (default here) or best-effort (bench/pipeline.sh
     passes best-effort unless ORDERING is set; each a durable queue in the store).
Load: `junction send --repeat N --concurrency C` with the ~2 KB ORU^R01 of
bench/mllp. Receivers: one process per destination that ACKs at once, so the
receivers are not what is measured: pipeline_ack_receiver (C++, built from
bench/pipeline/ack_receiver.cpp; --receiver BINARY) or, with --receiver python,
bench/pipeline/ack_receiver.py (asyncio, several times the CPU per message).

Throughput runs (RUNS, median): end-to-end msg/s = N / (last delivery sent -
first message received), from the store's timestamps; ingest msg/s as the
client saw it; per-hop latency percentiles:
  ingest -> processed   deliveries.created_at - messages.received_at
  processed -> sent     deliveries.updated_at - deliveries.created_at (per destination)
  ingest -> all sent    messages.updated_at - messages.received_at
Backlog runs: destination B points at a port nobody listens on; after N
messages are queued for it, the engine's RSS (VmRSS, VmHWM) and the store size
are read; then B comes up and the drain rate is measured.
"""

import argparse
import os
import resource
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench", "mllp"))
from run_ingest import Server, fmt, median, parse_send_output  # noqa: E402

DONE_STATES = "('sent','error','filtered','processed')"


def log(text):
    print(text, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RECEIVER = ["python"]  # set by main(): "python" or the C++ receiver's path
WINDOW = [None]        # mllp window of both destinations (None: the engine's default)
ORDERING = ["strict"]  # ordering of both destinations: strict or best-effort


def write_config(workdir, store, port_a, port_b, b_backoff="100ms..1s"):
    path = os.path.join(workdir, "junction.yaml")
    window = "" if WINDOW[0] is None else ", window: %d" % WINDOW[0]
    lua = 'msg:set("MSH-6", "BENCH-" .. msg:get("MSH-4"))'
    with open(path, "w") as f:
        f.write("""\
log: { level: warn }
server: { io_threads: 2, pid_file: %(store)s.pid }
store: { sqlite: %(store)s, max_batch: 512, max_delay_us: 0 }
tables:
  sex: { M: male, F: female, "*": unknown }
channels:
  - name: pipeline
    source:
      mllp: { listen: 127.0.0.1:0, ack: after-store }
    filter:
      all:
        - { path: MSH-9.1, in: [ORU] }
        - not: { path: PID-3.1, equals: TEST }
    transform:
      - set:  { path: MSH-5, value: EHR }
      - copy: { from: PID-3.1, to: PID-2.1 }
      - map:  { path: PID-8, table: sex }
      - lua: '%(lua)s'
    destinations:
      - name: a
        mllp: { connect: 127.0.0.1:%(a)d, response_timeout: 10s%(window)s }
        retry: { max_attempts: 10, backoff: 100ms..1s }
        ordering: %(ordering)s
      - name: b
        mllp: { connect: 127.0.0.1:%(b)d, response_timeout: 10s%(window)s }
        retry: { max_attempts: 10, backoff: %(b_backoff)s }
        ordering: %(ordering)s
""" % {"ordering": ORDERING[0], "store": store, "a": port_a, "b": port_b, "lua": lua,
                 "b_backoff": b_backoff,
                 "window": window})
    return path


def receiver(port=0):
    if RECEIVER[0] == "python":
        argv = [sys.executable, os.path.join(HERE, "ack_receiver.py"), str(port)]
    else:
        argv = [RECEIVER[0], str(port)]
    return Server("receiver", argv, r"^listening (\d+)").start()


def engine(junction, config):
    return Server("junction", [junction, "serve", "--config", config],
                  r"listening mllp pipeline \S+:(\d+)",
                  cwd=os.path.dirname(config)).start()


def proc_status(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid):
    """user + system CPU of a running process (from /proc/PID/stat), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def query(store, sql, params=()):
    con = sqlite3.connect("file:%s?mode=ro" % store, uri=True, timeout=60)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def wait_for(predicate, timeout, what, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise RuntimeError("timed out waiting for %s" % what)


def send(junction, port, message, repeat, concurrency):
    argv = [junction, "send", "127.0.0.1:%d" % port, message, "--repeat", str(repeat),
            "--concurrency", str(concurrency), "--timeout", "60"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError("%s failed (%d):\n%s" % (" ".join(argv), proc.returncode, text[-3000:]))
    return parse_send_output(text)


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(q * len(values) + 0.5)) - 1))]


def store_bytes(store):
    return sum(os.path.getsize(p) for p in (store, store + "-wal") if os.path.exists(p))


def throughput_run(args, k):
    workdir = os.path.join(args.workdir, "run-%d" % k)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    store = os.path.join(workdir, "junction.db")
    rx_a, rx_b = receiver(), receiver()
    config = write_config(workdir, store, rx_a.port, rx_b.port)
    eng = engine(args.junction, config)
    n = args.repeat
    try:
        # CPU per message of each process (the machine has 2 cores for all of
        # them): engine and receivers from /proc, the client from rusage.
        cpu0 = {"engine": cpu_seconds(eng.proc.pid),
                "receivers": sum(cpu_seconds(r.proc.pid) or 0 for r in (rx_a, rx_b))}
        client0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = send(args.junction, eng.port, args.message, n, args.concurrency)
        client1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wait_for(lambda: query(store, "SELECT COUNT(*) FROM messages WHERE status IN "
                               + DONE_STATES)[0][0] >= n, args.timeout, "every message delivered")
        hwm = proc_status(eng.proc.pid, "VmHWM")
        cpu = {"engine": cpu_seconds(eng.proc.pid) - cpu0["engine"],
               "receivers": sum(cpu_seconds(r.proc.pid) or 0 for r in (rx_a, rx_b))
               - cpu0["receivers"],
               "client": (client1.ru_utime + client1.ru_stime)
               - (client0.ru_utime + client0.ru_stime)}
    finally:
        eng.stop()
        rx_a.stop()
        rx_b.stop()
    states = dict(query(store, "SELECT status, COUNT(*) FROM messages GROUP BY status"))
    if states.get("sent") != n:
        raise RuntimeError("not every message was sent: %r" % states)
    first = query(store, "SELECT MIN(received_at), MAX(received_at) FROM messages")[0]
    last = query(store, "SELECT MAX(updated_at) FROM deliveries WHERE state = 'sent'")[0][0]
    rows = query(store, "SELECT m.received_at, m.updated_at, d.destination, d.created_at, "
                 "d.updated_at FROM messages m JOIN deliveries d ON d.message_id = m.id "
                 "WHERE d.state = 'sent'")
    ingest_to_processed = {}
    processed_to_sent = []
    ingest_to_all_sent = {}
    for m_recv, m_upd, _dest, d_created, d_upd in rows:
        ingest_to_processed[(m_recv, d_created)] = (d_created - m_recv) / 1000.0
        processed_to_sent.append((d_upd - d_created) / 1000.0)
        ingest_to_all_sent[m_recv] = (m_upd - m_recv) / 1000.0
    i2p = list(ingest_to_processed.values())
    i2s = list(ingest_to_all_sent.values())
    result = {
        "e2e_rate": n / ((last - first[0]) / 1e6),
        "store_ingest_rate": n / max(1e-6, (first[1] - first[0]) / 1e6),
        "client_rate": load["rate"],
        "ack_p50": load["p50"], "ack_p99": load["p99"],
        "i2p_p50": pct(i2p, 0.5), "i2p_p99": pct(i2p, 0.99),
        "p2s_p50": pct(processed_to_sent, 0.5), "p2s_p99": pct(processed_to_sent, 0.99),
        "i2s_p50": pct(i2s, 0.5), "i2s_p99": pct(i2s, 0.99),
        "rss_mib": (hwm or 0) / 1024.0,
        "deliveries": len(rows),
        "cpu_engine_us": cpu["engine"] / n * 1e6,
        "cpu_receivers_us": cpu["receivers"] / n * 1e6,
        "cpu_client_us": cpu["client"] / n * 1e6,
    }
    log("run %d: e2e %s msg/s, client ingest %s msg/s, ingest->processed p50 %s ms, "
        "processed->sent p50 %s ms, ingest->sent p50 %s ms p99 %s ms"
        % (k, fmt(result["e2e_rate"]), fmt(result["client_rate"]), fmt(result["i2p_p50"], 1),
           fmt(result["p2s_p50"], 1), fmt(result["i2s_p50"], 1), fmt(result["i2s_p99"], 1)))
    log("run %d: CPU per message: engine %s us, both receivers %s us, client %s us"
        % (k, fmt(result["cpu_engine_us"], 1), fmt(result["cpu_receivers_us"], 1),
           fmt(result["cpu_client_us"], 1)))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def backlog_run(args, size):
    workdir = os.path.join(args.workdir, "backlog-%d" % size)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    store = os.path.join(workdir, "junction.db")
    rx_a = receiver()
    port_b = free_port()  # nobody listens: b is down
    # Always strict here: under best-effort, b's messages would go to error
    # after max_attempts instead of waiting in the queue.
    ordering, ORDERING[0] = ORDERING[0], "strict"
    try:
        config = write_config(workdir, store, rx_a.port, port_b, b_backoff="1s..2s")
    finally:
        ORDERING[0] = ordering
    eng = engine(args.junction, config)
    rx_b = None
    out = {"queued": size}
    try:
        rss_start = proc_status(eng.proc.pid, "VmRSS")
        if size:
            send(args.junction, eng.port, args.message, size, args.concurrency)
            wait_for(lambda: query(store, "SELECT COUNT(*) FROM deliveries WHERE destination = "
                                   "'b' AND state = 'queued'")[0][0] >= size and
                     query(store, "SELECT COUNT(*) FROM deliveries WHERE destination = 'a' AND "
                           "state = 'sent'")[0][0] >= size, args.timeout, "b's queue to fill")
        time.sleep(3)
        out["rss_mib"] = (proc_status(eng.proc.pid, "VmRSS") or 0) / 1024.0
        out["hwm_mib"] = (proc_status(eng.proc.pid, "VmHWM") or 0) / 1024.0
        out["rss_start_mib"] = (rss_start or 0) / 1024.0
        out["store_mib"] = store_bytes(store) / 1048576.0
        if size:
            rx_b = receiver(port_b)
            wait_for(lambda: query(store, "SELECT COUNT(*) FROM deliveries WHERE destination = "
                                   "'b' AND state = 'sent'")[0][0] >= size, args.timeout,
                     "b's queue to drain")
            lo, hi = query(store, "SELECT MIN(updated_at), MAX(updated_at) FROM deliveries "
                           "WHERE destination = 'b' AND state = 'sent'")[0]
            out["drain_rate"] = size / max(1e-6, (hi - lo) / 1e6)
            out["rss_after_drain_mib"] = (proc_status(eng.proc.pid, "VmRSS") or 0) / 1024.0
    finally:
        eng.stop()
        rx_a.stop()
        if rx_b:
            rx_b.stop()
    log("backlog %d: RSS %s MiB (peak %s MiB), store %s MiB, drain %s msg/s"
        % (size, fmt(out["rss_mib"], 1), fmt(out["hwm_mib"], 1), fmt(out["store_mib"], 1),
           fmt(out.get("drain_rate"))))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--junction", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--message", default=os.path.join(ROOT, "bench", "mllp",
                                                          "oru_r01_2k.hl7"))
    parser.add_argument("--repeat", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backlog", default="0,50000,200000")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--keep", action="store_true", help="keep the stores")
    parser.add_argument("--receiver", default="python",
                        help="path of pipeline_ack_receiver (C++), or python")
    parser.add_argument("--window", type=int, help="mllp window of the destinations")
    parser.add_argument("--ordering", default="strict", choices=["strict", "best-effort"],
                        help="ordering of both destinations")
    parser.add_argument("--markdown")
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    RECEIVER[0] = args.receiver
    WINDOW[0] = args.window
    ORDERING[0] = args.ordering

    lines = []
    if args.runs > 0:
        results = [throughput_run(args, k) for k in range(args.runs)]
        med = {key: median([r[key] for r in results]) for key in results[0]}
        lines += [
            "| metric (median of %d runs, %d msgs, %d connections) | value |"
            % (args.runs, args.repeat, args.concurrency),
            "| --- | ---: |",
            "| end to end (first received -> last delivered) | %s msg/s |" % fmt(med["e2e_rate"]),
            "| runs | %s |" % ", ".join(fmt(r["e2e_rate"]) for r in results),
            "| ingest as the client saw it | %s msg/s |" % fmt(med["client_rate"]),
            "| ACK latency p50 / p99 | %s / %s ms |" % (fmt(med["ack_p50"], 2),
                                                      fmt(med["ack_p99"], 2)),
            "| ingest -> processed p50 / p99 | %s / %s ms |" % (fmt(med["i2p_p50"], 1),
                                                              fmt(med["i2p_p99"], 1)),
            "| processed -> sent p50 / p99 (per destination) | %s / %s ms |"
            % (fmt(med["p2s_p50"], 1), fmt(med["p2s_p99"], 1)),
            "| ingest -> sent to both p50 / p99 | %s / %s ms |" % (fmt(med["i2s_p50"], 1),
                                                                 fmt(med["i2s_p99"], 1)),
            "| engine peak RSS | %s MiB |" % fmt(med["rss_mib"], 1),
            "| CPU per message: engine / both receivers / client | %s / %s / %s us |"
            % (fmt(med["cpu_engine_us"], 1), fmt(med["cpu_receivers_us"], 1),
               fmt(med["cpu_client_us"], 1)),
            "| target end to end | 15,000 msg/s: %s |"
            % ("met" if med["e2e_rate"] >= 15000 else "MISSED"),
            "",
        ]
    sizes = [int(s) for s in args.backlog.split(",") if s.strip()]
    if sizes:
        lines += ["| queued for the down destination | engine RSS | peak RSS | store size "
                  "| drain when it is back |", "| ---: | ---: | ---: | ---: | ---: |"]
        for size in sizes:
            b = backlog_run(args, size)
            lines.append("| %s | %s MiB | %s MiB | %s MiB | %s |"
                         % (fmt(size), fmt(b["rss_mib"], 1), fmt(b["hwm_mib"], 1),
                            fmt(b["store_mib"], 1),
                            ("%s msg/s" % fmt(b["drain_rate"])) if "drain_rate" in b else "-"))
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
