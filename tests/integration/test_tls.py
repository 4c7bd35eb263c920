"""MLLP over TLS and mutual TLS, with certificates made here by the openssl CLI.

A CA signs a server certificate (SAN IP:127.0.0.1) and a client certificate; a
second CA signs a rogue client certificate. A plain client is refused by a TLS
listener; a client without a certificate (or with one from another CA) is
refused under mTLS; `junction send --tls --ca --cert --key` works.
"""

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import unittest

import harness
from harness import MllpConnection, make_message, mllp_channel, parse_ack, run_junction, scaled


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(directory):
    """CA, server (SAN IP:127.0.0.1, DNS:localhost), client, and a rogue CA + client."""
    os.makedirs(directory, exist_ok=True)

    def ca(name):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", name + ".key", "-out", name + ".pem", "-subj", "/CN=" + name,
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)

    def leaf(name, ca_name, ext):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
                "-out", name + ".csr", "-subj", "/CN=" + name, cwd=directory)
        with open(os.path.join(directory, name + ".ext"), "w") as f:
            f.write(ext)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", ca_name + ".pem",
                "-CAkey", ca_name + ".key", "-CAcreateserial", "-days", "2",
                "-out", name + ".pem", "-extfile", name + ".ext", cwd=directory)

    ca("ca")
    ca("rogue-ca")
    leaf("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
         "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    leaf("client", "ca", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    leaf("rogue", "rogue-ca", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n")
    names = ("ca", "server", "client", "rogue", "rogue-ca")
    return {name: os.path.join(directory, name) for name in names}


