"""schema/wsframes: pre-built `next` frames equal what the encoder writes, and what is kept of
them per result stays bounded whatever the number of operation ids."""

from __future__ import annotations

import json
import tracemalloc
import uuid

from prow_graphql.schema.wsframes import NextFrames, text_frame


def encode(message: object) -> str:
    return json.dumps(message, separators=(",", ":"))


def test_frames_carry_the_encoders_message_for_each_id() -> None:
    frames = NextFrames(encode, 1 << 20)
    data = {"prowJobUpdated": {"name": "x", "description": 'q"\\ü'}}
    for op_id in ("1", 'q"\\ü', str(uuid.uuid4())):
        message = encode({"id": op_id, "type": "next", "payload": {"data": data}}).encode()
        assert frames.frame(data, op_id) == text_frame(message)


def test_distinct_ids_do_not_each_keep_a_copy_of_the_result() -> None:
    # graphql-ws clients give every subscription its own UUID: 10,000 followers of a 4 KB
    # result must not keep 10,000 frames alive until the next result.
    frames = NextFrames(encode, 10 << 20)
    data = {"prowJobUpdated": {"name": "x", "description": "y" * 4000}}
    ids = [str(uuid.uuid4()) for _ in range(10_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for op_id in ids:
            frame = frames.frame(data, op_id)
            assert frame is not None and op_id.encode() in frame
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 2 << 20, kept  # was 40 MiB: one frame per id


def test_a_message_over_the_limit_is_left_to_the_ordinary_path() -> None:
    frames = NextFrames(encode, 100)
    assert frames.frame({"big": "z" * 200}, "1") is None
    assert frames.frame({"small": 1}, "1") is not None
