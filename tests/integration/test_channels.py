"""Channels end to end: filters, transformers, routing, Lua errors and the sandbox.

Each test starts `junction serve` with channels that deliver to Receivers
(receivers.py: MLLP servers written for the test) and to a file destination,
sends messages over MLLP and checks what arrives downstream and what the store
records (tables `messages` and `deliveries`):
  - channel filter: dropped messages are `filtered` with the rule, never delivered;
  - declarative steps (set, copy, map with a table default) and a Lua step
    change the message every destination gets;
  - a destination filter: the archive gets only ORU^R01; the other delivery
    row is `filtered`;
  - `ack: after-processing`: the ACK follows filter + transform; a Lua
    `error()` gives AE and the message is `error` with the Lua message and line;
  - sandbox escapes (os.execute, io.open, require, dofile, loadfile, bytecode,
    debug, package, string.rep bomb, string doubling, infinite loop, table
    flood) end in `error`, nothing happens on disk, and the engine keeps
    serving;
  - a `channel:` destination chains into a `source: none` channel.
"""

import os
import re
import time
import unittest

import harness
from harness import MllpConnection, make_message, scaled
from receivers import (Receiver, channel_config, config_text, delivery_rows, hl7_get,
                       message_rows, mllp_dest, source, wait_until)

SEX_TABLE = {"sex": {"M": "male", "F": "female", '"*"': "unknown"}}


def oru(cid, patient_id="12345", sex="F", msg_type="ORU^R01^ORU_R01"):
    msg = make_message(cid, msg_type=msg_type, patient_id=patient_id)
    return msg.replace(b"||19800101|F\r", b"||19800101|" + sex.encode() + b"\r")


class ChannelTestCase(harness.ServeTestCase):
    def start_engine(self, channels, tables=None):
        return self.serve(None, config_text=config_text(channel_config(channels, tables)))

    def wait_final(self, server, like, n, timeout=None):
        """Waits until `n` messages matching LIKE have left received/queued; returns the rows."""
        def done():
            rows = message_rows(server, like)
            final = [r for r in rows.values() if r[1] not in ("received", "queued", "transformed")]
            return rows if len(rows) >= n and len(final) == len(rows) else None
        rows = wait_until(done, timeout or scaled(30))
        self.assertTrue(rows, "messages %s not final: %r\n%s"
                        % (like, message_rows(server, like), server.logs()))
        return rows

    def send_all(self, server, channel, messages, expect="AA"):
        codes = {}
        with MllpConnection(server.port(channel)) as conn:
            for cid, payload in messages:
                code, msa2, segs = conn.roundtrip(payload)
                self.assertEqual(msa2, cid, segs)
                codes[cid] = code
        if expect is not None:
            self.assertEqual({c for c in codes.values()}, {expect},
                             "unexpected ACK codes %r\n%s" % (codes, server.logs()))
        return codes