@unittest.skipUnless(shutil.which("openssl"), "the openssl CLI is not installed")
class TlsTest(harness.ServeTestCase):
    @classmethod
    def setUpClass(cls):
        cls._pki_dir = tempfile.TemporaryDirectory(prefix="junction-pki-")
        cls.pki = make_pki(cls._pki_dir.name)

    @classmethod
    def tearDownClass(cls):
        cls._pki_dir.cleanup()

    def setUp(self):
        super().setUp()
        p = self.pki
        self.server = self.serve([
            mllp_channel("tls", tls={"cert": p["server"] + ".pem", "key": p["server"] + ".key"}),
            mllp_channel("mtls", tls={"cert": p["server"] + ".pem", "key": p["server"] + ".key",
                                      "client_ca": p["ca"] + ".pem"}),
            mllp_channel("plain"),
            mllp_channel("tls_short", idle_timeout_ms=1000, read_timeout_ms=1000,
                         tls={"cert": p["server"] + ".pem", "key": p["server"] + ".key"}),
        ])

    def tearDown(self):
        try:
            self.stop_cleanly(self.server)
        finally:
            super().tearDown()

    def tls_connect(self, channel, cert=None):
        context = ssl.create_default_context(cafile=self.pki["ca"] + ".pem")
        if cert:
            context.load_cert_chain(self.pki[cert] + ".pem", self.pki[cert] + ".key")
        raw = socket.create_connection(("127.0.0.1", self.server.port(channel)),
                                       timeout=scaled(20))
        return MllpConnection(0, sock=context.wrap_socket(raw, server_hostname="127.0.0.1"))

    def assert_refused(self, connect, what):
        """The connection fails at the handshake or is closed without any ACK."""
        try:
            conn = connect()
        except (ssl.SSLError, OSError):
            return
        with conn:
            try:
                conn.send(make_message("REFUSED"))
                reply = conn.recv_frame(scaled(10))
            except (ssl.SSLError, OSError):
                return
            self.assertIsNone(reply, "%s got an answer: %r" % (what, reply))

    def test_tls_roundtrip(self):
        with self.tls_connect("tls") as conn:
            for i in range(3):
                code, msa2, _ = conn.roundtrip(make_message("TLS-%d" % i))
                self.assertEqual((code, msa2), ("AA", "TLS-%d" % i))
        self.assertEqual(self.server.db_rows(
            "SELECT COUNT(*) FROM messages WHERE control_id LIKE 'TLS-%'")[0][0], 3)

    def test_plain_client_refused_by_tls_listener(self):
        with MllpConnection(self.server.port("tls")) as conn:
            try:
                conn.send(make_message("PLAIN-ON-TLS"))
            except OSError:
                pass
            closed = conn.wait_closed(scaled(15))
            self.assertNotIn(b"MSA|", conn.buffer)
            self.assertTrue(closed, "a plain client on a TLS listener was left hanging")
        self.assertEqual(self.server.db_rows(
            "SELECT COUNT(*) FROM messages WHERE control_id = 'PLAIN-ON-TLS'")[0][0], 0)
        with self.tls_connect("tls") as conn:
            self.assertEqual(conn.roundtrip(make_message("TLS-AFTER-PLAIN"))[0], "AA")

    def test_stalled_handshake_times_out(self):
        # A client that connects and never starts the handshake must not hold a
        # connection slot forever.
        with MllpConnection(self.server.port("tls_short")) as conn:
            self.assertTrue(conn.wait_closed(scaled(15)), "a stalled TLS handshake never timed out")
        with self.tls_connect("tls_short") as conn:
            self.assertEqual(conn.roundtrip(make_message("TLS-SHORT"))[0], "AA")

    def test_mtls_requires_a_client_certificate_from_the_ca(self):
        self.assert_refused(lambda: self.tls_connect("mtls"), "a client without a certificate")
        self.assert_refused(lambda: self.tls_connect("mtls", cert="rogue"),
                            "a client with a certificate from another CA")
        self.assertEqual(self.server.db_rows(
            "SELECT COUNT(*) FROM messages WHERE control_id = 'REFUSED'")[0][0], 0)
        with self.tls_connect("mtls", cert="client") as conn:
            code, msa2, _ = conn.roundtrip(make_message("MTLS-1"))
        self.assertEqual((code, msa2), ("AA", "MTLS-1"))

    def test_junction_send_tls_and_mtls(self):
        p = self.pki
        path = self.write("msg.hl7", make_message("SEND-MTLS"))
        result = run_junction(["send", "127.0.0.1:%d" % self.server.port("mtls"), path, "--tls",
                               "--ca", p["ca"] + ".pem", "--cert", p["client"] + ".pem",
                               "--key", p["client"] + ".key", "--timeout", "20"])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"SEND-MTLS\s+AA\b")

        path = self.write("msg2.hl7", make_message("SEND-TLS"))
        result = run_junction(["send", "127.0.0.1:%d" % self.server.port("tls"), path, "--tls",
                               "--ca", p["ca"] + ".pem", "--timeout", "20"])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertRegex(result.stdout, r"SEND-TLS\s+AA\b")

        # Without a client certificate the mTLS listener refuses: a failure exit, no AA.
        path = self.write("msg3.hl7", make_message("SEND-NOCERT"))
        result = run_junction(["send", "127.0.0.1:%d" % self.server.port("mtls"), path, "--tls",
                               "--ca", p["ca"] + ".pem", "--timeout", "10", "--retries", "0"])
        self.assertNotEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertNotRegex(result.stdout, r"SEND-NOCERT\s+AA\b")

        # A client that does not trust the server's CA refuses the server.
        path = self.write("msg4.hl7", make_message("SEND-UNTRUSTED"))
        result = run_junction(["send", "127.0.0.1:%d" % self.server.port("tls"), path, "--tls",
                               "--ca", p["rogue-ca"] + ".pem", "--timeout", "10", "--retries", "0"])
        self.assertNotEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertEqual(self.server.db_rows(
            "SELECT COUNT(*) FROM messages WHERE control_id = 'SEND-UNTRUSTED'")[0][0], 0)

        self.assert_serving(self.server, "plain")


if __name__ == "__main__":
    unittest.main(verbosity=2)
