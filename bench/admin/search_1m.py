#!/usr/bin/env python3
"""Admin API message search over a store of 1,000,000 messages (issue 7: < 200 ms).

Not a test. Steps:
  1. `junction serve` once on an empty store path creates the real schema
     (the store's own migrations), then stops.
  2. Python's sqlite3 fills `messages` with N rows in one transaction, the
     indexes dropped before and re-created (with their stored SQL) after, which
     is much faster than maintaining six indexes row by row. Rows are small
     (~200-byte raw ER7) and deterministic (--seed): 8 channels, 4 message
     types, 100,000 patients, unique control ids, received_at spread over the
     last 30 days in id order, statuses sent/filtered/error/processed (never
     received, so the engine has nothing to process at startup).
  3. `junction serve` on the filled store; GET /api/messages with typical
     filters over a keep-alive connection, each query --runs times after one
     warm-up; prints the median (and min/max) per query as a table, and for
     queries over the budget the EXPLAIN QUERY PLAN of the SQL the store runs.

    bench/admin/search_1m.py --junction build/release/apps/junction/junction
    bench/admin/search_1m.py --junction J --rows 200000 --keep /tmp/store-200k

Only 127.0.0.1 is used. The store lives in --workdir (default: a temp dir,
deleted afterwards unless --keep names a directory to reuse).
"""

import argparse
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ISSUER = "junction-bench"
AUDIENCE = "junction"
SECRET = "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
CLIENT = "bench"
CHANNELS = ["ch%d" % i for i in range(8)]
TYPES = [("ADT", "A01", "ADT_A01", 30), ("ADT", "A08", "ADT_A01", 20),
         ("ORU", "R01", "ORU_R01", 40), ("ORM", "O01", "ORM_O01", 10)]
STATUSES = [("sent", 900), ("filtered", 50), ("error", 30), ("processed", 20)]
PATIENTS = 100_000
WORDS = ["GLUCOSE", "SODIUM", "POTASSIUM", "CREATININE", "HEMOGLOBIN", "PLATELETS",
         "TROPONIN", "LACTATE", "ALBUMIN", "BILIRUBIN"]
BUDGET_MS = 200.0
DAY_US = 86_400 * 1_000_000


def config_for(workdir, store_path):
    channels = [{"name": c, "source": "none"} for c in CHANNELS]
    return {
        "log": {"level": "warn"},
        "server": {"io_threads": 2, "pid_file": os.path.join(workdir, "junction.pid")},
        "store": {"sqlite": store_path},
        "fhir_store": {"sqlite": os.path.join(workdir, "fhir.db"), "durable": False},
        "http": {"listen": "127.0.0.1:0"},
        "auth": {"issuer": ISSUER, "audience": AUDIENCE, "hs256_secret": SECRET,
                 "clients": [{"id": CLIENT,
                              "secret_sha256": hashlib.sha256(b"bench").hexdigest(),
                              "scopes": ["viewer"]}]},
        "channels": channels,
    }


class Serve:
    def __init__(self, junction, config_path, workdir):
        self.proc = subprocess.Popen([junction, "serve", "--config", config_path],
                                     stdout=subprocess.PIPE, stderr=open(
                                         os.path.join(workdir, "serve.stderr"), "ab"),
                                     stdin=subprocess.DEVNULL, cwd=workdir)
        self.http_port = None
        ready = threading.Event()

        def read():
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                m = re.match(r"^junction: listening http \S+:(\d+)$", line)
                if m:
                    self.http_port = int(m.group(1))
                if line == "junction: ready":
                    ready.set()
        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + 300
        while not ready.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                sys.exit("junction serve did not get ready (see %s/serve.stderr)" % workdir)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def weighted(rng, items):
    total = sum(w for *_, w in items)
    r = rng.randrange(total)
    for item in items:
        r -= item[-1]
        if r < 0:
            return item
    return items[-1]


