#!/usr/bin/env python3
"""FHIR API benchmark (not a test): transaction ingest, read by id, search.

1. Starts a release `junction serve` with /fhir on 127.0.0.1 (ephemeral port),
   a fresh FHIR store with `fhir_store.durable: false` (synchronous=NORMAL;
   --durable for the default, an fsync per commit),
   log level warn, and an HS256 token from `junction token`.
2. Loads PATIENTS patients with OBS_PER_PATIENT observations each through
   transaction Bundles (each patient a urn:uuid entry, its observations
   referencing it), BUNDLE_PATIENTS patients per Bundle, CONCURRENCY Bundles
   in flight on keep-alive connections. Reports resources/s (wall clock from
   the first request to the last response) and the median Bundle latency,
   then checks the totals with _summary=count.
3. wrk (Debian) with bench/fhir/read.lua: GET /fhir/Patient/<random id>.
4. wrk with bench/fhir/search.lua: GET /fhir/Observation?patient=X&code=Y for
   random (patient, code) pairs that each match one observation.
wrk runs --runs times per scenario; the median requests/s is reported, with
the non-200 count (must be 0). Only 127.0.0.1 is used.

Targets (issue 6, 2 cores): read >= 30,000 req/s, search >= 8,000 req/s,
ingest >= 5,000 resources/s. No peer server runs offline here; the published
Blaze figures are printed as reference only (not measured in the same run).
"""

import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "benchmark-secret-0123456789-abcdefghijklmnop"
CODES = ["718-7", "2345-7", "2951-2", "2823-3", "2075-0", "1742-6", "1920-8", "6768-6",
         "1975-2", "2885-2"]  # LOINC; observation i of a patient gets CODES[i % 10]


def log(msg):
    print(msg, flush=True)


