"""Authorization of the FHIR API against the real `junction serve` (issue 6).

- No token, a bad signature, an expired token, the wrong audience or issuer,
  alg=none, a token not yet valid -> 401 (a hand-made token with the right key
  is accepted, so the 401s are about the defect, not the minting).
- A missing scope -> 403 (read, search, create, update, delete, /hl7/v2).
- POST /auth/token (client_credentials).
- A patient-A token cannot read, vread, search, chain, _has, _include,
  _revinclude, $everything, history-walk, write, conditionally write or
  transact into patient B's data; each route is its own test, with a control
  showing that a system token does reach B's data through the same route.
- AuditEvent: written per interaction, readable only with the admin scope.
"""

import base64
import json
import time
import unittest
import urllib.parse

from fhir_client import (ADMIN_SCOPE, CLIENT_ID, CLIENT_SECRET, FhirClient, FhirTestCase,
                         claims, entries, hs256_jwt, ids, is_outcome, uniq)

SYS = "http://hospital.example/mrn"
LOINC = "http://loinc.org"
TEST_CODES = "http://junction.example/test-codes"


def obs(patient_id, code, system=LOINC):
    return {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": system, "code": code}]},
            "subject": {"reference": "Patient/" + patient_id},
            "effectiveDateTime": "2024-03-01T07:30:00Z",
            "valueQuantity": {"value": 1, "unit": "1", "system": "http://unitsofmeasure.org",
                              "code": "1"}}


class TokenTest(FhirTestCase):
    """401 for every broken token; 403 for a missing scope."""

    def get_patients(self, token):
        c = FhirClient(self.server.port, token)
        self._clients.append(c)
        return c.get("/Patient?_count=1")

    def assert_401(self, res):
        self.assertOutcome(res, 401)
        self.assertIn("bearer", (res.header("WWW-Authenticate") or "").lower(), res.headers)

    def test_hand_minted_token_is_accepted(self):
        # The control for the cases below: the same minting with the right key works.
        res = self.get_patients(hs256_jwt(claims("system/*.*")))
        self.assertEqual(res.status, 200, res)

    def test_no_token(self):
        self.assert_401(self.get_patients(None))
        c = self.client(token=None)
        self.assert_401(c.post("/Patient", {"resourceType": "Patient"}))
        self.assert_401(c.get("/Patient/anything"))
        self.assert_401(c.post("/", {"resourceType": "Bundle", "type": "transaction",
                                     "entry": []}))
        plain = self.client(token=None, base="")
        res = plain.request("POST", "/hl7/v2", b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5\r",
                            content_type="x-application/hl7-v2+er7")
        self.assertEqual(res.status, 401, res)
        # metadata stays public.
        self.assertEqual(c.get("/metadata").status, 200)

    def test_not_bearer_or_malformed(self):
        c = self.client(token=None)
        self.assert_401(c.get("/Patient", headers={"Authorization": "Basic ZGVtbzpkZW1v"}))
        self.assert_401(c.get("/Patient", headers={"Authorization": "Bearer not.a.jwt"}))
        self.assert_401(c.get("/Patient", headers={"Authorization": "Bearer "}))

    def test_bad_signature(self):
        self.assert_401(self.get_patients(
            hs256_jwt(claims("system/*.*"), secret="another-secret-that-is-long-enough-xxxxx")))
        # A valid token whose payload was changed after signing.
        good = self.server.token("system/Observation.rs")
        head, _, sig = good.split(".")
        forged_claims = claims("system/*.*")
        payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=")
        self.assert_401(self.get_patients("%s.%s.%s" % (head, payload.decode(), sig)))

    def test_alg_none(self):
        self.assert_401(self.get_patients(
            hs256_jwt(claims("system/*.*"), header={"alg": "none", "typ": "JWT"})))

    def test_expired(self):
        now = int(time.time())
        self.assert_401(self.get_patients(
            hs256_jwt(claims("system/*.*", now=now - 7200, ttl=3600))))

    def test_not_yet_valid(self):
        c = claims("system/*.*")
        c["nbf"] = c["iat"] = int(time.time()) + 3600
        c["exp"] = c["nbf"] + 3600
        self.assert_401(self.get_patients(hs256_jwt(c)))

    def test_wrong_audience_and_issuer(self):
        self.assert_401(self.get_patients(hs256_jwt(claims("system/*.*", aud="someone-else"))))
        self.assert_401(self.get_patients(hs256_jwt(claims("system/*.*", iss="https://evil"))))

    def test_missing_scope_is_403(self):
        admin = self.client()
        pid = admin.create({"resourceType": "Patient", "gender": "female"})["id"]
        oid = admin.create(obs(pid, "718-7"))["id"]
        only_obs = self.client("system/Observation.rs")
        self.assertEqual(only_obs.get("/Observation/" + oid).status, 200)
        self.assertOutcome(only_obs.get("/Patient/" + pid), 403)
        self.assertOutcome(only_obs.get("/Patient?_id=" + pid), 403)
        self.assertOutcome(only_obs.post("/Observation", obs(pid, "718-7")), 403)
        # _include of a type the token cannot read.
        self.assertOutcome(only_obs.get("/Observation?_id=%s&_include=Observation:patient" % oid),
                           403)
        read_only = self.client("system/*.rs")
        self.assertOutcome(read_only.put("/Patient/" + pid, {"resourceType": "Patient",
                                                             "id": pid, "gender": "male"}), 403)
        self.assertOutcome(read_only.delete("/Patient/" + pid), 403)
        self.assertOutcome(read_only.transaction([
            {"resource": {"resourceType": "Patient"},
             "request": {"method": "POST", "url": "Patient"}}]), 403)
        self.assertEqual(admin.get("/Patient/" + pid).json()["gender"], "female")
        # v1 syntax too.
        v1 = self.client("system/Patient.read")
        self.assertEqual(v1.get("/Patient/" + pid).status, 200)
        self.assertOutcome(v1.get("/Observation/" + oid), 403)
        self.assertOutcome(v1.post("/Patient", {"resourceType": "Patient"}), 403)
        # Scopes that grant nothing.
        none = self.client("openid launch")
        self.assertOutcome(none.get("/Patient/" + pid), 403)

    def test_hl7_route_needs_its_scope(self):
        c = self.client("system/*.*", base="")
        res = c.request("POST", "/hl7/v2",
                        b"MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X2|P|2.5\rPID|1||X2^^^H^MR\r",
                        content_type="x-application/hl7-v2+er7")
        self.assertEqual(res.status, 403, res)


