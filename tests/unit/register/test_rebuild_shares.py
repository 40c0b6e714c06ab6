"""How a rebuild in several processes deals out the partitions: each process about as many events,
every partition to exactly one process, none left idle with nothing (`rebuild_processes._shares`)."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.register.adapters.rebuild_processes import _shares


def partitions(*sizes: int) -> dict[TopicPartition, int]:
    return {TopicPartition("t", n): size for n, size in enumerate(sizes)}


def test_every_partition_goes_to_one_process_and_the_loads_are_even() -> None:
    ends = partitions(900, 100, 500, 500, 400, 300, 200, 100)
    shares = _shares(ends, 2)
    assert len(shares) == 2
    dealt = [tp for share in shares for tp in share]
    assert sorted(dealt) == sorted(ends)
    assert sorted(sum(share.values()) for share in shares) == [1500, 1500]


def test_fewer_partitions_than_processes_leaves_no_empty_share() -> None:
    shares = _shares(partitions(10), 4)
    assert shares == [{TopicPartition("t", 0): 10}]
    assert _shares({}, 2) == []
