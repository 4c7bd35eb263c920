"""Bad input to the FHIR API (issue 6, "Tests"): every case is answered with a
4xx OperationOutcome, and afterwards the server still answers (/healthz and
metadata on a fresh connection) and the store is unchanged (the Patient and
Observation totals, and a known resource's version, are what they were).
"""

import json
import unittest
import uuid

from fhir_client import FhirTestCase, is_outcome, parse_status, raw_http, uniq


class BadInputTest(FhirTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.server.client()
        try:
            cls.known = c.create({"resourceType": "Patient", "id": "ignored",
                                  "name": [{"family": uniq("Known")}], "gender": "female"})
        finally:
            c.close()

    def snapshot(self):
        c = self.client()
        known = c.get("/Patient/" + self.known["id"])
        self.assertEqual(known.status, 200, known)
        return (c.total("Patient"), c.total("Observation"), known.json()["meta"]["versionId"])

    def setUp(self):
        super().setUp()
        self.before = self.snapshot()

    def assert_unchanged(self):
        self.assertTrue(self.server.alive(), "server stopped answering\n" + self.server.logs())
        self.assertEqual(self.snapshot(), self.before, "the store changed")

    def test_malformed_json(self):
        c = self.client()
        for body in (b'{"resourceType": "Patient", "name": [', b"not json at all",
                     b'{"resourceType": "Patient",}', b"", b"\xff\xfe{}",
                     b'{"resourceType": "Patient", "gender": "fe\xffmale"}'):
            with self.subTest(body=body[:40]):
                self.assertOutcome(c.post("/Patient", body), 400)
                self.assertOutcome(c.put("/Patient/" + self.known["id"], body), 400)
        self.assert_unchanged()

    def test_not_an_object(self):
        c = self.client()
        for body in ([], [{"resourceType": "Patient"}], "\"Patient\"", "42", "null"):
            with self.subTest(body=body):
                self.assertOutcome(c.post("/Patient", body), 400)
        self.assertOutcome(c.post("/Patient", {"name": [{"family": "NoType"}]}), 400)
        self.assert_unchanged()

    def test_wrong_resource_type(self):
        c = self.client()
        self.assertOutcome(c.post("/Patient", {"resourceType": "Observation", "status": "final",
                                               "code": {"text": "x"}}), 400, 422)
        body = dict(self.known, resourceType="Observation")
        self.assertOutcome(c.put("/Patient/" + self.known["id"], body), 400, 422)
        self.assertOutcome(c.post("/Patient", {"resourceType": "NoSuchType"}), 400, 404, 422)
        # Not an R4 type (other R4 types are stored generically; this one is not R4).
        self.assertOutcome(c.post("/NoSuchType", {"resourceType": "NoSuchType"}), 400, 404)
        self.assert_unchanged()

    def test_id_mismatch(self):
        c = self.client()
        self.assertOutcome(c.put("/Patient/" + self.known["id"],
                                 dict(self.known, id=self.known["id"] + "x", gender="male")),
                           400)
        # An update without an id in the body is refused as well (R4: SHALL have an id).
        body = dict(self.known, gender="male")
        del body["id"]
        self.assertOutcome(c.put("/Patient/" + self.known["id"], body), 400)
        self.assertOutcome(c.put("/Patient/bad$id", dict(self.known, id="bad$id")), 400)
        self.assert_unchanged()

    def test_invalid_ids_in_the_url(self):
        c = self.client()
        for path in ("/Patient/" + "a" * 65, "/Patient/x%20y", "/Patient/%00"):
            with self.subTest(path=path):
                res = c.get(path)
                self.assertOutcome(res, 400, 404)
        self.assert_unchanged()

    def test_body_of_20_mb_is_413(self):
        big = json.dumps({"resourceType": "Patient",
                          "text": {"status": "generated",
                                   "div": "<div>" + "x" * (20 * 1024 * 1024) + "</div>"}})
        head = ("POST /fhir/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Authorization: Bearer %s\r\nContent-Type: application/fhir+json\r\n"
                "Content-Length: %d\r\nConnection: close\r\n\r\n"
                % (self.server.token(), len(big))).encode()
        raw = raw_http(self.server.port, head + big.encode())
        self.assertEqual(parse_status(raw), 413, raw[:500])
        body = raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else b""
        self.assertIn(b"OperationOutcome", body, raw[:500])
        self.assert_unchanged()

    def test_resource_over_the_store_limit_is_413(self):
        # 9 MiB: under the 16 MiB body limit, over the 8 MiB resource limit.
        c = self.client()
        big = {"resourceType": "Patient", "text": {"status": "generated",
                                                   "div": "<div>" + "y" * (9 << 20) + "</div>"}}
        self.assertOutcome(c.post("/Patient", big), 413)
        self.assert_unchanged()

    def test_body_of_20_mb_chunked_is_413(self):
        chunk = b"x" * (1024 * 1024)
        head = ("POST /fhir/Patient HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Authorization: Bearer %s\r\nContent-Type: application/fhir+json\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                % self.server.token()).encode()
        data = head + b'14\r\n{"resourceType": "P"\r\n'
        data += b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(20)) + b"0\r\n\r\n"
        raw = raw_http(self.server.port, data)
        self.assertEqual(parse_status(raw), 413, raw[:500])
        self.assert_unchanged()

    def test_deep_nesting_is_400(self):
        c = self.client()
        depth = 10000
        deep = '{"resourceType": "Patient", "extension": ' + "[" * depth + "]" * depth + "}"
        self.assertOutcome(c.post("/Patient", deep), 400)
        deep_objects = ('{"resourceType": "Patient", "x": ' + '{"a": ' * depth + "1"
                        + "}" * depth + "}")
        self.assertOutcome(c.post("/Patient", deep_objects), 400)
        # Inside a transaction Bundle too.
        bundle = ('{"resourceType": "Bundle", "type": "transaction", "entry": [{"request": '
                  '{"method": "POST", "url": "Patient"}, "resource": {"resourceType": "Patient",'
                  ' "extension": ' + "[" * depth + "]" * depth + "}}]}")
        self.assertOutcome(c.post("/", bundle), 400)
        # Reasonable depth is fine (the bound is not absurdly low): 20 levels of extension.
        ext = {"url": "http://example.org/leaf", "valueString": "x"}
        for _ in range(20):
            ext = {"url": "http://example.org/nest", "extension": [ext]}
        ok = c.post("/Observation", {"resourceType": "Observation", "status": "final",
                                     "code": {"text": "nest"}, "extension": [ext]})
        self.assertEqual(ok.status, 201, ok)
        self.before = (self.before[0], self.before[1] + 1, self.before[2])
        self.assert_unchanged()

    def test_unknown_search_parameter(self):
        c = self.client()
        family = self.known["name"][0]["family"]
        plain = c.search("Patient?family=" + family)
        self.assertEqual(plain["total"], 1)
        # Lenient (the default, and explicit): ignored, same result.
        res = c.get("/Patient?family=%s&not-a-param=1" % family)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json()["total"], 1)
        self.assertNotIn("not-a-param", (s.get("url", "") for s in res.json().get("link", [])
                                         if s.get("relation") == "self"))
        res = c.get("/Patient?family=%s&not-a-param=1" % family,
                    headers={"Prefer": "handling=lenient"})
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json()["total"], 1)
        # Strict: 400 naming the parameter.
        res = c.get("/Patient?family=%s&not-a-param=1" % family,
                    headers={"Prefer": "handling=strict"})
        self.assertOutcome(res, 400)
        self.assertIn("not-a-param", res.text)
        # A known parameter is fine under strict handling.
        res = c.get("/Patient?family=" + family, headers={"Prefer": "handling=strict"})
        self.assertEqual(res.status, 200, res)
        self.assert_unchanged()

    def test_bad_search_values(self):
        c = self.client()
        for query in ("Patient?birthdate=not-a-date", "Patient?birthdate=xx2020",
                      "Observation?value-quantity=abc", "Patient?_count=-1",
                      "Patient?_sort=not-a-param", "Observation?patient:nonsense=1",
                      "Patient?_include=Nope:nope"):
            with self.subTest(query=query):
                self.assertOutcome(c.get("/" + query, headers={"Prefer": "handling=strict"}),
                                   400)
        self.assert_unchanged()

    def test_bad_transaction_changes_nothing(self):
        c = self.client()
        mrn = uniq("m")
        for bundle in (
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                    {"resource": {"resourceType": "Patient",
                                  "identifier": [{"system": "urn:x", "value": mrn}]},
                     "request": {"method": "POST", "url": "Patient"}},
                    {"resource": {"resourceType": "Observation"},
                     "request": {"method": "FROB", "url": "Observation"}}]},
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                    {"resource": {"resourceType": "Patient",
                                  "identifier": [{"system": "urn:x", "value": mrn}]},
                     "request": {"method": "POST", "url": "Patient"}},
                    {"resource": {"resourceType": "Observation", "status": "final",
                                  "code": {"text": "x"},
                                  "subject": {"reference": "urn:uuid:" + str(uuid.uuid4())}},
                     "request": {"method": "POST", "url": "Observation"}}]},
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                    {"resource": {"resourceType": "Patient",
                                  "identifier": [{"system": "urn:x", "value": mrn}]},
                     "request": {"method": "POST", "url": "Patient"}},
                    {"request": {"method": "DELETE", "url": "Patient/" + self.known["id"]}},
                    {"request": {"method": "PUT", "url": "Patient/" + self.known["id"]},
                     "resource": dict(self.known, gender="male")}]},
                {"resourceType": "Bundle", "type": "transaction", "entry": [{"x": 1}]},
                {"resourceType": "Bundle", "type": "transaction", "entry": "nope"}):
            with self.subTest(bundle=json.dumps(bundle)[:120]):
                res = c.post("/", bundle)
                self.assertIn(res.status, range(400, 500), res)
                self.assertTrue(is_outcome(res), res)
        self.assertEqual(c.total("Patient?identifier=urn:x|" + mrn), 0)
        self.assert_unchanged()

    def test_garbage_requests_keep_the_server_up(self):
        port = self.server.port
        for data in (b"GARBAGE\r\n\r\n", b"GET /fhir/Patient HTTP/1.1\r\nHost: x\r\n" +
                     b"X-Long: " + b"a" * (64 * 1024) + b"\r\n\r\n",
                     b"POST /fhir/Patient HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"):
            with self.subTest(data=data[:40]):
                raw = raw_http(port, data)
                status = parse_status(raw)
                if status is not None:
                    self.assertIn(status, range(400, 500), raw[:300])
        self.assert_unchanged()


if __name__ == "__main__":
    unittest.main()