class TokenEndpointTest(FhirTestCase):

    def token_request(self, **form):
        c = self.client(token=None, base="")
        return c.request("POST", "/auth/token", urllib.parse.urlencode(form),
                         content_type="application/x-www-form-urlencoded",
                         headers={"Accept": "application/json"})

    def test_client_credentials(self):
        res = self.token_request(grant_type="client_credentials", client_id=CLIENT_ID,
                                 client_secret=CLIENT_SECRET, scope="system/Patient.rs")
        self.assertEqual(res.status, 200, res)
        body = res.json()
        self.assertEqual(body["token_type"].lower(), "bearer")
        self.assertGreater(body["expires_in"], 0)
        self.assertEqual(body["scope"], "system/Patient.rs")
        c = self.client(token=body["access_token"])
        self.assertEqual(c.get("/Patient?_count=1").status, 200)
        self.assertEqual(c.get("/Observation?_count=1").status, 403)

    def test_wrong_secret_and_unknown_client(self):
        res = self.token_request(grant_type="client_credentials", client_id=CLIENT_ID,
                                 client_secret="wrong", scope="system/Patient.rs")
        self.assertEqual(res.status, 401, res)
        self.assertEqual(res.json().get("error"), "invalid_client")
        res = self.token_request(grant_type="client_credentials", client_id="nobody",
                                 client_secret=CLIENT_SECRET)
        self.assertEqual(res.status, 401, res)
        self.assertNotIn("access_token", res.text)

    def test_scope_beyond_the_client(self):
        res = self.token_request(grant_type="client_credentials", client_id=CLIENT_ID,
                                 client_secret=CLIENT_SECRET, scope="operator")
        self.assertEqual(res.status, 400, res)
        self.assertEqual(res.json().get("error"), "invalid_scope")
        self.assertNotIn("access_token", res.text)