class Server:
    def __init__(self, junction, workdir, durable):
        self.workdir = workdir
        store = os.path.join(workdir, "store")
        os.makedirs(store, exist_ok=True)
        cfg = {
            "log": {"level": "warn"},
            "server": {"io_threads": 2},
            "store": {"sqlite": os.path.join(store, "junction.db")},
            "fhir_store": {"sqlite": os.path.join(store, "junction-fhir.db"), "durable": durable},
            "http": {"listen": "127.0.0.1:0"},
            "auth": {"issuer": "junction-bench", "audience": "junction", "hs256_secret": SECRET,
                     "clients": [{"id": "bench",
                                  "secret_sha256": hashlib.sha256(b"bench").hexdigest(),
                                  "scopes": ["system/*.*"]}]},
            "channels": [{"name": "unused", "source": "none"}],
        }
        self.config = os.path.join(workdir, "junction.yaml")
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)
        self.junction = junction
        self.stderr = open(os.path.join(workdir, "serve.stderr"), "wb")
        self.proc = subprocess.Popen([junction, "serve", "--config", self.config],
                                     stdout=subprocess.PIPE, stderr=self.stderr,
                                     stdin=subprocess.DEVNULL, cwd=workdir)
        self.port = None
        deadline = time.monotonic() + 60
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            m = re.match(r"^junction: listening http \S+:(\d+)$", line)
            if m:
                self.port = int(m.group(1))
            if line == "junction: ready":
                break
            if time.monotonic() > deadline:
                break
        if self.port is None:
            self.stop()
            sys.exit("run_fhir_bench: serve did not report an http listener; see %s"
                     % self.stderr.name)
        # Keep draining stdout so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()

    def token(self):
        out = subprocess.run([self.junction, "token", "--config", self.config, "--client",
                              "bench", "--scope", "system/*.*", "--ttl", "1h"],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip().splitlines()[-1]

    def rss_mb(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return float("nan")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


def bundle_for(first, count, obs_per_patient):
    entries = []
    for i in range(first, first + count):
        urn = "urn:uuid:" + str(uuid.uuid4())
        entries.append({"fullUrl": urn, "request": {"method": "POST", "url": "Patient"},
                        "resource": {"resourceType": "Patient",
                                     "identifier": [{"system": "urn:bench:mrn",
                                                     "value": "MRN%07d" % i}],
                                     "name": [{"family": "Bench%05d" % (i % 50000),
                                               "given": ["Pat"]}],
                                     "gender": "female" if i % 2 else "male",
                                     "birthDate": "19%02d-%02d-%02d" % (i % 100, i % 12 + 1,
                                                                         i % 28 + 1)}})
        for k in range(obs_per_patient):
            code = CODES[k % len(CODES)]
            entries.append({"request": {"method": "POST", "url": "Observation"},
                            "resource": {"resourceType": "Observation", "status": "final",
                                         "category": [{"coding": [{
                                             "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                             "code": "laboratory"}]}],
                                         "code": {"coding": [{"system": "http://loinc.org",
                                                              "code": code}]},
                                         "subject": {"reference": urn},
                                         "effectiveDateTime": "2024-03-%02dT08:00:00Z" % (k % 28 + 1),
                                         "valueQuantity": {"value": 10 + k, "unit": "mg/dL",
                                                           "system": "http://unitsofmeasure.org",
                                                           "code": "mg/dL"}}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def load(port, token, patients, obs_per_patient, per_bundle, concurrency):
    """Returns (seconds, bundle latencies, patient ids, [(patient id, code)])."""
    starts = list(range(0, patients, per_bundle))
    lock = threading.Lock()
    latencies, patient_ids, pairs, failures = [], [], [], []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            with lock:
                if not starts or failures:
                    break
                first = starts.pop(0)
            body = json.dumps(bundle_for(first, min(per_bundle, patients - first),
                                         obs_per_patient)).encode()
            t0 = time.monotonic()
            conn.request("POST", "/fhir", body=body,
                         headers={"Authorization": "Bearer " + token,
                                  "Content-Type": "application/fhir+json",
                                  "Prefer": "return=minimal"})
            res = conn.getresponse()
            data = res.read()
            dt = time.monotonic() - t0
            if res.status != 200:
                with lock:
                    failures.append("%d %s" % (res.status, data[:300]))
                break
            out = json.loads(data)
            mine_p, mine_pairs = [], []
            current = None
            k = 0
            for e in out["entry"]:
                loc = e["response"].get("location", "")
                m = re.search(r"(Patient|Observation)/([^/]+)", loc)
                if not m:
                    with lock:
                        failures.append("entry without location: %r" % e)
                    break
                if m.group(1) == "Patient":
                    current, k = m.group(2), 0
                    mine_p.append(current)
                else:
                    mine_pairs.append((current, CODES[k % len(CODES)]))
                    k += 1
            with lock:
                latencies.append(dt)
                patient_ids.extend(mine_p)
                pairs.extend(mine_pairs)
        conn.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    if failures:
        sys.exit("run_fhir_bench: load failed: %s" % failures[0])
    return elapsed, latencies, patient_ids, pairs


def total(port, token, query):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", "/fhir/" + query, headers={"Authorization": "Bearer " + token})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    if res.status != 200:
        return "HTTP %d" % res.status
    return json.loads(data).get("total")


def run_wrk(wrk, script, url, args, threads, connections, duration):
    cmd = [wrk, "-t%d" % threads, "-c%d" % connections, "-d%s" % duration, "--latency",
           "-s", script, url, "--"] + args
    out = subprocess.run(cmd, capture_output=True, text=True)
    text = out.stdout + out.stderr
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    rps = float(m.group(1)) if m else float("nan")
    errors = re.search(r"non-200 responses: (\d+)", text)
    empty = re.search(r"empty results: (\d+)", text)
    p50 = re.search(r"^\s+50%\s+(\S+)", text, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M)
    return {"rps": rps, "errors": int(errors.group(1)) if errors else -1,
            "empty": int(empty.group(1)) if empty else 0,
            "p50": p50.group(1) if p50 else "?", "p99": p99.group(1) if p99 else "?",
            "raw": text}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--junction", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--patients", type=int, default=10000)
    ap.add_argument("--obs-per-patient", type=int, default=10)
    ap.add_argument("--bundle-patients", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--wrk-connections", type=int, default=32)
    ap.add_argument("--duration", default="10s")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--durable", action="store_true",
                    help="fsync every commit (the product default) instead of synchronous=NORMAL")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("run_fhir_bench: wrk is missing (Debian package wrk)")
    os.makedirs(args.workdir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="fhir-bench-", dir=args.workdir)
    server = Server(args.junction, workdir, args.durable)
    results = {}
    try:
        token = server.token()
        n_obs = args.patients * args.obs_per_patient
        log("== load: %d patients + %d observations, transaction Bundles of %d patients "
            "(%d resources), %d in flight"
            % (args.patients, n_obs, args.bundle_patients,
               args.bundle_patients * (1 + args.obs_per_patient), args.concurrency))
        elapsed, lat, pids, pairs = load(server.port, token, args.patients, args.obs_per_patient,
                                         args.bundle_patients, args.concurrency)
        resources = args.patients + n_obs
        results["ingest_resources_per_s"] = resources / elapsed
        results["ingest_seconds"] = elapsed
        results["bundle_latency_median_ms"] = statistics.median(lat) * 1000
        log("  %d resources in %.1f s: %.0f resources/s (median Bundle %.0f ms), RSS %.0f MB"
            % (resources, elapsed, resources / elapsed, statistics.median(lat) * 1000,
               server.rss_mb()))
        got_p = total(server.port, token, "Patient?_summary=count")
        got_o = total(server.port, token, "Observation?_summary=count")
        log("  totals: Patient %s, Observation %s" % (got_p, got_o))
        if got_p != args.patients or got_o != n_obs:
            log("  WARNING: totals differ from what was loaded")
        db = os.path.join(workdir, "store", "junction-fhir.db")
        if os.path.exists(db):
            log("  store file: %.0f MB" % (os.path.getsize(db) / 1e6))

        ids_file = os.path.join(workdir, "read-ids.txt")
        with open(ids_file, "w") as f:
            f.writelines("Patient/%s\n" % p for p in pids)
        pairs_file = os.path.join(workdir, "search-pairs.txt")
        with open(pairs_file, "w") as f:
            f.writelines("%s %s\n" % p for p in pairs)

        base = "http://127.0.0.1:%d" % server.port
        for name, script, data in (("read", "read.lua", ids_file),
                                   ("search", "search.lua", pairs_file)):
            log("== %s: wrk -t%d -c%d -d%s -s bench/fhir/%s (%d runs)"
                % (name, args.wrk_threads, args.wrk_connections, args.duration, script,
                   args.runs))
            runs = []
            for i in range(args.runs):
                r = run_wrk(wrk, os.path.join(HERE, script), base, [data, token],
                            args.wrk_threads, args.wrk_connections, args.duration)
                runs.append(r)
                log("  run %d: %.0f req/s, p50 %s, p99 %s, non-200 %d%s"
                    % (i + 1, r["rps"], r["p50"], r["p99"], r["errors"],
                       ", empty %d" % r["empty"] if name == "search" else ""))
                if r["errors"] != 0 or r["rps"] != r["rps"]:
                    log(r["raw"][-2000:])
            results[name + "_rps_median"] = statistics.median(r["rps"] for r in runs)
            results[name + "_errors"] = sum(r["errors"] for r in runs)
        log("  RSS after the runs: %.0f MB" % server.rss_mb())
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    log("== summary (medians; targets from issue 6 on 2 cores)")
    for key, target, unit in (("ingest_resources_per_s", 5000, "resources/s"),
                              ("read_rps_median", 30000, "req/s"),
                              ("search_rps_median", 8000, "req/s")):
        got = results.get(key, float("nan"))
        log("  %-24s %10.0f %-12s target >= %6d  %s"
            % (key, got, unit, target, "met" if got >= target else "MISSED"))
    log("  reference only (published, other hardware, not measured here): Blaze ~13,000 "
        "resources/s ingest on 32 cores, ~48,900 reads/s on 24 cores")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