def make_rows(n, seed, now_us):
    rng = random.Random(seed)
    start = now_us - 30 * DAY_US
    step = (30 * DAY_US) // n
    for i in range(1, n + 1):
        channel = CHANNELS[rng.randrange(len(CHANNELS))]
        mtype, trigger, structure, _ = weighted(rng, TYPES)
        status = weighted(rng, STATUSES)[0]
        patient = "P%07d" % rng.randrange(PATIENTS)
        control = "MSG%08d" % i
        word = WORDS[rng.randrange(len(WORDS))]
        received = start + i * step
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(received / 1e6))
        raw = ("MSH|^~\\&|LAB|HOSP|EHR|HOSP|%s||%s^%s^%s|%s|P|2.5\r"
               "PID|1||%s^^^HOSP^MR||DOE^JANE||19800101|F\r"
               "OBX|1|ST|%s||%s %d||||||F\r"
               % (stamp, mtype, trigger, structure, control, patient, word, word,
                  rng.randrange(1000))).encode()
        error = "transform[0] (lua): line 1: failed" if status == "error" else ""
        yield (i, received, received + 5000, channel, "127.0.0.1:40000", control, mtype,
               trigger, structure, "2.5", "LAB", "HOSP", "EHR", "HOSP", patient, len(raw),
               status, error, raw)


def fill(store_path, n, seed):
    now_us = int(time.time() * 1e6)
    con = sqlite3.connect(store_path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-262144")
    existing = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    if existing:
        sys.exit("the store already holds %d messages" % existing)
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND "
                          "tbl_name='messages' AND sql IS NOT NULL").fetchall()
    t0 = time.monotonic()
    con.execute("BEGIN")
    for name, _ in indexes:
        con.execute("DROP INDEX %s" % name)
    con.executemany(
        "INSERT INTO messages (id, received_at, updated_at, channel, peer, control_id, "
        "message_type, trigger_event, message_structure, version, sending_application, "
        "sending_facility, receiving_application, receiving_facility, patient_id, size, status, "
        "error, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", make_rows(n, seed, now_us))
    t1 = time.monotonic()
    for _, sql in indexes:
        con.execute(sql)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print("filled %d rows in %.1f s (+ %.1f s indexes); file %.0f MB"
          % (n, t1 - t0, time.monotonic() - t1, os.path.getsize(store_path) / 1e6))


def mint_token(junction, config_path):
    out = subprocess.run([junction, "token", "--config", config_path, "--client", CLIENT,
                          "--scope", "viewer", "--ttl", "1h"], capture_output=True, text=True,
                         check=True)
    return out.stdout.split()[-1]


def sample_values(store_path):
    """Real values from the store for the filters (a patient, a control id, a deep id)."""
    con = sqlite3.connect("file:%s?mode=ro" % store_path, uri=True)
    max_id = con.execute("SELECT max(id) FROM messages").fetchone()[0]
    mid = max_id // 2
    patient, control = con.execute("SELECT patient_id, control_id FROM messages WHERE id = ?",
                                   (mid,)).fetchone()
    con.close()
    return {"max_id": max_id, "patient": patient, "control": control, "deep": mid}


def queries(v):
    deep = str(v["deep"])
    return [
        ("none", {}),
        ("channel", {"channel": "ch3"}),
        ("status=error", {"status": "error"}),
        ("type=ORU^R01", {"type": "ORU^R01"}),
        ("type=ORU (MSH-9.1 only)", {"type": "ORU"}),
        ("patient_id", {"patient_id": v["patient"]}),
        ("control_id", {"control_id": v["control"]}),
        ("since=1d", {"since": "1d"}),
        ("since=7d&until=6d", {"since": "7d", "until": "6d"}),
        ("channel&status=error", {"channel": "ch3", "status": "error"}),
        ("channel&type=ORU^R01", {"channel": "ch3", "type": "ORU^R01"}),
        ("status=error&since=7d", {"status": "error", "since": "7d"}),
        ("cursor at id %s" % deep, {"cursor": deep}),
        ("channel&cursor deep", {"channel": "ch3", "cursor": deep}),
        ("status=error&cursor deep", {"status": "error", "cursor": deep}),
        ("limit=500", {"limit": "500"}),
        ("q&channel&since=1d", {"q": "TROPONIN", "channel": "ch3", "since": "1d"}),
        ("q (rare)&channel&since=1d", {"q": "no-such-text", "channel": "ch3", "since": "1d"}),
        ("q (rare), no narrowing", {"q": "no-such-text"}),
    ]


# src/store/internal/rows.h, kSelectColumns (List reads no raw bytes).
SELECT_COLUMNS = ("SELECT id, received_at, updated_at, channel, peer, control_id, message_type,"
                  " trigger_event, message_structure, version, sending_application,"
                  " sending_facility, receiving_application, receiving_facility, patient_id,"
                  " size, status, error, ")