class PatientContextTest(FhirTestCase):
    """A token with patient=A against B's data, one route per test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.server.client()
        try:
            cls.fam_a, cls.fam_b = uniq("Alpha"), uniq("Bravo")
            cls.mrn_a, cls.mrn_b = uniq("ma"), uniq("mb")
            cls.code_a, cls.code_b = uniq("ca"), uniq("cb")
            cls.pb = c.create({"resourceType": "Patient",
                               "identifier": [{"system": SYS, "value": cls.mrn_b}],
                               "name": [{"family": cls.fam_b}], "gender": "male"})["id"]
            cls.pa = c.create({"resourceType": "Patient",
                               "identifier": [{"system": SYS, "value": cls.mrn_a}],
                               "name": [{"family": cls.fam_a}], "gender": "female",
                               "link": [{"other": {"reference": "Patient/" + cls.pb},
                                         "type": "seealso"}]})["id"]
            cls.obs_a = c.create(obs(cls.pa, cls.code_a, TEST_CODES))["id"]
            cls.obs_b = c.create(obs(cls.pb, cls.code_b, TEST_CODES))["id"]
            cls.enc_b = c.create({"resourceType": "Encounter", "status": "finished",
                                  "class": {"code": "AMB"},
                                  "subject": {"reference": "Patient/" + cls.pb}})["id"]
            # A's report points at B's observation (an _include route into B) ...
            cls.report_a = c.create({"resourceType": "DiagnosticReport", "status": "final",
                                     "code": {"text": "a"},
                                     "subject": {"reference": "Patient/" + cls.pa},
                                     "result": [{"reference": "Observation/" + cls.obs_b}]})["id"]
            # ... and B's report points at A's observation (a _revinclude route into B).
            cls.report_b = c.create({"resourceType": "DiagnosticReport", "status": "final",
                                     "code": {"text": "b"},
                                     "subject": {"reference": "Patient/" + cls.pb},
                                     "result": [{"reference": "Observation/" + cls.obs_a}]})["id"]
            cls.b_ids = {("Patient", cls.pb), ("Observation", cls.obs_b),
                         ("Encounter", cls.enc_b), ("DiagnosticReport", cls.report_b)}
        finally:
            c.close()

    def a(self, scope="patient/*.rs"):
        return self.client(scope, patient=self.pa)

    def admin(self):
        return self.client()

    def assert_no_b(self, res):
        """A 200 with none of B's resources, or a refusal; never B's data. (Links and
        OperationOutcome diagnostics may echo the query, so only resources count.)"""
        self.assertIn(res.status, (200, 201, 403, 404), res)
        if res.status >= 400:
            self.assertTrue(is_outcome(res), res)
            return
        body = res.json()
        resources = entries(body) if body.get("resourceType") == "Bundle" else [body]
        for r in resources:
            key = (r.get("resourceType"), r.get("id"))
            self.assertNotIn(key, self.b_ids, "patient B's resource leaked: %r" % res)
            text = json.dumps(r)
            for secret in (self.fam_b, self.mrn_b, self.code_b):
                self.assertNotIn(secret, text, "patient B's data leaked: %r" % res)

    def found(self, bundle):
        return {(r["resourceType"], r["id"]) for r in entries(bundle)}

    def test_read(self):
        c = self.a()
        res = c.get("/Patient/" + self.pa)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(c.get("/Observation/" + self.obs_a).status, 200)
        for path in ("/Patient/" + self.pb, "/Observation/" + self.obs_b,
                     "/Encounter/" + self.enc_b, "/DiagnosticReport/" + self.report_b):
            with self.subTest(path=path):
                res = c.get(path)
                self.assertOutcome(res, 404)  # not found, never "forbidden": no existence leak
                self.assert_no_b(res)

    def test_vread(self):
        c = self.a()
        self.assertEqual(c.get("/Patient/%s/_history/1" % self.pa).status, 200)
        for path in ("/Patient/%s/_history/1" % self.pb,
                     "/Observation/%s/_history/1" % self.obs_b):
            with self.subTest(path=path):
                res = c.get(path)
                self.assertOutcome(res, 404)
                self.assert_no_b(res)

    def test_search(self):
        c = self.a()
        bundle = c.search("Observation")
        self.assertIn(("Observation", self.obs_a), self.found(bundle))
        for query in ("Observation", "Patient", "Encounter", "DiagnosticReport",
                      "Observation?patient=" + self.pb,
                      "Observation?subject=Patient/" + self.pb,
                      "Observation?code=%s|%s" % (TEST_CODES, self.code_b),
                      "Patient?_id=" + self.pb,
                      "Patient?family=" + self.fam_b,
                      "Patient?identifier=%s|%s" % (SYS, self.mrn_b),
                      "Encounter?_id=" + self.enc_b):
            with self.subTest(query=query):
                res = c.get("/" + query)
                self.assert_no_b(res)
        # System search across types.
        res = c.get("/?_type=Patient,Observation,Encounter,DiagnosticReport&_id=%s,%s,%s,%s"
                    % (self.pb, self.obs_b, self.enc_b, self.report_b))
        self.assert_no_b(res)
        # Counting must not leak either.
        res = c.get("/Observation?patient=%s&_summary=count" % self.pb)
        if res.status == 200:
            self.assertEqual(res.json()["total"], 0)
        # POST _search is the same query.
        res = c.post("/Observation/_search", "patient=" + self.pb,
                     content_type="application/x-www-form-urlencoded")
        self.assert_no_b(res)
        # Control: the system token sees B's observation through the same query.
        self.assertEqual(ids(self.admin().search("Observation?patient=" + self.pb)),
                         [self.obs_b])

    def test_chain(self):
        c = self.a()
        queries = ["Observation?subject:Patient.identifier=%s|%s" % (SYS, self.mrn_b),
                   "Observation?patient.family=" + self.fam_b,
                   "DiagnosticReport?result.code=%s|%s" % (TEST_CODES, self.code_b)]
        for query in queries:
            with self.subTest(query=query):
                self.assert_no_b(c.get("/" + query))
        self.assertEqual(ids(self.admin().search(queries[0])), [self.obs_b])
        # The chain through A's own report to B's observation must not reveal it
        # matched (the report is A's, but the condition is on B's data).
        res = c.get("/DiagnosticReport?result.code=%s|%s" % (TEST_CODES, self.code_b))
        if res.status == 200:
            self.assertEqual(ids(res.json()), [], "the chain evaluated B's observation")
        self.assertEqual(ids(self.admin().search(queries[2])), [self.report_a])

    def test_has(self):
        c = self.a()
        query = "Patient?_has:Observation:patient:code=%s|%s" % (TEST_CODES, self.code_b)
        self.assert_no_b(c.get("/" + query))
        self.assertEqual(ids(self.admin().search(query)), [self.pb])
        # _has from A's patient through B's report (which points at A's observation).
        query = "Observation?_has:DiagnosticReport:result:subject=Patient/" + self.pb
        res = c.get("/" + query)
        self.assert_no_b(res)
        if res.status == 200:
            self.assertEqual(ids(res.json()), [], "_has evaluated B's report")
        self.assertEqual(ids(self.admin().search(query)), [self.obs_a])

    def test_include(self):
        c = self.a()
        query = "DiagnosticReport?_id=%s&_include=DiagnosticReport:result" % self.report_a
        res = c.get("/" + query)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(ids(res.json(), "match"), [self.report_a])
        self.assert_no_b(res)
        self.assertEqual(ids(self.admin().search(query), "include"), [self.obs_b])  # control

        query = "Patient?_id=%s&_include=Patient:link" % self.pa
        res = c.get("/" + query)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(ids(res.json(), "match"), [self.pa])
        self.assert_no_b(res)
        self.assertEqual(ids(self.admin().search(query), "include"), [self.pb])  # control

        query = "DiagnosticReport?_id=%s&_include=DiagnosticReport:result" \
                "&_include:iterate=Observation:patient" % self.report_a
        self.assert_no_b(c.get("/" + query))

    def test_revinclude(self):
        c = self.a()
        query = "Observation?_id=%s&_revinclude=DiagnosticReport:result" % self.obs_a
        res = c.get("/" + query)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(ids(res.json(), "match"), [self.obs_a])
        self.assert_no_b(res)
        self.assertEqual(ids(self.admin().search(query), "include"), [self.report_b])  # control

        query = "Patient?_id=%s&_revinclude=Observation:patient&_revinclude=Encounter:patient" \
                % self.pa
        res = c.get("/" + query)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(ids(res.json(), "include"), [self.obs_a])
        self.assert_no_b(res)

    def test_everything(self):
        c = self.a()
        res = c.get("/Patient/%s/$everything" % self.pb)
        self.assertIn(res.status, (403, 404), res)
        self.assert_no_b(res)
        res = c.get("/Patient/%s/$everything" % self.pa)
        self.assertEqual(res.status, 200, res)
        self.assert_no_b(res)
        got = self.found(res.json())
        self.assertIn(("Patient", self.pa), got)
        self.assertIn(("DiagnosticReport", self.report_a), got)
        # Control: the system token's $everything of B has B's data.
        self.assertTrue(self.b_ids <= self.found(self.admin().search(
            "Patient/%s/$everything?_count=1000" % self.pb)))

    def test_history(self):
        c = self.a()
        res = c.get("/Patient/%s/_history" % self.pb)
        self.assertIn(res.status, (403, 404), res)
        self.assert_no_b(res)
        res = c.get("/Observation/%s/_history" % self.obs_b)
        self.assertIn(res.status, (403, 404), res)
        self.assert_no_b(res)
        self.assertEqual(c.get("/Patient/%s/_history" % self.pa).status, 200)
        for path in ("/Observation/_history?_count=1000", "/Patient/_history?_count=1000",
                     "/_history?_count=1000"):
            with self.subTest(path=path):
                self.assert_no_b(c.get(path))
        self.assertIn(("Observation", self.obs_b),
                      self.found(self.admin().search("Observation/_history?_count=1000")))

    def test_writes_into_b(self):
        c = self.a("patient/*.cruds")
        admin = self.admin()
        before = admin.get("/Observation/" + self.obs_b).json()
        # Create for B.
        self.assertOutcome(c.post("/Observation", obs(self.pb, uniq("x"))), 403)
        # Update, delete B's observation (by id).
        body = dict(before, status="cancelled")
        res = c.put("/Observation/" + self.obs_b, body)
        self.assertIn(res.status, (403, 404), res)
        res = c.delete("/Observation/" + self.obs_b)
        self.assertIn(res.status, (403, 404), res)
        # Moving A's observation over to B.
        mine = admin.get("/Observation/" + self.obs_a).json()
        res = c.put("/Observation/" + self.obs_a,
                    dict(mine, subject={"reference": "Patient/" + self.pb}))
        self.assertOutcome(res, 403)
        # Conditional create / update / delete whose condition matches only B's data
        # (the bodies carry other codes, so nothing A writes here matches it later).
        cond = "code=%s|%s" % (TEST_CODES, self.code_b)
        res = c.post("/Observation", obs(self.pa, uniq("cc"), TEST_CODES),
                     headers={"If-None-Exist": cond})
        self.assertEqual(res.status, 201, "conditional create matched B's data: %r" % res)
        self.assert_no_b(res)
        res = c.put("/Observation?" + cond, obs(self.pa, uniq("cu"), TEST_CODES))
        self.assertIn(res.status, (201, 403), res)  # B's match is invisible: a create at most
        self.assert_no_b(res)
        res = c.delete("/Observation?" + cond)
        self.assertIn(res.status, (200, 204, 403, 404), res)
        # Transaction touching B.
        res = c.transaction([{"resource": body,
                              "request": {"method": "PUT", "url": "Observation/" + self.obs_b}}])
        self.assertIn(res.status, (403, 404), res)
        after = admin.get("/Observation/" + self.obs_b)
        self.assertEqual(after.status, 200, "B's observation was deleted")
        self.assertEqual(after.json()["meta"]["versionId"], before["meta"]["versionId"])
        self.assertEqual(after.json()["status"], "final")
        self.assertEqual(admin.get("/Observation/" + self.obs_a).json()["subject"]["reference"],
                         "Patient/" + self.pa)
        # Control: A may write in A's own compartment with this token.
        self.assertEqual(c.post("/Observation", obs(self.pa, uniq("own"))).status, 201)

    def test_read_only_patient_token_cannot_write(self):
        c = self.a()
        self.assertOutcome(c.post("/Observation", obs(self.pa, uniq("x"))), 403)
        self.assertOutcome(c.delete("/Observation/" + self.obs_a), 403)
        self.assertEqual(self.admin().get("/Observation/" + self.obs_a).status, 200)


class AuditTest(FhirTestCase):

    def test_audit_needs_admin(self):
        for scope, patient in (("system/*.*", None), ("user/*.*", None),
                               ("patient/*.rs", "whoever")):
            with self.subTest(scope=scope):
                c = self.client(scope, patient=patient)
                self.assertOutcome(c.get("/AuditEvent"), 403)
                self.assertOutcome(c.get("/AuditEvent?_count=1"), 403)
        admin = self.client(ADMIN_SCOPE)
        bundle = admin.search("AuditEvent?_count=1")
        self.assertGreater(bundle["total"], 0)
        aid = entries(bundle)[0]["id"]
        self.assertEqual(admin.get("/AuditEvent/" + aid).status, 200)
        self.assertOutcome(self.client("system/*.*").get("/AuditEvent/" + aid), 403)

    def test_interaction_is_audited(self):
        admin = self.client(ADMIN_SCOPE)
        pid = admin.create({"resourceType": "Patient", "gender": "female"})["id"]
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 2))
        subject = uniq("auditor")
        reader = self.client(token=hs256_jwt(claims("system/*.rs", sub=subject)))
        self.assertEqual(reader.get("/Patient/" + pid).status, 200)
        self.assertEqual(reader.get("/Patient/" + uniq("missing")).status, 404)
        bundle = admin.search("AuditEvent?_lastUpdated=ge%s&_count=1000" % since)
        mine = [e for e in entries(bundle) if subject in json.dumps(e)]
        self.assertGreaterEqual(len(mine), 2, "the read and the failed read are audited: %r"
                                % [json.dumps(e)[:300] for e in entries(bundle)][:5])
        read_events = [e for e in mine if ("Patient/" + pid) in json.dumps(e)]
        self.assertTrue(read_events, "the audit event names the patient read")
        ev = read_events[0]
        self.assertEqual(ev["resourceType"], "AuditEvent")
        self.assertEqual(ev.get("outcome"), "0")
        self.assertIn("recorded", ev)
        self.assertTrue(any(e.get("outcome") not in (None, "0") for e in mine),
                        "the 404 is audited as a failure")

    def test_audit_search_parameters(self):
        # The audit trail lives in its own table (rendered as AuditEvent):
        # searched by patient, agent, entity, action, outcome, with paging.
        admin = self.client(ADMIN_SCOPE)
        pid = admin.create({"resourceType": "Patient", "gender": "male"})["id"]
        oid = admin.create(obs(pid, uniq("code"), TEST_CODES))["id"]
        subject = uniq("searcher")
        reader = self.client(token=hs256_jwt(claims("system/*.rs", sub=subject)))
        self.assertEqual(reader.get("/Observation/" + oid).status, 200)
        self.assertEqual(reader.get("/Observation/" + uniq("missing")).status, 404)
        self.assertEqual(reader.get("/Patient?gender=male&_count=1").status, 200)

        mine = admin.search("AuditEvent?agent=%s" % subject)
        self.assertEqual(mine["total"], 3, json.dumps(mine)[:500])
        by_patient = admin.search("AuditEvent?agent=%s&patient=%s&subtype=read" % (subject, pid))
        self.assertEqual(by_patient["total"], 1, "the Observation read names its patient")
        ev = entries(by_patient)[0]
        self.assertEqual(ev["subtype"][0]["code"], "read")
        self.assertIn("Observation/" + oid, json.dumps(ev))
        self.assertEqual(admin.get("/AuditEvent/" + ev["id"]).status, 200)
        failed = admin.search("AuditEvent?agent=%s&outcome=4" % subject)
        self.assertEqual(failed["total"], 1)
        searches = admin.search("AuditEvent?agent=%s&action=E" % subject)
        self.assertEqual(searches["total"], 1)
        text = json.dumps(entries(searches)[0])
        self.assertIn("gender", text, "parameter names are recorded")
        self.assertNotIn("male", text.replace("female", ""), "values are not")
        by_entity = admin.search("AuditEvent?entity=Observation/%s&agent=%s" % (oid, subject))
        self.assertEqual(by_entity["total"], 1)
        page = admin.search("AuditEvent?agent=%s&_count=1&_sort=-date" % subject)
        self.assertEqual(len(entries(page)), 1)
        self.assertEqual(entries(page)[0]["subtype"][0]["code"], "search-type", "newest first")
        self.assertTrue(any(link["relation"] == "next" for link in page["link"]))


if __name__ == "__main__":
    unittest.main()
