"""The server's log writer thread (service.logs._PeriodicWriter): every record queued is written,
in order, in batches (one write and flush per wake-up, not one per record), and stopping it
writes what is still queued."""

import io
import logging
from queue import SimpleQueue

from service.logs import JsonFormatter, _Enqueue, _PeriodicWriter


class CountingStream(io.StringIO):
    flushes = 0

    def flush(self) -> None:
        self.flushes += 1
        super().flush()


def test_every_record_is_written_in_order_in_a_few_batches():
    stream = CountingStream()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    records: SimpleQueue = SimpleQueue()
    writer = _PeriodicWriter(records, handler)
    logger = logging.Logger("writer-test")
    logger.addHandler(_Enqueue(records))
    writer.start()
    for i in range(300):
        logger.info("line %d", i)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    writer.stop()  # writes what is still queued, then ends the thread
    lines = stream.getvalue().splitlines()
    assert [line.split('"message":"')[1].split('"')[0] for line in lines[:300]] == [
        f"line {i}" for i in range(300)]
    assert "ValueError: boom" in lines[300] and len(lines) == 301
    assert stream.flushes <= 5  # one per wake-up with something to write, not one per line
