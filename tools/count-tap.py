#!/usr/bin/python3
"""Counts the TAP test cases in a meson testlog.json: prints "PASS FAIL SKIP".

A program that failed without reporting a failing case (a crash, a timeout)
counts as one failure, so a dead test program is never silent."""
import json
import re
import sys

passed = failed = skipped = 0
with open(sys.argv[1], encoding="utf-8") as log:
    for line in log:
        entry = json.loads(line)
        program_failed = 0
        for tap in (entry.get("stdout") or "").splitlines():
            if re.match(r"^ok \d+", tap):
                if re.search(r"#\s*SKIP", tap, re.IGNORECASE):
                    skipped += 1
                else:
                    passed += 1
            elif re.match(r"^not ok \d+", tap):
                if re.search(r"#\s*TODO", tap, re.IGNORECASE):
                    skipped += 1
                else:
                    program_failed += 1
        if entry.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL") and program_failed == 0:
            program_failed = 1
        failed += program_failed
print(passed, failed, skipped)
