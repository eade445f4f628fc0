"""Real snapshots from a real child (memwarden.snapshot, the leak package's census) in a
report: the growing container's owner path tops the growers table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from memwarden.report.build import build_report
from tests.helpers import child_env
from tests.report.report_traces import realistic

CHILD = r"""
import sys
import memwarden

class SyncService:
    processed_records = set()

def work(n):
    for i in range(n):
        SyncService.processed_records.add(f"record-{len(SyncService.processed_records)}-{i}")

work(1000)
memwarden.snapshot(sys.argv[1])
work(100_000)
memwarden.snapshot(sys.argv[2])
"""


def test_growers_from_real_snapshots(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    child = subprocess.run([sys.executable, str(script), str(before), str(after)],
                           env=child_env(), capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    html = build_report(realistic(tmp_path / "t.jsonl", duration_s=300), [after, before]).html()
    containers = html[html.index("grow grow-containers"):html.index("grow grow-types")]
    first_row = containers[containers.index("<tr><td"):]
    assert first_row.startswith('<tr><td class="name"><code>__main__:SyncService.processed_records'
                                '</code> <span class="kind">(set)</span>')
    assert re.search(r"\(\+100,000\)</td>", first_row.split("</tr>")[0])
    assert "Growth from before.json to after.json" in html
