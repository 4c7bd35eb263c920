"""Crash safety: an AA means the message is on disk, whatever happens next.

Each cycle: 8 connections stream uniquely numbered messages (each records the
control ids that got AA); `junction serve` is SIGKILLed at a random moment and
restarted on the same store. Every message that got AA must be stored exactly
once, nothing may be stored that was never sent, and the store must pass
`PRAGMA integrity_check`.

JUNCTION_CRASH_CYCLES (default 5) and JUNCTION_CRASH_SEED tune the run.
"""

import os
import random
import signal
import socket
import sqlite3
import threading
import time
import unittest

import harness
from harness import MllpConnection, make_message, mllp_channel, scaled

CONNECTIONS = 8


class Streamer(threading.Thread):
    """One MLLP connection sending message after message until the server goes away."""

    def __init__(self, port, prefix, stop):
        super().__init__(daemon=True)
        self.port = port
        self.prefix = prefix
        self.stop = stop
        self.sent = []
        self.acked = []
        self.negative = []
        self.error = None

    def run(self):
        try:
            conn = MllpConnection(self.port, timeout=scaled(30))
        except OSError as e:
            self.error = e
            return
        with conn:
            n = 0
            while not self.stop.is_set():
                control_id = "%s-%06d" % (self.prefix, n)
                n += 1
                try:
                    self.sent.append(control_id)
                    conn.send(make_message(control_id, patient_id="P" + control_id))
                    reply = conn.recv_frame()
                except (OSError, socket.timeout) as e:
                    self.error = e
                    return
                if reply is None:  # the server died
                    return
                code, msa2, _ = harness.parse_ack(reply)
                if code == "AA" and msa2 == control_id:
                    self.acked.append(control_id)
                else:
                    self.negative.append((control_id, code, msa2))


class CrashTest(harness.ServeTestCase):
    def check_store(self, server, prefix, streamers):
        rows = server.db_rows(
            "SELECT control_id, COUNT(*) FROM messages WHERE control_id LIKE ? "
            "GROUP BY control_id", (prefix + "-%",))
        stored = dict(rows)
        acked = [cid for s in streamers for cid in s.acked]
        sent = {cid for s in streamers for cid in s.sent}
        lost = [cid for cid in acked if cid not in stored]
        self.assertEqual(lost, [], "%d of %d AA'd messages are missing after SIGKILL\n%s"
                         % (len(lost), len(acked), server.logs()))
        twice = {cid: n for cid, n in stored.items() if n != 1}
        self.assertEqual(twice, {}, "messages stored more than once")
        unknown = [cid for cid in stored if cid not in sent]
        self.assertEqual(unknown, [], "stored messages that were never sent")
        integrity = server.db_rows("PRAGMA integrity_check")
        self.assertEqual(integrity, [("ok",)])
        return len(acked), len(stored)

    def test_sigkill_never_loses_an_acked_message(self):
        cycles = int(os.environ.get("JUNCTION_CRASH_CYCLES", "5"))
        seed = int(os.environ.get("JUNCTION_CRASH_SEED", str(int(time.time()))))
        rng = random.Random(seed)
        print("crash test: %d cycles, seed %d" % (cycles, seed), flush=True)

        server = self.serve([mllp_channel("inbound")])
        total_acked = 0
        for cycle in range(cycles):
            prefix = "K%02d" % cycle
            stop = threading.Event()
            streamers = [Streamer(server.port("inbound"), "%s-T%d" % (prefix, t), stop)
                         for t in range(CONNECTIONS)]
            for s in streamers:
                s.start()
            time.sleep(rng.uniform(0.2, 1.5) * harness.TIME_SCALE)
            server.stop(signal.SIGKILL)
            for s in streamers:
                s.join(scaled(30))
                self.assertFalse(s.is_alive(), "a client hung after the server died")
            stop.set()
            for s in streamers:
                self.assertEqual(s.negative, [], "negative ACKs while streaming")

            server.start()  # recovery happens here
            acked, stored = self.check_store(server, prefix, streamers)
            print("cycle %d: %d AA'd, %d stored (%d stored without an ACK)"
                  % (cycle, acked, stored, stored - acked), flush=True)
            total_acked += acked
            self.assert_serving(server, "inbound", control_id="ALIVE-%d" % cycle)

        self.assertGreater(total_acked, 0, "no message was acknowledged at all\n" + server.logs())
        self.stop_cleanly(server)
        con = sqlite3.connect(server.store_path, timeout=30)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            ids = con.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM messages").fetchone()
            self.assertEqual(ids[0], ids[1])
        finally:
            con.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
