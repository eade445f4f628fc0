"""The classic: a service remembers every record it processed, forever."""

from __future__ import annotations

KIND = "leak"
OWNER = "leaks.unbounded_set:service.processed_records"
EXPECT = "python_heap"
RATE = 2000 * 110  # 2,000 record ids (str ~60 B + set slot) per step


class SyncService:
    def __init__(self) -> None:
        self.processed_records: set[str] = set()
        self.synced = 0

    def sync(self, batch: list[str]) -> None:
        for record_id in batch:
            if record_id not in self.processed_records:
                self.processed_records.add(record_id)  # the bug: never forgotten
                self.synced += 1


service = SyncService()


def step(i: int) -> None:
    service.sync([f"record-{i:08d}-{n:05d}" for n in range(2000)])