class FilterTransformRouteTest(ChannelTestCase):
    def setUp(self):
        super().setUp()
        self.ehr = Receiver(name="ehr").start()
        self.addCleanup(self.ehr.stop)
        self.out_dir = os.path.join(self.tmp, "out")
        os.makedirs(self.out_dir)
        lab = {
            "name": "lab",
            "source": source(),
            "filter": {"all": [
                {"path": "MSH-9.1", "in": ["ORU", "ADT"]},
                {"not": {"path": "PID-3.1", "equals": "REJECT"}},
            ]},
            "transform": [
                {"set": {"path": "MSH-5", "value": "EHR"}},
                {"copy": {"from": "PID-3.1", "to": "PID-2.1"}},
                {"map": {"path": "PID-8", "table": "sex"}},
                {"lua": 'msg:set("PID-18", "LUA-" .. msg:get("MSH-10"))\n'},
            ],
            "destinations": [
                mllp_dest("ehr", self.ehr),
                {"name": "archive", "file": {"dir": self.out_dir, "name": "{MSH-10}.hl7"},
                 "filter": {"path": "MSH-9.2", "in": ["R01"]}},
            ],
        }
        self.server = self.start_engine([lab], SEX_TABLE)

    def test_filter_transform_and_destination_filter(self):
        server = self.server
        # Filtered ones first: once the later good ones arrive, the channel
        # (in order) has already decided about these.
        self.send_all(server, "lab", [
            ("FT-ORM-1", oru("FT-ORM-1", msg_type="ORM^O01^ORM_O01")),
            ("FT-REJ-1", oru("FT-REJ-1", patient_id="REJECT")),
            ("FT-ORU-1", oru("FT-ORU-1", patient_id="11111", sex="F")),
            ("FT-ADT-1", oru("FT-ADT-1", patient_id="22222", sex="M", msg_type="ADT^A01^ADT_A01")),
            ("FT-ORU-2", oru("FT-ORU-2", patient_id="33333", sex="X")),
        ])
        good = ["FT-ORU-1", "FT-ADT-1", "FT-ORU-2"]
        self.assertTrue(self.ehr.wait_for_ids(good, scaled(30)),
                        "ehr got %r\n%s" % (self.ehr.control_ids(), server.logs()))
        rows = self.wait_final(server, "FT-%", 5)

        # Channel filter: recorded with the rule, never delivered.
        self.assertEqual(rows["FT-ORM-1"][1], "filtered", rows)
        self.assertIn("MSH-9.1", rows["FT-ORM-1"][2])
        self.assertEqual(rows["FT-REJ-1"][1], "filtered", rows)
        self.assertIn("PID-3.1", rows["FT-REJ-1"][2])
        self.assertNotIn("FT-ORM-1", self.ehr.control_ids())
        self.assertNotIn("FT-REJ-1", self.ehr.control_ids())
        for cid in ("FT-ORM-1", "FT-REJ-1"):
            self.assertEqual(delivery_rows(server, rows[cid][0]), [],
                             "a filtered message got delivery rows")

        # Order and exactly once on a healthy receiver.
        self.assertEqual(self.ehr.control_ids(), good)

        # Transforms, as the receiver saw them.
        expected_sex = {"FT-ORU-1": "female", "FT-ADT-1": "male", "FT-ORU-2": "unknown"}
        expected_pid = {"FT-ORU-1": "11111", "FT-ADT-1": "22222", "FT-ORU-2": "33333"}
        for cid in good:
            got = self.ehr.last_payload(cid)
            self.assertEqual(hl7_get(got, "MSH", 5), "EHR", got)
            self.assertEqual(hl7_get(got, "MSH", 10), cid)
            self.assertEqual(hl7_get(got, "PID", 2, 1), expected_pid[cid], got)
            self.assertEqual(hl7_get(got, "PID", 3, 1), expected_pid[cid], got)
            self.assertEqual(hl7_get(got, "PID", 8), expected_sex[cid], got)
            self.assertEqual(hl7_get(got, "PID", 18), "LUA-" + cid, got)
            self.assertEqual(rows[cid][1], "sent", rows)

        # Destination filter: only R01 reaches the archive; the ADT's archive
        # delivery is `filtered` with the rule.
        files = sorted(os.listdir(self.out_dir))
        self.assertEqual(files, ["FT-ORU-1.hl7", "FT-ORU-2.hl7"],
                         "archive dir (temporary files must be renamed away): %r" % files)
        with open(os.path.join(self.out_dir, "FT-ORU-1.hl7"), "rb") as f:
            archived = f.read()
        self.assertEqual(archived.rstrip(b"\r\n"), self.ehr.last_payload("FT-ORU-1").rstrip(b"\r\n"),
                         "the file destination wrote something else than the MLLP one sent")
        adt = {d["destination"]: d for d in delivery_rows(server, rows["FT-ADT-1"][0])}
        self.assertEqual(adt["archive"]["state"], "filtered", adt)
        self.assertIn("MSH-9.2", adt["archive"]["error"])
        self.assertEqual(adt["ehr"]["state"], "sent", adt)
        oru1 = {d["destination"]: d for d in delivery_rows(server, rows["FT-ORU-1"][0])}
        self.assertEqual(oru1["ehr"]["state"], "sent")
        self.assertEqual(oru1["archive"]["state"], "sent")
        self.assertEqual(oru1["ehr"]["attempts"], 1, oru1)
        self.assertIn("MSA|AA|FT-ORU-1", (oru1["ehr"]["response"] or "").replace("\n", "\r"),
                      "the ACK that came back is kept as the delivery's response")

        # The stored original is untouched (the raw bytes are what came in).
        raw = server.db_rows("SELECT raw FROM message_raw JOIN messages ON id = message_id"
                             " WHERE control_id = 'FT-ORU-1'")[0][0]
        self.assertEqual(bytes(raw), oru("FT-ORU-1", patient_id="11111", sex="F"))
        self.stop_cleanly(server)


