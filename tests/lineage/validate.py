#!/usr/bin/env python3
"""validate.py - check OpenLineage run events (JSON lines) against the
OpenLineage JSON schema kept beside this script (spec 2-0-2, draft
2020-12) and the schemas of every facet billrun writes.

usage: validate.py FILE.jsonl

Each line must be one JSON object that is a valid RunEvent, whose every
facet is one billrun documents (core/LINEAGE.md) and is valid against its
facet schema, with the _schemaURL of that schema; runId a UUID, eventTime
an RFC 3339 time. Exit status: 0 all valid; 1 an event is not (each
problem printed as "FILE:LINE: ..."); 2 the validator cannot run (no
jsonschema module with draft 2020-12, a schema file missing): a missing
validator is a failure, never a pass.
"""
import json
import os
import re
import sys
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError as exc:  # the test set-up installs python3-jsonschema (tools/deps.sh)
    print("validate.py: cannot validate: %s (install python3-jsonschema, tools/deps.sh)" % exc, file=sys.stderr)
    sys.exit(2)

SCHEMAS = {}
for name in ("OpenLineage.json", "ParentRunFacet.json", "NominalTimeRunFacet.json", "JobTypeJobFacet.json",
             "SchemaDatasetFacet.json", "BillrunFileDatasetFacet.json", "BillrunRunFacet.json"):
    try:
        with open(os.path.join(HERE, name)) as f:
            SCHEMAS[name] = json.load(f)
    except (OSError, ValueError) as exc:
        print("validate.py: cannot read schema %s: %s" % (name, exc), file=sys.stderr)
        sys.exit(2)

# facet key -> (schema file, the _schemaURL billrun writes), by where it sits
RUN_FACETS = {
    "parent": "ParentRunFacet.json",
    "nominalTime": "NominalTimeRunFacet.json",
    "billrun_run": "BillrunRunFacet.json",
}
JOB_FACETS = {"jobType": "JobTypeJobFacet.json"}
DATASET_FACETS = {"schema": "SchemaDatasetFacet.json", "billrun_file": "BillrunFileDatasetFacet.json"}


def def_name(schema):
    return next(iter(schema["$defs"]))


def schema_url(name):
    s = SCHEMAS[name]
    if name == "OpenLineage.json":
        return s["$id"] + "#/$defs/RunEvent"
    if s["$id"].startswith("urn:"):
        return s["$id"]
    prop = next(iter(s["properties"].values()))["$ref"]  # "#/$defs/ParentRunFacet"
    return s["$id"] + prop


def make_validator(schema):
    checker = Draft202012Validator.FORMAT_CHECKER
    try:  # jsonschema >= 4.18
        from referencing import Registry, Resource
        registry = Registry().with_resources(
            (s["$id"], Resource.from_contents(s)) for s in SCHEMAS.values())
        return Draft202012Validator(schema, registry=registry, format_checker=checker)
    except ImportError:  # Debian bookworm's 4.10
        store = {s["$id"]: s for s in SCHEMAS.values()}
        resolver = jsonschema.RefResolver.from_schema(schema, store=store)
        return Draft202012Validator(schema, resolver=resolver, format_checker=checker)


for s in SCHEMAS.values():
    Draft202012Validator.check_schema(s)
VALIDATORS = {name: make_validator(s) for name, s in SCHEMAS.items()}
# billrun writes run events only: checked against RunEvent itself first,
# whose errors name the property (the top level's oneOf would only say
# that the event matches none of the three kinds).
RUN_EVENT = make_validator({"$ref": SCHEMAS["OpenLineage.json"]["$id"] + "#/$defs/RunEvent"})
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def rfc3339(text):
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$", text)
    if not m:
        return False
    try:
        datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
        return True
    except ValueError:
        return False


def problems(event):
    out = []
    for err in sorted(RUN_EVENT.iter_errors(event), key=lambda x: list(map(str, x.absolute_path))):
        out.append("OpenLineage.json: %s at %s" % (err.message, "/".join(map(str, err.absolute_path)) or "the event"))
    if not out and not VALIDATORS["OpenLineage.json"].is_valid(event):
        out.append("OpenLineage.json: not one of RunEvent, DatasetEvent, JobEvent")
    if out:
        return out
    if event.get("schemaURL") != schema_url("OpenLineage.json"):
        out.append("schemaURL is %r, not %r" % (event.get("schemaURL"), schema_url("OpenLineage.json")))
    run = event.get("run")
    if not isinstance(run, dict):
        return out + ["not a run event"]
    if not UUID.match(run.get("runId", "")):
        out.append("runId %r is not a UUID" % run.get("runId"))
    if not rfc3339(event.get("eventTime", "")):
        out.append("eventTime %r is not an RFC 3339 time" % event.get("eventTime"))
    parent = run.get("facets", {}).get("parent")
    if parent and not UUID.match(parent.get("run", {}).get("runId", "")):
        out.append("the parent's runId is not a UUID")

    def facets(where, table, got):
        for key, facet in (got or {}).items():
            if key not in table:
                out.append("%s facet %r is not one billrun writes" % (where, key))
                continue
            name = table[key]
            for err in VALIDATORS[name].iter_errors({key: facet}):
                out.append("%s facet %r: %s (%s)" % (where, key, err.message, name))
            if facet.get("_schemaURL") != schema_url(name):
                out.append("%s facet %r: _schemaURL %r, not %r" % (where, key, facet.get("_schemaURL"),
                                                                      schema_url(name)))

    facets("run", RUN_FACETS, run.get("facets"))
    facets("job", JOB_FACETS, event.get("job", {}).get("facets"))
    for side in ("inputs", "outputs"):
        for ds in event.get(side, []):
            facets("%s dataset %r" % (side, ds.get("name")), DATASET_FACETS, ds.get("facets"))
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    path = sys.argv[1]
    bad = n = 0
    with open(path) as f:
        for no, line in enumerate(f, 1):
            n += 1
            try:
                event = json.loads(line)
            except ValueError as exc:
                print("%s:%d: not JSON: %s" % (path, no, exc))
                bad += 1
                continue
            for p in problems(event):
                print("%s:%d: %s" % (path, no, p))
                bad += 1
    if n == 0:
        print("%s: no events" % path)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
