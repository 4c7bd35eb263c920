"""FHIR R4 conformance against the real `junction serve` (issue 6, "Tests").

Each interaction (read, vread, create, update, update-as-create, conditional
create/update/delete, delete, history, search GET and POST, transaction, batch,
Patient/$everything, metadata), the HTTP semantics (ETag, If-Match, Prefer,
Location, OperationOutcome errors) and the main search parameters, modifiers,
prefixes, chaining, _has, _include/_revinclude, _sort, _count paging,
_summary=count, _elements and _total. One server for the class; each test
uses its own unique identifiers and names.
"""

import re
import time
import unittest
import urllib.parse
import uuid

from fhir_client import FhirTestCase, entries, ids, is_outcome, link, uniq

SYS = "http://hospital.example/mrn"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
TEST_CODES = "http://junction.example/test-codes"


def patient(family, given="Ann", *, mrn=None, birth="1980-02-29", gender="female", **extra):
    p = {"resourceType": "Patient", "name": [{"family": family, "given": [given]}],
         "gender": gender}
    if birth is not None:
        p["birthDate"] = birth
    if mrn is not None:
        p["identifier"] = [{"system": SYS, "value": mrn}]
    p.update(extra)
    return p


def observation(patient_id, *, code="718-7", system=LOINC, display="Hemoglobin", value=13.2,
                unit="g/dL", date="2024-03-01T07:30:00Z", status="final",
                category="laboratory", encounter=None, **extra):
    o = {"resourceType": "Observation", "status": status,
         "category": [{"coding": [{
             "system": "http://terminology.hl7.org/CodeSystem/observation-category",
             "code": category}]}],
         "code": {"coding": [{"system": system, "code": code, "display": display}],
                  "text": display},
         "subject": {"reference": "Patient/" + patient_id},
         "effectiveDateTime": date,
         "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit}}
    if encounter is not None:
        o["encounter"] = {"reference": "Encounter/" + encounter}
    o.update(extra)
    return o


def q(value):
    """Percent-encodes a search value (keeps ',' '|' ':' which are syntax)."""
    return urllib.parse.quote(value, safe=",|:/")


class InteractionsTest(FhirTestCase):

    def test_metadata_is_public_and_lists_what_is_implemented(self):
        res = self.client(token=None).get("/metadata")
        self.assertEqual(res.status, 200, res)
        cs = res.json()
        self.assertEqual(cs["resourceType"], "CapabilityStatement")
        self.assertEqual(cs["fhirVersion"], "4.0.1")
        self.assertIn("json", " ".join(cs.get("format", [])))
        rest = cs["rest"][0]
        self.assertEqual(rest["mode"], "server")
        by_type = {r["type"]: r for r in rest["resource"]}
        for t in ("Patient", "Observation", "Encounter", "DiagnosticReport", "AuditEvent"):
            self.assertIn(t, by_type)
        patient_ops = {i["code"] for i in by_type["Patient"]["interaction"]}
        self.assertTrue({"read", "vread", "update", "delete", "history-instance",
                         "history-type", "create", "search-type"} <= patient_ops, patient_ops)
        patient_params = {p["name"] for p in by_type["Patient"].get("searchParam", [])}
        self.assertTrue({"identifier", "name", "family", "given", "birthdate", "gender",
                         "address-postalcode", "telecom", "phone", "email"} <= patient_params,
                        patient_params)
        obs_params = {p["name"] for p in by_type["Observation"].get("searchParam", [])}
        self.assertTrue({"patient", "subject", "code", "category", "date", "status",
                         "value-quantity", "encounter"} <= obs_params, obs_params)
        # "Lists exactly what is supported": PATCH is answered 405, so it is not listed.
        self.assertNotIn("patch", patient_ops)
        system_ops = {i["code"] for i in rest.get("interaction", [])}
        self.assertTrue({"transaction", "batch"} <= system_ops, system_ops)

    def test_create_read_vread_update_delete(self):
        c = self.client()
        family = uniq("Fam")
        body = patient(family, id="client-chosen-id")
        res = c.post("/Patient", body)
        self.assertEqual(res.status, 201, res)
        created = res.json()
        pid = created["id"]
        self.assertNotEqual(pid, "client-chosen-id", "create must ignore the id in the body")
        self.assertRegex(pid, r"^[A-Za-z0-9\-.]{1,64}$")
        self.assertEqual(created["meta"]["versionId"], "1")
        self.assertRegex(created["meta"]["lastUpdated"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
        self.assertEqual(res.header("ETag"), 'W/"1"')
        self.assertRegex(res.header("Location", ""),
                         r"/fhir/Patient/%s/_history/1$" % re.escape(pid))
        self.assertEqual(created["name"][0]["family"], family)

        res = c.get("/Patient/" + pid)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.header("ETag"), 'W/"1"')
        self.assertIsNotNone(res.header("Last-Modified"))
        self.assertIn("fhir+json", res.header("Content-Type", ""))
        self.assertEqual(res.json()["name"][0]["family"], family)
        self.assertEqual(res.json()["birthDate"], "1980-02-29")

        updated = dict(res.json())
        updated["name"] = [{"family": family + "Two", "given": ["Ann"]}]
        res = c.put("/Patient/" + pid, updated)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json()["meta"]["versionId"], "2")
        self.assertEqual(res.header("ETag"), 'W/"2"')

        res = c.get("/Patient/%s/_history/1" % pid)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json()["name"][0]["family"], family)
        self.assertEqual(res.json()["meta"]["versionId"], "1")
        res = c.get("/Patient/%s/_history/2" % pid)
        self.assertEqual(res.json()["name"][0]["family"], family + "Two")
        self.assertOutcome(c.get("/Patient/%s/_history/7" % pid), 404)

        res = c.delete("/Patient/" + pid)
        self.assertStatus(res, 200, 204)
        self.assertOutcome(c.get("/Patient/" + pid), 410)
        # History is kept: the old versions are still readable.
        self.assertEqual(c.get("/Patient/%s/_history/2" % pid).status, 200)
        hist = c.search("Patient/%s/_history" % pid)
        self.assertEqual(hist["type"], "history")
        self.assertEqual(hist["total"], 3)
        methods = [e["request"]["method"] for e in hist["entry"]]
        self.assertEqual(methods, ["DELETE", "PUT", "POST"], "newest first")
        # A deleted resource is not found by search.
        self.assertEqual(c.total("Patient?family=" + family), 0)

    def test_read_unknown_is_404_outcome(self):
        c = self.client()
        self.assertOutcome(c.get("/Patient/" + uniq("nope")), 404)
        self.assertOutcome(c.get("/Observation/" + uniq("nope") + "/_history/1"), 404)

    def test_update_as_create_and_unchanged_update(self):
        c = self.client()
        pid = uniq("upc-")
        body = patient(uniq("Fam"), id=pid)
        res = c.put("/Patient/" + pid, body)
        self.assertEqual(res.status, 201, res)
        self.assertEqual(res.json()["id"], pid)
        self.assertEqual(res.header("ETag"), 'W/"1"')
        self.assertRegex(res.header("Location", ""), r"/fhir/Patient/%s/_history/1$" % pid)
        # The same content again adds no version.
        res = c.put("/Patient/" + pid, body)
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json()["meta"]["versionId"], "1")
        self.assertEqual(c.search("Patient/%s/_history" % pid)["total"], 1)

    def test_update_id_must_match_the_url(self):
        c = self.client()
        pid = c.create(patient(uniq("Fam")))["id"]
        res = c.put("/Patient/" + pid, patient("Other", id=pid + "x"))
        self.assertOutcome(res, 400)
        self.assertEqual(c.get("/Patient/" + pid).json()["meta"]["versionId"], "1")

    def test_if_match(self):
        c = self.client()
        created = c.create(patient(uniq("Fam")))
        pid = created["id"]
        body = dict(created, gender="other")
        res = c.put("/Patient/" + pid, body, headers={"If-Match": 'W/"2"'})
        self.assertOutcome(res, 412)
        self.assertEqual(c.get("/Patient/" + pid).json()["gender"], "female")
        res = c.put("/Patient/" + pid, body, headers={"If-Match": 'W/"1"'})
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json()["gender"], "other")
        self.assertEqual(res.header("ETag"), 'W/"2"')
        # A stale ETag after the update conflicts again.
        res = c.put("/Patient/" + pid, dict(body, gender="male"), headers={"If-Match": 'W/"1"'})
        self.assertOutcome(res, 412)

    def test_if_none_match_and_delete_if_match(self):
        c = self.client()
        pid = c.create(patient(uniq("Fam")))["id"]
        res = c.get("/Patient/" + pid, headers={"If-None-Match": 'W/"1"'})
        self.assertEqual(res.status, 304, res)
        self.assertEqual(c.get("/Patient/" + pid, headers={"If-None-Match": 'W/"7"'}).status, 200)
        self.assertOutcome(c.delete("/Patient/" + pid, headers={"If-Match": 'W/"2"'}), 412)
        self.assertEqual(c.get("/Patient/" + pid).status, 200)
        self.assertStatus(c.delete("/Patient/" + pid, headers={"If-Match": 'W/"1"'}), 200, 204)
        self.assertEqual(c.get("/Patient/" + pid).status, 410)

    def test_system_search(self):
        c = self.client()
        p = c.create(patient(uniq("Fam")))
        o = c.create(observation(p["id"]))
        bundle = c.search("?_type=Patient,Observation&_id=%s,%s" % (p["id"], o["id"]))
        self.assertEqual({(r["resourceType"], r["id"]) for r in entries(bundle)},
                         {("Patient", p["id"]), ("Observation", o["id"])})

    def test_prefer_return(self):
        c = self.client()
        res = c.post("/Patient", patient(uniq("Fam")), headers={"Prefer": "return=minimal"})
        self.assertEqual(res.status, 201, res)
        self.assertEqual(res.body.strip(), b"")
        self.assertIsNotNone(res.header("Location"))
        self.assertEqual(res.header("ETag"), 'W/"1"')
        pid = re.search(r"/Patient/([^/]+)/_history", res.header("Location")).group(1)
        self.assertEqual(c.get("/Patient/" + pid).status, 200)

        res = c.post("/Patient", patient(uniq("Fam")),
                     headers={"Prefer": "return=OperationOutcome"})
        self.assertEqual(res.status, 201, res)
        self.assertEqual(res.json()["resourceType"], "OperationOutcome")

        res = c.post("/Patient", patient(uniq("Fam")),
                     headers={"Prefer": "return=representation"})
        self.assertEqual(res.status, 201, res)
        self.assertEqual(res.json()["resourceType"], "Patient")

    def test_patch_is_405(self):
        c = self.client()
        pid = c.create(patient(uniq("Fam")))["id"]
        res = c.request("PATCH", "/Patient/" + pid, [{"op": "replace", "path": "/gender",
                                                       "value": "male"}],
                        content_type="application/json-patch+json")
        self.assertOutcome(res, 405)

    def test_conditional_create(self):
        c = self.client()
        mrn = uniq("mrn")
        cond = {"If-None-Exist": "identifier=%s|%s" % (SYS, mrn)}
        first = c.post("/Patient", patient(uniq("Fam"), mrn=mrn), headers=cond)
        self.assertEqual(first.status, 201, first)
        second = c.post("/Patient", patient(uniq("Fam"), mrn=mrn), headers=cond)
        self.assertEqual(second.status, 200, second)
        if second.body.strip():
            self.assertEqual(second.json()["id"], first.json()["id"])
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (SYS, mrn)), 1)
        # Two matches: 412, nothing created.
        c.create(patient(uniq("Fam"), mrn=mrn + "-dup"))
        c.create(patient(uniq("Fam"), mrn=mrn + "-dup"))
        res = c.post("/Patient", patient(uniq("Fam"), mrn=mrn + "-dup"),
                     headers={"If-None-Exist": "identifier=%s|%s-dup" % (SYS, mrn)})
        self.assertOutcome(res, 412)
        self.assertEqual(c.total("Patient?identifier=%s|%s-dup" % (SYS, mrn)), 2)

    def test_conditional_update_and_delete(self):
        c = self.client()
        mrn = uniq("mrn")
        family = uniq("Fam")
        url = "/Patient?identifier=%s|%s" % (SYS, mrn)
        res = c.put(url, patient(family, mrn=mrn))
        self.assertEqual(res.status, 201, res)
        pid = res.json()["id"]
        res = c.put(url, patient(family, mrn=mrn, gender="male"))
        self.assertEqual(res.status, 200, res)
        self.assertEqual(res.json()["id"], pid)
        self.assertEqual(res.json()["meta"]["versionId"], "2")
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (SYS, mrn)), 1)
        # Several matches: 412.
        mrn2 = uniq("mrn")
        c.create(patient(family, mrn=mrn2))
        c.create(patient(family, mrn=mrn2))
        self.assertOutcome(c.put("/Patient?identifier=%s|%s" % (SYS, mrn2),
                                 patient(family, mrn=mrn2)), 412)

        res = c.delete(url)
        self.assertStatus(res, 200, 204)
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (SYS, mrn)), 0)
        self.assertEqual(c.get("/Patient/" + pid).status, 410)

    def test_type_and_system_history(self):
        c = self.client()
        pid = c.create(patient(uniq("Fam")))["id"]
        before = c.search("Patient/_history?_count=1")
        self.assertEqual(before["type"], "history")
        self.assertGreaterEqual(before["total"], 1)
        self.assertEqual(len(before["entry"]), 1)
        self.assertIsNotNone(link(before, "next"), "more than one version exists: next link")
        # Newest first: the patient just created heads the type history ...
        self.assertEqual(before["entry"][0]["resource"]["id"], pid)
        # ... and _since after it leaves it out.
        since = c.get("/Patient/" + pid).json()["meta"]["lastUpdated"]
        time.sleep(0.01)
        obs = c.create(observation(pid))
        later = c.search("_history?_since=" + q(since))
        found = {(e["resource"]["resourceType"], e["resource"]["id"])
                 for e in later.get("entry", []) if "resource" in e}
        self.assertIn(("Observation", obs["id"]), found)

    def test_generic_type_read_and_search(self):
        c = self.client()
        med = c.create({"resourceType": "Medication",
                        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                             "code": "1049502"}]}})
        self.assertEqual(c.get("/Medication/" + med["id"]).json()["code"]["coding"][0]["code"],
                         "1049502")
        bundle = c.search("Medication?_id=" + med["id"])
        self.assertEqual(ids(bundle), [med["id"]])
        bundle = c.search("Medication?_id=%s&_lastUpdated=ge%s"
                          % (med["id"], q(med["meta"]["lastUpdated"])))
        self.assertEqual(ids(bundle), [med["id"]])
        bundle = c.search("Medication?_id=%s&_lastUpdated=lt%s"
                          % (med["id"], q(med["meta"]["lastUpdated"])))
        self.assertEqual(ids(bundle), [])