class AfterProcessingTest(ChannelTestCase):
    LUA = "\n".join([
        'local id = msg:get("PID-3.1")',
        'if id == "BOOM" then',
        '  error("boom went the script")',
        'end',
        'msg:set("MSH-5", "DONE")',
        ''])

    def setUp(self):
        super().setUp()
        self.ehr = Receiver(name="ehr").start()
        self.addCleanup(self.ehr.stop)
        ch = {
            "name": "lab",
            "source": source(ack="after-processing"),
            "filter": {"not": {"path": "PID-3.1", "equals": "SKIP"}},
            "transform": [{"lua": self.LUA}],
            "destinations": [mllp_dest("ehr", self.ehr)],
        }
        self.server = self.start_engine([ch])

    def test_ack_after_filter_and_transform(self):
        server = self.server
        with MllpConnection(server.port("lab")) as conn:
            code, msa2, segs = conn.roundtrip(oru("AP-OK-1", patient_id="1"))
            # The ACK comes only after the channel ran: the store already
            # says what happened to it.
            status = message_rows(server, "AP-OK-1")["AP-OK-1"][1]
            self.assertEqual((code, msa2), ("AA", "AP-OK-1"), segs)
            self.assertNotIn(status, ("received",),
                             "after-processing ACKed before the channel processed it")

            code, msa2, segs = conn.roundtrip(oru("AP-BOOM-1", patient_id="BOOM"))
            self.assertEqual((code, msa2), ("AE", "AP-BOOM-1"),
                             "a transform error must be answered AE: %r\n%s"
                             % (segs, server.logs()))

            code, msa2, segs = conn.roundtrip(oru("AP-SKIP-1", patient_id="SKIP"))
            self.assertIn(code, ("AA", "CA"), "a message filtered on purpose is not an error: "
                          "%r" % segs)
            self.assertEqual(msa2, "AP-SKIP-1")

            code, msa2, segs = conn.roundtrip(oru("AP-OK-2", patient_id="2"))
            self.assertEqual((code, msa2), ("AA", "AP-OK-2"), segs)

        rows = message_rows(server, "AP-%")
        self.assertEqual(rows["AP-BOOM-1"][1], "error", rows)
        error = rows["AP-BOOM-1"][2]
        self.assertIn("boom went the script", error)
        # Lua's own position ("...:3: boom") or "line 3": the line of error().
        self.assertRegex(error, r"(:3:|line 3\b)", "the Lua line number is in the error")
        self.assertEqual(rows["AP-SKIP-1"][1], "filtered", rows)
        self.assertEqual(delivery_rows(server, rows["AP-BOOM-1"][0]), [])

        self.assertTrue(self.ehr.wait_for_ids(["AP-OK-1", "AP-OK-2"], scaled(30)),
                        "ehr got %r\n%s" % (self.ehr.control_ids(), server.logs()))
        self.assertEqual(self.ehr.control_ids(), ["AP-OK-1", "AP-OK-2"])
        self.assertEqual(hl7_get(self.ehr.last_payload("AP-OK-2"), "MSH", 5), "DONE")
        self.stop_cleanly(server)


