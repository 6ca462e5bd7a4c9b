#!/usr/bin/env python3
"""Count a schemathesis run from its JUnit report (and its JSON run report, when there is one).

    python conformance/schemathesis_summary.py REPORT_DIR

What counts: one unit per JUnit test case, i.e. one per API operation of openapi.yaml (GET /scim/v2/Users, ...)
plus one for "Stateful tests". A unit fails when schemathesis recorded any failure or error for it; the checks on
methods openapi.yaml does not declare (TRACE, QUERY, ...) are filed by schemathesis under an operation of the same
path. The last line is `schemathesis: N passed, M failed`; the exit code is 0 only when M is 0 and a report exists.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def newest(pattern: str) -> str | None:
    files = sorted(glob.glob(pattern), key=os.path.getmtime)
    return files[-1] if files else None


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    report_dir = sys.argv[1]
    junit = newest(os.path.join(report_dir, "junit*.xml"))
    run = newest(os.path.join(report_dir, "json*.json"))
    if not junit:
        print(f"schemathesis: no JUnit report in {report_dir} (did the run start? see schemathesis.log)")
        print("schemathesis: 0 passed, 1 failed")
        return 1

    passed = failed = 0
    lines: list[str] = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.get("name", "?")
        problems = case.findall("failure") + case.findall("error")
        if problems:
            failed += 1
            codes: list[str] = []
            for p in problems:
                for code in re.split(r",\s*", p.get("message") or p.get("type") or "?"):
                    if code and code not in codes:
                        codes.append(code)
            lines.append(f"FAIL {name}  [{', '.join(codes)}]")
        else:
            passed += 1
            lines.append(f"pass {name}")
    print("\n".join(lines))

    if run:
        with open(run, encoding="utf-8") as f:
            report = json.load(f)
        cases = report.get("test_cases", {})
        print(
            f"\ntest cases: {cases.get('generated', '?')} generated, {cases.get('with_failures', '?')} with failures, "
            f"{cases.get('unique_failures', '?')} unique failures, {cases.get('errored', '?')} errored; "
            f"seed {report.get('seed')}; {report.get('running_time', 0):.0f}s; stop reason: {report.get('stop_reason')}"
        )
        for failure in report.get("failures", []):
            ops = ", ".join(failure.get("operations", []))
            print(f"  {failure.get('code')} {failure.get('title')} x{failure.get('count')}: {ops}")
        for error in report.get("errors", []):
            print(f"  error: {json.dumps(error)[:500]}")
        if report.get("errors"):
            failed += 0 if failed else 1
        if not report.get("complete", True):
            print("  the run did not complete")
            failed += 0 if failed else 1

    print(f"schemathesis: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
