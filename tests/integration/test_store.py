"""What the store keeps: duplicates stored once, invalid messages stored with an error.

- detect_duplicates: true: the same control id (same sender) twice is ACKed AA
  both times and `junction messages list --control-id X --json` shows one row.
- validate: true: an invalid message gets AE/CE with ERR segments and is still
  stored, with status `error`.
"""

import unittest

import harness
from harness import MllpConnection, make_message, mllp_channel


class DuplicatesTest(harness.ServeTestCase):
    def test_duplicate_control_id_is_acked_twice_and_stored_once(self):
        server = self.serve([mllp_channel("inbound")], detect_duplicates=True)
        message = make_message("DUP-1", patient_id="DUPPAT")
        port = server.port("inbound")
        with MllpConnection(port) as conn:
            first = conn.roundtrip(message)
            second = conn.roundtrip(message)
        # And again on another connection.
        with MllpConnection(port) as conn:
            third = conn.roundtrip(message)
        for code, msa2, segments in (first, second, third):
            self.assertEqual((code, msa2), ("AA", "DUP-1"), segments)

        rows = server.messages_list("--control-id", "DUP-1")
        self.assertEqual(len(rows), 1, rows)
        row = rows[0]
        for key in ("id", "control_id", "type", "patient_id", "received_at", "status"):
            self.assertIn(key, row)
        self.assertEqual(row["control_id"], "DUP-1")
        self.assertEqual(row["patient_id"], "DUPPAT")
        self.assertIn("ADT", row["type"])
        self.assertEqual(server.db_rows(
            "SELECT COUNT(*) FROM messages WHERE control_id = 'DUP-1'")[0][0], 1)

        # Same control id from another sender is not a duplicate.
        with MllpConnection(port) as conn:
            code, _, _ = conn.roundtrip(make_message("DUP-1", sending_app="OTHERAPP"))
        self.assertEqual(code, "AA")
        self.assertEqual(len(server.messages_list("--control-id", "DUP-1")), 2)

        self.assert_serving(server, "inbound")
        self.stop_cleanly(server)


class ValidationTest(harness.ServeTestCase):
    def test_invalid_message_gets_ae_and_is_stored_with_error(self):
        server = self.serve([mllp_channel("checked", validate=True)])
        # ADT^A01 without its required EVN, PID and PV1 segments.
        invalid = (b"MSH|^~\\&|LAB|HOSP|JUNCTION|HOSP|20240101120000||ADT^A01^ADT_A01|"
                   b"INVALID-1|P|2.5\rZZZ|1\r")
        with MllpConnection(server.port("checked")) as conn:
            code, msa2, segments = conn.roundtrip(invalid)
            self.assertIn(code, ("AE", "CE"), segments)
            self.assertEqual(msa2, "INVALID-1")
            self.assertTrue(any(s.startswith("ERR|") for s in segments), segments)
            # A valid message on the same connection is still accepted.
            code, msa2, segments = conn.roundtrip(make_message("VALID-1"))
            self.assertEqual((code, msa2), ("AA", "VALID-1"), segments)

        rows = server.messages_list("--control-id", "INVALID-1")
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0]["status"], "error", rows)
        self.assertEqual(len(server.messages_list("--status", "error")), 1)
        self.assertEqual(server.db_rows(
            "SELECT status FROM messages WHERE control_id = 'INVALID-1'"), [("error",)])
        valid = server.messages_list("--control-id", "VALID-1")
        self.assertEqual(len(valid), 1)
        self.assertNotEqual(valid[0]["status"], "error")

        self.assert_serving(server, "checked")
        self.stop_cleanly(server)


if __name__ == "__main__":
    unittest.main(verbosity=2)