class SandboxTest(ChannelTestCase):
    def setUp(self):
        super().setUp()
        self.ehr = Receiver(name="ehr").start()
        self.addCleanup(self.ehr.stop)
        self.marker = os.path.join(self.tmp, "escaped")
        self.probe = os.path.join(self.tmp, "probe.lua")
        with open(self.probe, "w") as f:
            f.write('return "LEAK"\n')
        lua = "\n".join([
            'local what = msg:get("PID-3.1")',
            'if what == "EXEC" then os.execute("touch %s-exec")' % self.marker,
            'elseif what == "IO" then local f = io.open("%s-io", "w"); f:write("x"); f:close()'
            % self.marker,
            'elseif what == "REQ" then local m = require("os"); m.execute("touch %s-req")'
            % self.marker,
            # These would pass (AA) if the function were reachable.
            'elseif what == "DOFILE" then msg:set("PID-18", dofile("%s"))' % self.probe,
            'elseif what == "LOADFILE" then msg:set("PID-18", loadfile("%s")())' % self.probe,
            'elseif what == "BYTECODE" then'
            ' msg:set("PID-18", load(string.dump(function() return "LEAK" end))())',
            'elseif what == "DEBUG" then debug.sethook(function() end, "", 1)',
            'elseif what == "PKG" then package.loadlib("libc.so.6", "system")',
            'elseif what == "REP" then msg:set("PID-18", string.rep("x", 1 << 30))',
            'elseif what == "DOUBLE" then local s = "xxxxxxxx"; for i = 1, 40 do s = s .. s end;'
            ' msg:set("PID-18", s)',
            'elseif what == "LOOP" then while true do end',
            'elseif what == "TABLES" then local t = {}; for i = 1, 1e9 do t[i] = {i} end',
            'end',
            'msg:set("MSH-5", "SANDBOXED")',
            ''])
        ch = {
            "name": "lab",
            "source": source(ack="after-processing"),
            "transform": [{"lua": lua}],
            "destinations": [mllp_dest("ehr", self.ehr)],
        }
        self.server = self.start_engine([ch])

    def test_escapes_end_in_error_and_the_engine_keeps_serving(self):
        server = self.server
        attacks = ["EXEC", "IO", "REQ", "DOFILE", "LOADFILE", "BYTECODE", "DEBUG", "PKG", "REP",
                   "DOUBLE", "LOOP", "TABLES"]
        answers = {}
        for n, what in enumerate(attacks):
            cid = "SB-%s" % what
            started = time.monotonic()
            # A fresh connection each time: one stuck script must not hide the next.
            with MllpConnection(server.port("lab"), timeout=scaled(60)) as conn:
                code, msa2, segs = conn.roundtrip(oru(cid, patient_id=what))
            answers[what] = (code, round(time.monotonic() - started, 2))
            self.assertEqual(msa2, cid)
            # A good message right after each attack still goes through.
            with MllpConnection(server.port("lab")) as conn:
                ok = conn.roundtrip(oru("SB-OK-%d" % n, patient_id="OK%d" % n))
            self.assertEqual(ok[0], "AA", "engine stopped processing after %s: %r\n%s"
                             % (what, ok, server.logs()))
        print("sandbox answers (code, seconds): %r" % answers, flush=True)
        for what, (code, _) in answers.items():
            self.assertEqual(code, "AE", "%s was not refused: %r\n%s"
                             % (what, answers, server.logs()))
        self.assertEqual(server.proc.poll(), None, "the engine died")

        rows = message_rows(server, "SB-%")
        for what in attacks:
            status, error = rows["SB-" + what][1], rows["SB-" + what][2]
            self.assertEqual(status, "error", "%s: %r" % (what, rows["SB-" + what]))
            self.assertTrue(error, "%s: error without a reason" % what)
        leftovers = [p for p in os.listdir(self.tmp) if p.startswith("escaped")]
        self.assertEqual(leftovers, [], "a script reached the file system")

        ok_ids = ["SB-OK-%d" % n for n in range(len(attacks))]
        self.assertTrue(self.ehr.wait_for_ids(ok_ids, scaled(30)),
                        "ehr got %r\n%s" % (self.ehr.control_ids(), server.logs()))
        self.assertEqual(self.ehr.control_ids(), ok_ids, "only the good messages are delivered")
        for cid in ok_ids:
            self.assertEqual(hl7_get(self.ehr.last_payload(cid), "MSH", 5), "SANDBOXED")
            # Nothing of an aborted run leaked into the next message.
            self.assertIn(hl7_get(self.ehr.last_payload(cid), "PID", 18), (None, ""))
        self.assert_serving(server, "lab", control_id="SB-ALIVE")
        self.stop_cleanly(server)