class SearchTest(FhirTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.server.client()
        try:
            cls.family = uniq("Srch")
            cls.p70 = c.create(patient(cls.family, "Zed", mrn=uniq("m"), birth="1970-01-15",
                                       gender="male",
                                       address=[{"postalCode": "62701", "city": "Springfield"}],
                                       telecom=[{"system": "phone", "value": "217-555-0100"},
                                                {"system": "email", "value": "zed@example.org"}]))
            cls.p80 = c.create(patient(cls.family, "Ann", mrn=uniq("m"), birth="1980-02-29"))
            cls.p90 = c.create(patient(cls.family, "Bea", mrn=uniq("m"), birth="1990-12-31",
                                       address=[{"postalCode": "10115"}]))
            cls.nobirth = c.create(patient(cls.family, "Cy", mrn=uniq("m"), birth=None,
                                           gender="unknown"))
            cls.all_ids = sorted(r["id"] for r in (cls.p70, cls.p80, cls.p90, cls.nobirth))
            cls.enc = c.create({"resourceType": "Encounter", "status": "finished",
                                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                          "code": "IMP"},
                                "subject": {"reference": "Patient/" + cls.p80["id"]}})
            cls.unique_code = uniq("code")
            cls.o1 = c.create(observation(cls.p80["id"], encounter=cls.enc["id"]))
            cls.o2 = c.create(observation(cls.p80["id"], code="2345-7", display="Glucose",
                                          value=95, unit="mg/dL", date="2024-03-02T08:00:00Z",
                                          status="preliminary", category="vital-signs"))
            cls.o3 = c.create(observation(cls.p90["id"], code=cls.unique_code,
                                          system=TEST_CODES, display="Special"))
            cls.report = c.create({"resourceType": "DiagnosticReport", "status": "final",
                                   "code": {"coding": [{"system": LOINC, "code": "24323-8"}]},
                                   "subject": {"reference": "Patient/" + cls.p80["id"]},
                                   "result": [{"reference": "Observation/" + cls.o1["id"]}]})
        finally:
            c.close()

    def fam(self, query=""):
        return "Patient?family=%s%s" % (self.family, "&" + query if query else "")

    def test_search_bundle_shape(self):
        bundle = self.client().search(self.fam())
        self.assertEqual(bundle["resourceType"], "Bundle")
        self.assertEqual(bundle["type"], "searchset")
        self.assertEqual(bundle["total"], 4)
        self.assertEqual(ids(bundle), self.all_ids)
        self.assertIsNotNone(link(bundle, "self"))
        for e in bundle["entry"]:
            self.assertEqual(e["search"]["mode"], "match")
            self.assertTrue(e["fullUrl"].endswith("/Patient/" + e["resource"]["id"]), e)

    def test_post_search_equals_get(self):
        c = self.client()
        res = c.post("/Patient/_search", "family=%s&gender=female" % self.family,
                     content_type="application/x-www-form-urlencoded")
        self.assertEqual(res.status, 200, res)
        self.assertEqual(ids(res.json()), ids(c.search(self.fam("gender=female"))))
        self.assertEqual(ids(res.json()), sorted([self.p80["id"], self.p90["id"]]))

    def test_string_modifiers(self):
        c = self.client()
        # Default string search: case-insensitive "starts with" on any name part.
        self.assertEqual(ids(c.search("Patient?name=" + self.family.lower()[:-3])), self.all_ids)
        self.assertEqual(ids(c.search(self.fam("given=an"))), [self.p80["id"]])
        self.assertEqual(ids(c.search("Patient?name:exact=" + self.family)), self.all_ids)
        self.assertEqual(ids(c.search("Patient?name:exact=" + self.family.lower())), [])
        self.assertEqual(ids(c.search("Patient?family:contains=" + self.family[3:-2])),
                         self.all_ids)
        self.assertEqual(ids(c.search(self.fam("address-postalcode=62701"))), [self.p70["id"]])
        self.assertEqual(ids(c.search(self.fam("address=springfield"))), [self.p70["id"]])

    def test_token_parameters(self):
        c = self.client()
        mrn = self.p90["identifier"][0]["value"]
        self.assertEqual(ids(c.search("Patient?identifier=%s|%s" % (SYS, mrn))), [self.p90["id"]])
        self.assertEqual(ids(c.search("Patient?identifier=" + mrn)), [self.p90["id"]])
        self.assertEqual(ids(c.search("Patient?identifier=http://other.example|" + mrn)), [])
        self.assertEqual(ids(c.search(self.fam("gender=male"))), [self.p70["id"]])
        self.assertEqual(ids(c.search(self.fam("gender:not=female"))),
                         sorted([self.p70["id"], self.nobirth["id"]]))
        self.assertEqual(ids(c.search(self.fam("gender=male,unknown"))),
                         sorted([self.p70["id"], self.nobirth["id"]]))
        self.assertEqual(ids(c.search(self.fam("telecom=phone|217-555-0100"))), [self.p70["id"]])
        self.assertEqual(ids(c.search(self.fam("phone=217-555-0100"))), [self.p70["id"]])
        self.assertEqual(ids(c.search(self.fam("email=zed@example.org"))), [self.p70["id"]])
        self.assertEqual(ids(c.search(self.fam("email=217-555-0100"))), [])
        self.assertEqual(ids(c.search("Patient?_id=%s,%s" % (self.p70["id"], self.p90["id"]))),
                         sorted([self.p70["id"], self.p90["id"]]))

    def test_date_prefixes_respect_precision(self):
        c = self.client()
        cases = {
            "1980": [self.p80],
            "1980-02": [self.p80],
            "1980-02-29": [self.p80],
            "eq1980-03": [],
            "ge1980-01-01": [self.p80, self.p90],
            "gt1980": [self.p90],
            "lt1980-02-29": [self.p70],
            "le1980-02-29": [self.p70, self.p80],
            "ne1980": [self.p70, self.p90],
            "sa1980-02-29": [self.p90],
            "eb1980-02-29": [self.p70],
        }
        for value, expected in cases.items():
            with self.subTest(birthdate=value):
                self.assertEqual(ids(c.search(self.fam("birthdate=" + value))),
                                 sorted(r["id"] for r in expected))
        self.assertEqual(ids(c.search(self.fam("birthdate=ge1970&birthdate=lt1990"))),
                         sorted([self.p70["id"], self.p80["id"]]))

    def test_missing_modifier(self):
        c = self.client()
        self.assertEqual(ids(c.search(self.fam("birthdate:missing=true"))), [self.nobirth["id"]])
        self.assertEqual(ids(c.search(self.fam("birthdate:missing=false"))),
                         sorted([self.p70["id"], self.p80["id"], self.p90["id"]]))

    def test_observation_parameters(self):
        c = self.client()
        p = self.p80["id"]
        o1, o2 = self.o1["id"], self.o2["id"]
        cases = {
            "patient=" + p: [o1, o2],
            "patient=Patient/" + p: [o1, o2],
            "subject=Patient/" + p: [o1, o2],
            "subject:Patient=" + p: [o1, o2],
            "patient=%s&code=%s|718-7" % (p, LOINC): [o1],
            "patient=%s&code=2345-7" % p: [o2],
            "patient=%s&code=%s|718-7,%s|2345-7" % (p, LOINC, LOINC): [o1, o2],
            "patient=%s&code=http://snomed.info/sct|718-7" % p: [],
            "patient=%s&code:text=hemo" % p: [o1],
            "patient=%s&category=laboratory" % p: [o1],
            "patient=%s&category=vital-signs" % p: [o2],
            "patient=%s&status=final" % p: [o1],
            "patient=%s&status:not=final" % p: [o2],
            "patient=%s&date=2024-03-01" % p: [o1],
            "patient=%s&date=ge2024-03-02" % p: [o2],
            "patient=%s&date=lt2024-03-02" % p: [o1],
            "patient=%s&value-quantity=gt13|%s|g/dL" % (p, UCUM): [o1],
            "patient=%s&value-quantity=13.2" % p: [o1],
            "patient=%s&value-quantity=lt13||g/dL" % p: [],
            "patient=%s&value-quantity=ge90||mg/dL" % p: [o2],
            "encounter=Encounter/" + self.enc["id"]: [o1],
        }
        for query, expected in cases.items():
            with self.subTest(query=query):
                self.assertEqual(ids(c.search("Observation?" + query)), sorted(expected))

    def test_chaining(self):
        c = self.client()
        mrn = self.p80["identifier"][0]["value"]
        bundle = c.search("Observation?subject:Patient.identifier=%s|%s" % (SYS, mrn))
        self.assertEqual(ids(bundle), sorted([self.o1["id"], self.o2["id"]]))
        bundle = c.search("Observation?patient.identifier=%s|%s" % (SYS, mrn))
        self.assertEqual(ids(bundle), sorted([self.o1["id"], self.o2["id"]]))
        bundle = c.search("Observation?patient.family=%s&code=%s" % (self.family, self.unique_code))
        self.assertEqual(ids(bundle), [self.o3["id"]])
        bundle = c.search("Observation?patient.identifier=%s|%s" % (SYS, uniq("none")))
        self.assertEqual(ids(bundle), [])

    def test_identifier_modifier(self):
        c = self.client()
        mrn = uniq("m")
        o = c.create(observation(self.p70["id"], subject={
            "reference": "Patient/" + self.p70["id"], "identifier": {"system": SYS, "value": mrn}}))
        bundle = c.search("Observation?subject:identifier=%s|%s" % (SYS, mrn))
        self.assertEqual(ids(bundle), [o["id"]])
        bundle = c.search("Observation?subject:identifier=%s|%s" % (SYS, uniq("other")))
        self.assertEqual(ids(bundle), [])

    def test_has(self):
        c = self.client()
        bundle = c.search("Patient?_has:Observation:patient:code=%s|%s"
                          % (TEST_CODES, self.unique_code))
        self.assertEqual(ids(bundle), [self.p90["id"]])
        bundle = c.search(self.fam("_has:Observation:patient:status=preliminary"))
        self.assertEqual(ids(bundle), [self.p80["id"]])
        bundle = c.search("Patient?_has:Observation:patient:code=%s|%s" % (TEST_CODES, uniq("x")))
        self.assertEqual(ids(bundle), [])

    def test_include_and_revinclude(self):
        c = self.client()
        bundle = c.search("Observation?patient=%s&_include=Observation:patient" % self.p80["id"])
        self.assertEqual(ids(bundle, "match"), sorted([self.o1["id"], self.o2["id"]]))
        self.assertEqual(ids(bundle, "include"), [self.p80["id"]], "included once")
        self.assertEqual(bundle["total"], 2, "total counts matches only")

        bundle = c.search("Patient?_id=%s&_revinclude=Observation:patient" % self.p80["id"])
        self.assertEqual(ids(bundle, "match"), [self.p80["id"]])
        self.assertEqual(ids(bundle, "include"), sorted([self.o1["id"], self.o2["id"]]))

        # :iterate follows the included resources' references too.
        bundle = c.search("DiagnosticReport?_id=%s&_include=DiagnosticReport:result"
                          "&_include:iterate=Observation:encounter" % self.report["id"])
        self.assertEqual(ids(bundle, "match"), [self.report["id"]])
        included = {(r["resourceType"], r["id"]) for r in entries(bundle, "include")}
        self.assertEqual(included, {("Observation", self.o1["id"]),
                                    ("Encounter", self.enc["id"])})
        # Without :iterate the encounter is not reached.
        bundle = c.search("DiagnosticReport?_id=%s&_include=DiagnosticReport:result"
                          "&_include=Observation:encounter" % self.report["id"])
        included = {(r["resourceType"], r["id"]) for r in entries(bundle, "include")}
        self.assertEqual(included, {("Observation", self.o1["id"])})

    def test_sort(self):
        c = self.client()
        born = [self.p70["id"], self.p80["id"], self.p90["id"]]
        bundle = c.search(self.fam("birthdate:missing=false&_sort=birthdate"))
        self.assertEqual([r["id"] for r in entries(bundle)], born)
        bundle = c.search(self.fam("birthdate:missing=false&_sort=-birthdate"))
        self.assertEqual([r["id"] for r in entries(bundle)], born[::-1])
        bundle = c.search(self.fam("_sort=given"))
        self.assertEqual([r["name"][0]["given"][0] for r in entries(bundle)],
                         ["Ann", "Bea", "Cy", "Zed"])

    def test_count_paging(self):
        c = self.client()
        family = uniq("Page")
        made = sorted(c.create(patient(family, "G%d" % i, birth="2000-01-%02d" % (i + 1)))["id"]
                      for i in range(7))
        url = "Patient?family=%s&_count=3&_sort=birthdate" % family
        seen, pages = [], 0
        bundle = c.search(url)
        self.assertIsNone(link(bundle, "previous") or link(bundle, "prev"), "first page")
        while True:
            pages += 1
            self.assertEqual(bundle["total"], 7)
            self.assertLessEqual(len(bundle.get("entry", [])), 3)
            seen += [r["id"] for r in entries(bundle)]
            if pages == 2:
                self.assertIsNotNone(link(bundle, "previous") or link(bundle, "prev"))
            nxt = link(bundle, "next")
            if nxt is None:
                break
            self.assertIn("/fhir/Patient?", nxt)
            self.assertLess(pages, 5, "paging does not end")
            bundle = c.search(nxt)
        self.assertEqual(pages, 3)
        self.assertEqual(len(seen), 7, "no duplicates or gaps: %r" % seen)
        self.assertEqual(sorted(seen), made)
        # Sorted across pages.
        births = [c.get("/Patient/" + i).json()["birthDate"] for i in seen]
        self.assertEqual(births, sorted(births))

    def test_summary_count_total_and_elements(self):
        c = self.client()
        bundle = c.search(self.fam("_summary=count"))
        self.assertEqual(bundle["total"], 4)
        self.assertEqual(bundle.get("entry", []), [])

        bundle = c.search(self.fam("_total=none"))
        self.assertNotIn("total", bundle)
        self.assertEqual(len(bundle["entry"]), 4)
        bundle = c.search(self.fam("_total=accurate&_count=1"))
        self.assertEqual(bundle["total"], 4)
        self.assertEqual(len(bundle["entry"]), 1)

        bundle = c.search(self.fam("_elements=birthDate"))
        for r in entries(bundle):
            self.assertEqual(r["resourceType"], "Patient")
            self.assertIn("id", r)
            self.assertNotIn("name", r)
            self.assertNotIn("gender", r)
        self.assertIn("1980-02-29", [r.get("birthDate") for r in entries(bundle)])
        for r in entries(bundle):
            self.assertIn("SUBSETTED", [t.get("code") for t in r.get("meta", {}).get("tag", [])])

    def test_last_updated(self):
        c = self.client()
        stamps = sorted(c.get("/Patient/" + i).json()["meta"]["lastUpdated"] for i in self.all_ids)
        self.assertEqual(ids(c.search(self.fam("_lastUpdated=ge" + q(stamps[0])))), self.all_ids)
        self.assertEqual(ids(c.search(self.fam("_lastUpdated=lt" + q(stamps[0])))), [])

    def test_everything(self):
        c = self.client()
        pid = self.p80["id"]
        res = c.get("/Patient/%s/$everything" % pid)
        self.assertEqual(res.status, 200, res)
        bundle = res.json()
        self.assertEqual(bundle["resourceType"], "Bundle")
        # AuditEvents about this patient may join while we page; compare the rest.
        got = {(r["resourceType"], r["id"]) for r in entries(bundle)
               if r["resourceType"] != "AuditEvent"}
        want = {("Patient", pid), ("Observation", self.o1["id"]), ("Observation", self.o2["id"]),
                ("Encounter", self.enc["id"]), ("DiagnosticReport", self.report["id"])}
        self.assertTrue(want <= got, got)
        self.assertNotIn(("Observation", self.o3["id"]), got)
        self.assertNotIn(("Patient", self.p90["id"]), got)
        # Paged: _count=2 walks the same set.
        paged, page = set(), c.search("Patient/%s/$everything?_count=2" % pid)
        for _ in range(20):
            self.assertLessEqual(len(page.get("entry", [])), 2)
            paged |= {(r["resourceType"], r["id"]) for r in entries(page)
                      if r["resourceType"] != "AuditEvent"}
            nxt = link(page, "next")
            if nxt is None:
                break
            page = c.search(nxt)
        self.assertEqual(paged, got)
        self.assertOutcome(c.get("/Patient/%s/$everything" % uniq("nope")), 404)