# The SQL the store runs for a filter set (src/store/sqlite_store.cpp, SqliteStore::List),
# for EXPLAIN QUERY PLAN of the slow ones.
def store_sql(params, now_us):
    where, args = [], []
    if "channel" in params:
        where.append("channel = ?")
        args.append(params["channel"])
    if "type" in params:
        for col, part in zip(("message_type", "trigger_event", "message_structure"),
                             params["type"].split("^")):
            if part:
                where.append("%s = ?" % col)
                args.append(part)
    for key, col in (("patient_id", "patient_id"), ("control_id", "control_id"),
                     ("status", "status")):
        if key in params:
            where.append("%s = ?" % col)
            args.append(params[key])
    if "q" in params:
        where.append("instr(raw, ?) > 0")
        args.append(params["q"])
    for key, op in (("since", ">="), ("until", "<")):
        if key in params:
            where.append("received_at %s ?" % op)
            args.append(now_us - int(params[key][:-1]) * DAY_US)
    if "cursor" in params:
        where.append("id < ?")
        args.append(int(params["cursor"]))
    sql = "%sNULL, NULL FROM messages%s ORDER BY id DESC LIMIT %d" % (SELECT_COLUMNS,
        (" WHERE " + " AND ".join(where)) if where else "", int(params.get("limit", 50)) + 1)
    return sql, args


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--junction", required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", help="a directory for the store, reused when it holds one")
    args = ap.parse_args()
    junction = os.path.abspath(args.junction)

    workdir = os.path.abspath(args.keep) if args.keep else tempfile.mkdtemp(
        prefix="junction-search-1m-")
    os.makedirs(workdir, exist_ok=True)
    store_path = os.path.join(workdir, "messages.db")
    config_path = os.path.join(workdir, "junction.yaml")
    with open(config_path, "w") as f:
        f.write(json.dumps(config_for(workdir, store_path), indent=2) + "\n")
    try:
        if not os.path.exists(store_path):
            Serve(junction, config_path, workdir).stop()  # creates the schema
            fill(store_path, args.rows, args.seed)
        else:
            print("reusing %s" % store_path)
        values = sample_values(store_path)
        print("machine: %d cores, load %s; store %.0f MB, %d messages"
              % (os.cpu_count(), open("/proc/loadavg").read().split()[:3],
                 os.path.getsize(store_path) / 1e6, values["max_id"]))
        t0 = time.monotonic()
        server = Serve(junction, config_path, workdir)
        print("serve ready in %.1f s" % (time.monotonic() - t0))
        token = mint_token(junction, config_path)
        conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=120)
        results = []
        try:
            for name, params in queries(values):
                url = "/api/messages" + ("?" + urllib.parse.urlencode(params) if params else "")
                times, count = [], None
                for run in range(args.runs + 1):
                    t = time.perf_counter()
                    conn.request("GET", url, headers={"Authorization": "Bearer " + token})
                    res = conn.getresponse()
                    body = res.read()
                    elapsed = (time.perf_counter() - t) * 1000
                    if res.status != 200:
                        sys.exit("%s: HTTP %d %s" % (url, res.status, body[:300]))
                    count = len(json.loads(body)["messages"])
                    if run > 0:  # the first run warms the page cache
                        times.append(elapsed)
                results.append((name, params, statistics.median(times), min(times),
                                max(times), count))
        finally:
            conn.close()
            server.stop()

        print()
        print("| filters | rows | median ms | min ms | max ms |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, _, med, lo, hi, count in results:
            flag = " **over %d ms**" % BUDGET_MS if med > BUDGET_MS else ""
            print("| %s | %d | %.1f%s | %.1f | %.1f |" % (name, count, med, flag, lo, hi))
        slow = [r for r in results if r[2] > BUDGET_MS]
        if slow:
            con = sqlite3.connect("file:%s?mode=ro" % store_path, uri=True)
            now_us = int(time.time() * 1e6)
            print("\nover %d ms (EXPLAIN QUERY PLAN of the store's SQL):" % BUDGET_MS)
            for name, params, med, *_ in slow:
                sql, sql_args = store_sql(params, now_us)
                plan = con.execute("EXPLAIN QUERY PLAN " + sql, sql_args).fetchall()
                print("- %s (%.0f ms): %s" % (name, med, sql))
                for row in plan:
                    print("    %s" % row[-1])
            con.close()
        print("\ncommand: %s --rows %d --runs %d --seed %d" % (
            " ".join(sys.argv[:1]), args.rows, args.runs, args.seed))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
