#!/usr/bin/env python3
"""Run scim2-tester (https://scim2-tester.readthedocs.io) against a running SCIM server.

    python conformance/scim2_tester_check.py --base-url http://127.0.0.1:18080/scim/v2 \
        --token-file TOKEN [--log-dir DIR] [--expect-schema URN ...]

The bearer token is read from --token-file (or the SCIM_TOKEN environment variable) so that it never appears
on a command line.

What counts (one line per check result scim2-tester returns):
  * SUCCESS, COMPLIANT, ACCEPTABLE          -> passed
  * DEVIATION (a SHOULD not followed)        -> passed, but listed as a deviation
  * ERROR, CRITICAL (a MUST broken)          -> failed
  * SKIPPED whose check is in EXPECTED_SKIPS -> passed (the reason is printed)
  * SKIPPED for any other check              -> failed ("unexpected skip")
  * ERROR from a PATCH check whose only difference is a readOnly sub-attribute the server filled in (see
    SERVER_FILLED_CHECKS)                    -> passed, but listed
  * ERROR from a PATCH check whose plain GET read-back lacks only returned "request" attributes (see
    REQUEST_ONLY_CHECKS)                     -> passed, noted

scim2-tester 0.5.2 has no check of /Bulk. Since the server advertises bulk.supported, this script adds its own
(BULK_CHECKS), sent and read through scim2-client and scim2-models (the suite's own libraries), so a BulkRequest is
built and a BulkResponse validated by third-party code: references by bulkId, failOnErrors, version, and the 413 of
RFC 7644 §3.7.4. Each counts as one check result.

scim2-tester 0.5.2 cannot fill an attribute of type dateTime (none is writable in the built-in schemas; an operator's
extension has them): _fill_date_times gives its value generator an xsd:dateTime for those, and nothing else.

--expect-schema URN (repeatable; .ci/conformance passes examples/schema's two for its operator-schemas pass) adds one
check result per URN: the server serves it, a resource type lists it, and the suite passed PATCH add, replace and
remove on each of its readWrite attributes. Without it, a server that ignored its schema directory would pass too.

The last line is `scim2-tester: N passed, M failed`; the exit code is 0 only when M is 0.

With --log-dir, the script also writes there:
  scim2-tester-results.json    every result (status, check, resource type, reason, data)
  scim2-tester-exchanges.jsonl every HTTP exchange (request and response), tagged with the check that sent it
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient

import scim2_tester
from scim2_tester import Status, check_server
from scim2_tester.checkers import __all__ as CHECKER_NAMES

# Checks scim2-tester may report as SKIPPED on this server, and why that is expected. A SKIPPED check that is not
# listed here fails the run: a new skip means the server (or the suite) changed and someone has to look at it.
#
# None is expected today. scim2-tester 0.5.2 skips a check only when:
#   * check_add_attribute / check_remove_attribute / check_replace_attribute: the ServiceProviderConfig says
#     patch.supported=false, or the resource type has no optional writable attribute (this server supports PATCH,
#     and User has many);
#   * object_query_with_attributes / object_list_with_attributes / search_with_attributes: the resource type has
#     no optional, default-returned, writable attribute to project (User has many);
#   * search_with_attributes: the server answers the root POST /.search (RFC 7644 §3.4.3) with 501 Not
#     Implemented (this server implements it);
#   * any check, when tags are filtered (this script filters none).
# Add an entry (check name -> why the skip is right for this server) only with a reason that holds for the server.
EXPECTED_SKIPS: dict[str, str] = {}

# PATCH checks that compare the value they sent with the value read back for equality. A server may add sub-attributes
# its published schema marks readOnly (RFC 7643 §2.2: assigned by the service provider, never by the client): a
# Group member's `display` is its displayName, filled in here as in RFC 7643 §8.4's example. scim2-tester 0.5.2 sends
# a member without `display` (it is readOnly, so it fills none) and reports the one it reads back as "not added".
# Such a result counts as passed when, element by element, the value read back equals the one sent once the
# sub-attributes that (a) the server's /Schemas mark readOnly and (b) the request left out are set aside. Anything
# else that differs (a value, a sub-attribute that is not readOnly, a missing element) still fails.
SERVER_FILLED_CHECKS = {"check_add_attribute", "check_replace_attribute"}


def _fill_date_times() -> None:
    """Give scim2-tester 0.5.2 values for attributes of type dateTime, which it has no generator for.

    Its filler (scim2_tester.filling.generate_random_value) falls back to str(uuid4()) for any type it does not
    know, and scim2-models types a dateTime attribute discovered from /Schemas as datetime: pydantic refuses the
    UUID while the suite builds the resource, before any request, and every User check after discovery ends in
    an ERROR naming the attribute ("1 validation error for HrUser hire_date ... invalid character in year"). The
    built-in schemas have no writable dateTime (meta's are readOnly), so only an operator schema meets it, e.g.
    examples/schema's hireDate. Here such an attribute gets an xsd:dateTime (RFC 7643 §2.3.5; whole seconds, UTC)
    under the same mutability/required filters the suite applies; every other attribute goes to the suite's own
    generator. Nothing the server answers is judged differently: the suite compares what it reads back as before.
    """
    import datetime
    import random

    from scim2_models import Mutability, Required

    import scim2_tester.checkers.patch_add as patch_add
    import scim2_tester.checkers.patch_replace as patch_replace
    import scim2_tester.filling as filling

    suite_generator = filling.generate_random_value
    if getattr(suite_generator, "_fills_date_times", False):
        return
    epoch = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)

    def generate_random_value(context: Any, path: Any, mutability: Any = None, required: Any = None) -> Any:
        binding = path.resolve()
        if binding is None or binding.target_type is not datetime.datetime:
            return suite_generator(context, path=path, mutability=mutability, required=required)
        if mutability is not None and binding.get_annotation(Mutability) not in mutability:
            return None
        if required is not None and binding.get_annotation(Required) not in required:
            return None
        value = filling.get_random_example_value(path) or epoch + datetime.timedelta(seconds=random.randint(0, 40 * 365 * 86400))
        return [value] if binding.target_is_multivalued else value

    generate_random_value._fills_date_times = True  # type: ignore[attr-defined]
    # The PATCH checks import the function by name, so each module's reference is replaced, not only filling's.
    for module in (filling, patch_add, patch_replace):
        module.generate_random_value = generate_random_value  # type: ignore[assignment]


PASSING = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE, Status.DEVIATION}
FAILING = {Status.ERROR, Status.CRITICAL}

_CHECKERS = set(CHECKER_NAMES) | {"_resource_types_endpoint", "_schemas_endpoint"}


def _current_check() -> str:
    """Name of the innermost scim2-tester check on the call stack (for tagging HTTP exchanges).

    Every check runs inside the `wrapped` closure of scim2_tester.utils.checker, whose local `func` is the check;
    the requests its resource clean-up sends afterwards are tagged "cleanup after <check>".
    """
    frame = sys._getframe(1)
    cleanup = False
    while frame is not None:
        code = frame.f_code
        if "scim2_tester" in code.co_filename:
            if code.co_name == "cleanup":
                cleanup = True
            elif code.co_name == "wrapped" and callable(frame.f_locals.get("func")):
                name = getattr(frame.f_locals["func"], "__name__", "?")
                return f"cleanup after {name}" if cleanup else name
            elif code.co_name in _CHECKERS:
                return code.co_name
        frame = frame.f_back
    return "(setup)"


def _body_of(content: bytes) -> Any:
    if not content:
        return None
    text = content.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


class ExchangeLog:
    """httpx2 event hooks that record each request and its response."""

    def __init__(self, path: Path | None) -> None:
        self.file = path.open("w", encoding="utf-8") if path else None
        self.count = 0

    def on_response(self, response: httpx2.Response) -> None:
        response.read()
        self.count += 1
        if not self.file:
            return
        request = response.request
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", "accept", "if-match", "if-none-match")}
        entry = {
            "n": self.count,
            "check": _current_check(),
            "request": {
                "method": request.method,
                "url": str(request.url),
                "headers": headers,
                "body": _body_of(request.content),
            },
            "response": {
                "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items() if k.lower() in ("content-type", "location", "etag", "allow")},
                "body": _body_of(response.content),
            },
        }
        self.file.write(json.dumps(entry, default=str) + "\n")
        self.file.flush()


def _short(text: Any, limit: int = 400) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        try:
            return value.model_dump(mode="json", by_alias=True, exclude_none=True)
        except Exception:  # pragma: no cover - debugging output only
            return repr(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "status_code"):  # a raw HTTP response
        return {"status": value.status_code, "body": getattr(value, "text", None)}
    return repr(value)


def _read_only_subattributes(http: httpx2.Client) -> dict[tuple[str, str], set[str]]:
    """(resource type name, attribute name) -> its readOnly sub-attribute names, all lower-case, from discovery."""
    out: dict[tuple[str, str], set[str]] = {}
    try:
        schemas = {s.get("id", "").lower(): s for s in http.get("Schemas").json().get("Resources", [])}
        types = http.get("ResourceTypes").json().get("Resources", [])
    except (httpx2.HTTPError, ValueError, AttributeError):
        return out
    for rt in types:
        urns = [rt.get("schema", "")] + [e.get("schema", "") for e in rt.get("schemaExtensions", []) or []]
        for urn in urns:
            for attr in schemas.get(urn.lower(), {}).get("attributes", []):
                if attr.get("mutability") == "readOnly":
                    continue
                ro = {sub["name"].lower() for sub in attr.get("subAttributes", []) or [] if sub.get("mutability") == "readOnly"}
                if ro:
                    out[(str(rt.get("name", "")).lower(), attr["name"].lower())] = ro
    return out


def _server_filled(result: Any, read_only: dict[tuple[str, str], set[str]]) -> list[str] | None:
    """The readOnly sub-attributes that alone make a SERVER_FILLED_CHECKS error, or None when it is a real one."""
    if result.status != Status.ERROR or result.title not in SERVER_FILLED_CHECKS or not isinstance(result.data, dict):
        return None
    data = result.data
    got_key = "actual" if "actual" in data else "modify_actual" if "modify_actual" in data else None
    urn = data.get("urn")
    if got_key is None or "expected" not in data or not isinstance(urn, str):
        return None
    ro = read_only.get((str(result.resource_type or "").lower(), urn.lower()))
    if not ro:
        return None
    sent, got = _jsonable(data["expected"]), _jsonable(data[got_key])
    sent_items = sent if isinstance(sent, list) else [sent]
    got_items = got if isinstance(got, list) else [got]
    if len(sent_items) != len(got_items) or not all(isinstance(x, dict) for x in sent_items + got_items):
        return None
    filled: set[str] = set()
    unmatched = list(got_items)
    for want in sent_items:
        for i, have in enumerate(unmatched):
            extra = {k for k in have if k not in want}
            if all(k.lower() in ro for k in extra) and {k: v for k, v in have.items() if k not in extra} == want:
                filled |= extra
                del unmatched[i]
                break
        else:
            return None
    return sorted(filled) if filled else None


# The suite reads an attribute back with a plain GET after patching it. An attribute whose schema says returned
# "request" (RFC 7643 §7: "returned only if the attribute is named in the attributes parameter"; here the
# authentication contact info) is rightly absent from that GET, while the PATCH answer itself carries it (RFC 7643
# §2.4, checked by the suite's modify() comparison, which stays strict). Such a read-back difference, and only that
# one, is set aside.
REQUEST_ONLY_CHECKS = {"check_add_attribute", "check_replace_attribute"}


def _request_only_attributes(http: httpx2.Client) -> set[str]:
    """Every attribute whose schema says returned "request", as "<schema urn>:<name>", lower-case."""
    out: set[str] = set()
    schemas = http.get("/Schemas").json().get("Resources", [])
    for schema in schemas:
        for attr in schema.get("attributes", []) or []:
            if attr.get("returned") == "request":
                out.add(f"{schema.get('id', '')}:{attr['name']}".lower())
    return out


def _request_only(result: Any, request_only: set[str]) -> bool:
    """Whether an ERROR of REQUEST_ONLY_CHECKS differs in its plain GET read-back only by returned "request" attributes."""
    if result.status != Status.ERROR or result.title not in REQUEST_ONLY_CHECKS or not isinstance(result.data, dict):
        return False
    data = result.data
    urn = data.get("urn")
    if "actual" not in data or "expected" not in data or not isinstance(urn, str):
        return False
    sent, got = _jsonable(data["expected"]), _jsonable(data["actual"])
    if urn.lower() in request_only:
        return got is None
    # A whole extension: equal once its returned "request" attributes are left out of what was sent.
    if not isinstance(sent, dict) or not isinstance(got, dict):
        return False
    strip = {k for k in sent if f"{urn}:{k}".lower() in request_only}
    if not strip:
        return False
    drop = lambda d: {k: v for k, v in d.items() if k not in strip and k != "schemas"}  # noqa: E731
    return drop(sent) == drop(got)


def _bulk_checks(client: SyncSCIMClient, http: httpx2.Client) -> list[tuple[str, bool, str]]:
    """RFC 7644 §3.7 through scim2-client: (check, passed, reason) for each."""
    from uuid import uuid4

    from scim2_models import BulkOperation, BulkRequest, BulkResponse, Error, Group, GroupMember, PatchOp, PatchOperation, User

    out: list[tuple[str, bool, str]] = []
    tag = uuid4().hex[:8]

    def run(name: str, fn: Any) -> None:
        try:
            ok, reason = fn()
        except Exception as e:  # a crash of the check is its failure, with the reason
            ok, reason = False, f"{type(e).__name__}: {e}"
        out.append((name, ok, reason))

    state: dict[str, Any] = {}

    def references() -> tuple[bool, str]:
        req = BulkRequest[User | Group](
            operations=[
                BulkOperation[Group](method="POST", path="/Groups", bulk_id="g", data=Group(display_name=f"bulk-{tag}", members=[GroupMember(type="User", value="bulkId:u")])),
                BulkOperation[User](method="POST", path="/Users", bulk_id="u", data=User(user_name=f"bulk-{tag}")),
            ]
        )
        res = client.bulk(req)
        if not isinstance(res, BulkResponse):
            return False, f"not a BulkResponse: {res!r}"
        ops = res.operations or []
        if [o.status for o in ops] != [201, 201] or not all(o.location for o in ops):
            return False, f"expected two 201 with locations, got {[(o.bulk_id, o.status, o.location) for o in ops]}"
        by_id = {o.bulk_id: o for o in ops}
        state["user"] = by_id["u"].location.rstrip("/").split("/")[-1]
        state["group"] = by_id["g"].location.rstrip("/").split("/")[-1]
        state["user_version"] = by_id["u"].version
        group = client.query(Group, state["group"])
        members = [m.value for m in (group.members or [])]
        if members != [state["user"]]:
            return False, f"the group's members are {members}, not the user created in the same request"
        return True, "group created with the user of the same request as member (bulkId resolved, order satisfied)"

    def fail_on_errors() -> tuple[bool, str]:
        req = BulkRequest[User](
            fail_on_errors=1,
            operations=[
                BulkOperation[User](method="POST", path="/Users", bulk_id="dup", data=User(user_name=f"bulk-{tag}")),
                BulkOperation[User](method="POST", path="/Users", bulk_id="next", data=User(user_name=f"bulk-next-{tag}")),
            ],
        )
        res = client.bulk(req)
        if not isinstance(res, BulkResponse):
            return False, f"not a BulkResponse: {res!r}"
        ops = res.operations or []
        if len(ops) != 1 or ops[0].status != 409 or not isinstance(ops[0].response, Error):
            return False, f"expected only the failed operation (409 with an Error), got {[(o.bulk_id, o.status) for o in ops]}"
        return True, f"stopped after the first error: {ops[0].response.detail}"

    def version_patch_delete() -> tuple[bool, str]:
        if "user" not in state:
            return False, "no user from the first bulk check"
        patch = PatchOp[User](operations=[PatchOperation[User](op="replace", path="displayName", value="Bulk Patched")])
        req = BulkRequest[User | Group](
            operations=[
                BulkOperation[User](method="PATCH", path=f"/Users/{state['user']}", version=state["user_version"], data=patch),
                BulkOperation[Group](method="DELETE", path=f"/Groups/{state['group']}"),
                BulkOperation[User](method="DELETE", path=f"/Users/{state['user']}", version='W/"1"'),
            ]
        )
        res = client.bulk(req)
        if not isinstance(res, BulkResponse):
            return False, f"not a BulkResponse: {res!r}"
        got = [o.status for o in res.operations or []]
        if got != [200, 204, 412]:
            return False, f"expected PATCH 200, DELETE 204 and a stale version 412, got {got}"
        return True, "PATCH with the current version 200, DELETE 204, DELETE with a stale version 412"

    def limits() -> tuple[bool, str]:
        spc = http.get("ServiceProviderConfig").json()
        bulk = spc.get("bulk") or {}
        if not bulk.get("supported"):
            return False, "bulk.supported is not true"
        n = int(bulk["maxOperations"]) + 1
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [{"method": "DELETE", "path": f"/Users/none-{i}"} for i in range(n)]}
        res = http.post("Bulk", json=body, headers={"Content-Type": "application/scim+json"})
        if res.status_code != 413 or "maxOperations" not in res.json().get("detail", ""):
            return False, f"{n} operations: expected 413 naming maxOperations, got {res.status_code} {res.text[:200]}"
        return True, f"{n} operations answered 413: {res.json()['detail']}"

    run("bulk_references_by_bulk_id (scim2-client)", references)
    run("bulk_fail_on_errors (scim2-client)", fail_on_errors)
    run("bulk_version_patch_delete (scim2-client)", version_patch_delete)
    run("bulk_max_operations_413", limits)
    return out


PATCH_CHECKS = ("check_add_attribute", "check_replace_attribute", "check_remove_attribute")


def _discover_expected(http: httpx2.Client, urns: list[str]) -> dict[str, Any]:
    """What /Schemas/<urn> and /ResourceTypes answer, for _expected_schema (read while the client is open)."""
    if not urns:
        return {}
    types = http.get("ResourceTypes").json().get("Resources", [])
    return {urn: (http.get("Schemas/" + urn), types) for urn in urns}


def _expected_schema(urn: str, discovered: tuple[httpx2.Response, list[Any]], rows: list[dict[str, Any]]) -> tuple[bool, str]:
    """--expect-schema URN: whether the suite met and exercised an extension schema the server should serve.

    A pass against a server that left out the operator's schemas (a SCIM_SCHEMA_DIR not read, a resource type that
    lost its schemaExtensions) would look like a plain pass and test nothing of them. So: /Schemas serves URN, a
    resource type lists it in schemaExtensions, and every readWrite attribute of it passed check_add_attribute and
    check_replace_attribute, and check_remove_attribute too unless it is required.
    """
    res, types = discovered
    if res.status_code != 200:
        return False, f"GET /Schemas/{urn} answered {res.status_code}"
    attributes = res.json().get("attributes", []) or []
    extended = [rt.get("name") for rt in types if any(e.get("schema", "").lower() == urn.lower() for e in rt.get("schemaExtensions", []) or [])]
    if not extended:
        return False, f"no resource type lists {urn} in schemaExtensions"
    passed: dict[str, set[str]] = {check: set() for check in PATCH_CHECKS}
    for r in rows:
        if r["verdict"] == "pass" and r["check"] in passed and isinstance(r["data"], dict) and isinstance(r["data"].get("urn"), str):
            passed[r["check"]].add(r["data"]["urn"].lower())
    names = [a["name"] for a in attributes if a.get("mutability", "readWrite") == "readWrite"]
    if not names:
        return False, f"{urn} has no readWrite attribute to exercise"
    missing: list[str] = []
    for attr in attributes:
        if attr.get("mutability", "readWrite") != "readWrite":
            continue
        full = f"{urn}:{attr['name']}".lower()
        for check in PATCH_CHECKS:
            if check == "check_remove_attribute" and attr.get("required"):
                continue
            if full not in passed[check]:
                missing.append(f"{check} {attr['name']}")
    if missing:
        return False, f"{urn} is served (on {', '.join(extended)}) but not every attribute passed: missing {', '.join(missing)}"
    return True, f"{urn} served on {', '.join(extended)}; its {len(names)} readWrite attribute(s) passed PATCH add, replace and remove"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True, help="SCIM base URL, e.g. http://127.0.0.1:18080/scim/v2")
    parser.add_argument("--token-file", help="file holding the bearer token (else $SCIM_TOKEN)")
    parser.add_argument("--log-dir", help="where to write the detailed results and the HTTP exchanges")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds")
    parser.add_argument("--expect-schema", action="append", default=[], metavar="URN",
                        help="an extension schema the server must serve and the suite must exercise (repeatable); one check result each")
    args = parser.parse_args()

    token = Path(args.token_file).read_text().strip() if args.token_file else os.environ.get("SCIM_TOKEN", "").strip()
    if not token:
        parser.error("no bearer token: pass --token-file or set SCIM_TOKEN")

    log_dir = Path(args.log_dir) if args.log_dir else None
    if log_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
    exchanges = ExchangeLog(log_dir / "scim2-tester-exchanges.jsonl" if log_dir else None)

    base_url = args.base_url.rstrip("/") + "/"
    http = httpx2.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=args.timeout,
        event_hooks={"response": [exchanges.on_response]},
    )
    client = SyncSCIMClient(http)

    print(f"scim2-tester {getattr(scim2_tester, '__version__', '')} against {base_url}".replace("  ", " "))
    _fill_date_times()
    try:
        results = check_server(client, raise_exceptions=False)
        read_only = _read_only_subattributes(http)
        request_only = _request_only_attributes(http)
        bulk = _bulk_checks(client, http)
        expected = _discover_expected(http, args.expect_schema)
    finally:
        http.close()

    passed = failed = 0
    rows: list[dict[str, Any]] = []
    listed_skips_seen: set[str] = set()
    statuses: Counter[str] = Counter()
    for result in results:
        title = result.title or "(untitled)"
        status = result.status
        statuses[status.name] += 1
        verdict: str
        note = result.reason or ""
        filled = _server_filled(result, read_only)
        if status in PASSING:
            verdict = "pass"
        elif filled:
            verdict = "pass"
            note = f"server-filled readOnly sub-attribute(s) {', '.join(filled)} only (see SERVER_FILLED_CHECKS); suite said: {result.reason}"
        elif _request_only(result, request_only):
            verdict = "pass"
            note = f"read back without returned-request attributes, as RFC 7643 §7 says (see REQUEST_ONLY_CHECKS); suite said: {result.reason}"
        elif status in FAILING:
            verdict = "FAIL"
        elif status == Status.SKIPPED and title in EXPECTED_SKIPS:
            verdict = "pass"
            listed_skips_seen.add(title)
            note = f"expected skip: {EXPECTED_SKIPS[title]} (suite said: {result.reason})"
        else:
            verdict = "FAIL"
            note = f"unexpected skip: {result.reason}"
        if verdict == "pass":
            passed += 1
        else:
            failed += 1
        rows.append(
            {
                "verdict": verdict,
                "status": status.name,
                "check": title,
                "resource_type": result.resource_type,
                "tags": sorted(result.tags),
                "reason": result.reason,
                "note": note,
                "server_filled": filled,
                "data": _jsonable(result.data),
            }
        )

    for name, ok, reason in bulk:
        statuses["BULK"] += 1
        if ok:
            passed += 1
        else:
            failed += 1
        rows.append({"verdict": "pass" if ok else "FAIL", "status": "SUCCESS" if ok else "ERROR", "check": name, "resource_type": None, "tags": ["bulk"], "reason": reason, "note": reason, "server_filled": None, "data": None})

    # After every other row: it reads the verdicts of the PATCH checks.
    for urn, discovered in expected.items():
        ok, reason = _expected_schema(urn, discovered, rows)
        statuses["SCHEMA"] += 1
        if ok:
            passed += 1
        else:
            failed += 1
        rows.append({"verdict": "pass" if ok else "FAIL", "status": "SUCCESS" if ok else "ERROR", "check": "expected_schema_exercised", "resource_type": None, "tags": ["schema"], "reason": reason, "note": reason, "server_filled": None, "data": {"urn": urn}})

    width = max((len(r["check"]) for r in rows), default=10)
    print()
    for r in rows:
        where = f"[{r['resource_type']}] " if r["resource_type"] else ""
        line = f"{r['verdict']:<4} {r['status']:<10} {r['check']:<{width}}  {where}{_short(r['note'], 300)}"
        print(line)

    deviations = [r for r in rows if r["status"] == "DEVIATION"]
    if deviations:
        print(f"\n{len(deviations)} DEVIATION result(s) (a SHOULD not followed; not counted as failures)")
    filled_rows = [r for r in rows if r["server_filled"]]
    if filled_rows:
        print(f"\n{len(filled_rows)} ERROR result(s) passed as server-filled readOnly sub-attributes (SERVER_FILLED_CHECKS):")
        for r in filled_rows:
            print(f"  - {r['check']} [{r['resource_type']}]: {', '.join(r['server_filled'])}")

    print("\nFailures:" if failed else "\nNo failures.")
    for r in rows:
        if r["verdict"] == "FAIL":
            where = f" [{r['resource_type']}]" if r["resource_type"] else ""
            print(f"  - {r['status']} {r['check']}{where}: {_short(r['reason'], 1200)}")
            if r["data"] is not None:
                print(f"      data: {_short(json.dumps(r['data'], default=str), 1200)}")

    unused = sorted(set(EXPECTED_SKIPS) - listed_skips_seen)
    if unused:
        print(f"\nnote: EXPECTED_SKIPS entries that were not skipped this run (remove them if stale): {', '.join(unused)}")

    if log_dir:
        (log_dir / "scim2-tester-results.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
        print(f"\ndetails: {log_dir / 'scim2-tester-results.json'}; HTTP exchanges ({exchanges.count}): "
              f"{log_dir / 'scim2-tester-exchanges.jsonl'}")

    print("statuses: " + ", ".join(f"{name}={n}" for name, n in sorted(statuses.items())))
    print(f"scim2-tester: {passed} passed, {failed} failed")
    return 0 if failed == 0 and results else 1


if __name__ == "__main__":
    sys.exit(main())