class BundleTest(FhirTestCase):

    def test_transaction_resolves_urn_uuid_and_conditional_references(self):
        c = self.client()
        mrn, existing_mrn = uniq("m"), uniq("m")
        existing = c.create(patient(uniq("Fam"), mrn=existing_mrn))
        p_urn = "urn:uuid:" + str(uuid.uuid4())
        res = c.transaction([
            {"fullUrl": p_urn, "resource": patient(uniq("Fam"), mrn=mrn),
             "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": "urn:uuid:" + str(uuid.uuid4()),
             "resource": {**observation("placeholder"), "subject": {"reference": p_urn}},
             "request": {"method": "POST", "url": "Observation"}},
            {"resource": {**observation("placeholder"),
                          "subject": {"reference": "Patient?identifier=%s|%s"
                                                   % (SYS, existing_mrn)}},
             "request": {"method": "POST", "url": "Observation"}},
        ])
        self.assertEqual(res.status, 200, res)
        bundle = res.json()
        self.assertEqual(bundle["type"], "transaction-response")
        self.assertEqual(len(bundle["entry"]), 3)
        for e in bundle["entry"]:
            self.assertTrue(e["response"]["status"].startswith("201"), e)
        loc = bundle["entry"][0]["response"]["location"]
        new_pid = re.search(r"Patient/([^/]+)", loc).group(1)
        obs1 = re.search(r"Observation/([^/]+)", bundle["entry"][1]["response"]["location"]).group(1)
        obs2 = re.search(r"Observation/([^/]+)", bundle["entry"][2]["response"]["location"]).group(1)
        self.assertEqual(c.get("/Observation/" + obs1).json()["subject"]["reference"],
                         "Patient/" + new_pid)
        self.assertEqual(c.get("/Observation/" + obs2).json()["subject"]["reference"],
                         "Patient/" + existing["id"])
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (SYS, mrn)), 1)

    def test_transaction_is_atomic(self):
        c = self.client()
        existing = c.create(patient(uniq("Fam")))
        mrn = uniq("m")
        res = c.transaction([
            {"resource": patient(uniq("Fam"), mrn=mrn),
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": dict(existing, gender="male"),
             "request": {"method": "PUT", "url": "Patient/" + existing["id"],
                         "ifMatch": 'W/"9"'}},
        ])
        self.assertOutcome(res, 409, 412)
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (SYS, mrn)), 0, "rolled back")
        self.assertEqual(c.get("/Patient/" + existing["id"]).json()["gender"], "female")

        # An invalid entry (resource type differs from the url) rolls back too.
        res = c.transaction([
            {"resource": patient(uniq("Fam"), mrn=mrn),
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": patient(uniq("Fam")), "request": {"method": "POST", "url": "Observation"}},
        ])
        self.assertOutcome(res, 400, 422)
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (SYS, mrn)), 0, "rolled back")

    def test_transaction_conditional_create_and_resend(self):
        c = self.client()
        mrn = uniq("m")
        body = [{"resource": patient(uniq("Fam"), mrn=mrn),
                 "request": {"method": "POST", "url": "Patient",
                             "ifNoneExist": "identifier=%s|%s" % (SYS, mrn)}}]
        first = c.transaction(body)
        self.assertEqual(first.status, 200, first)
        self.assertTrue(first.json()["entry"][0]["response"]["status"].startswith("201"))
        second = c.transaction(body)
        self.assertEqual(second.status, 200, second)
        self.assertTrue(second.json()["entry"][0]["response"]["status"].startswith("200"))
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (SYS, mrn)), 1)

    def test_batch_entries_stand_alone(self):
        c = self.client()
        existing = c.create(patient(uniq("Fam")))
        mrn = uniq("m")
        res = c.transaction([
            {"resource": patient(uniq("Fam"), mrn=mrn),
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": dict(existing, gender="male"),
             "request": {"method": "PUT", "url": "Patient/" + existing["id"],
                         "ifMatch": 'W/"9"'}},
            {"request": {"method": "DELETE", "url": "Patient/" + existing["id"]}},
        ], bundle_type="batch")
        self.assertEqual(res.status, 200, res)
        bundle = res.json()
        self.assertEqual(bundle["type"], "batch-response")
        statuses = [e["response"]["status"][:3] for e in bundle["entry"]]
        self.assertEqual(statuses[0], "201")
        self.assertEqual(statuses[1], "412")
        self.assertIn(statuses[2], ("200", "204"))
        self.assertEqual(bundle["entry"][1]["response"].get("outcome", {}).get("resourceType"),
                         "OperationOutcome")
        self.assertEqual(c.total("Patient?identifier=%s|%s" % (SYS, mrn)), 1)
        self.assertEqual(c.get("/Patient/" + existing["id"]).status, 410)

    def test_bundle_of_wrong_type_is_rejected(self):
        c = self.client()
        res = c.transaction([{"resource": patient(uniq("Fam")),
                              "request": {"method": "POST", "url": "Patient"}}],
                            bundle_type="collection")
        self.assertOutcome(res, 400, 422)


if __name__ == "__main__":
    unittest.main()