class ChainedChannelTest(ChannelTestCase):
    def test_channel_destination_feeds_a_sourceless_channel(self):
        ehr = Receiver(name="ehr").start()
        self.addCleanup(ehr.stop)
        front = {
            "name": "front",
            "source": source(),
            "transform": [{"set": {"path": "MSH-5", "value": "FRONT"}}],
            "destinations": [{"name": "next", "channel": "chained"}],
        }
        chained = {
            "name": "chained",
            "source": "none",
            "transform": [{"set": {"path": "MSH-6", "value": "CHAINED"}}],
            "destinations": [mllp_dest("ehr", ehr)],
        }
        server = self.start_engine([front, chained])
        self.assertNotIn("chained", server.ports, "a source-less channel must not listen")
        ids = ["CH-%d" % i for i in range(5)]
        self.send_all(server, "front", [(cid, oru(cid)) for cid in ids])
        self.assertTrue(ehr.wait_for_ids(ids, scaled(30)),
                        "ehr got %r\n%s" % (ehr.control_ids(), server.logs()))
        self.assertEqual(ehr.control_ids(), ids)
        for cid in ids:
            got = ehr.last_payload(cid)
            self.assertEqual(hl7_get(got, "MSH", 5), "FRONT", got)
            self.assertEqual(hl7_get(got, "MSH", 6), "CHAINED", got)
        # message_rows() keys by control id; here each id is stored twice.
        self.assertTrue(wait_until(lambda: server.db_rows(
            "SELECT COUNT(*) FROM messages WHERE control_id LIKE 'CH-%' AND status = 'sent'"
        )[0][0] == 10, scaled(30)), server.logs())
        rows = server.db_rows("SELECT channel, status, COUNT(*) FROM messages "
                              "WHERE control_id LIKE 'CH-%' GROUP BY channel, status")
        self.assertEqual(sorted(rows), [("chained", "sent", 5), ("front", "sent", 5)],
                         "each message is stored once per channel and ends sent")
        self.stop_cleanly(server)


class BadRulesRefusedTest(ChannelTestCase):
    def test_config_errors_in_rules_stop_startup(self):
        cases = {
            "lua syntax": [{"lua": "if then end\n"}],
            "unknown table": [{"map": {"path": "PID-8", "table": "nope"}}],
            "unknown step": [{"frobnicate": {"path": "PID-8"}}],
            "bad path": [{"set": {"path": "PID-xx", "value": "1"}}],
        }
        for name, transform in cases.items():
            ch = {"name": "lab", "source": source(), "transform": transform,
                  "destinations": [{"name": "out", "file": {"dir": self.tmp}}]}
            path = self.write("bad-%s.yaml" % name.replace(" ", "-"),
                              config_text(channel_config([ch])).replace(
                                  "@STORE@", os.path.join(self.tmp, "bad.db")).encode())
            result = harness.run_junction(["serve", "--config", path], timeout=scaled(30))
            self.assertEqual(result.returncode, 2, "%s: %s" % (name, result.stderr))
            self.assertRegex(result.stderr, re.escape(os.path.basename(path)) + r":\d+:",
                             "%s: errors name file:line" % name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
