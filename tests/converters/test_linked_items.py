"""Items linked to a parent list: good items become records; no id, an unknown parent or a broken file, rejects."""

from __future__ import annotations

import json

from onellm_data.converters._linked_items import Link, linked_records
from onellm_data.converters._rejects import MALFORMED_FILE, MALFORMED_ROW, UNKNOWN_ID

LINK = Link("annotations.item", "annotations", "id", "annotation id", "image_id", "images")


def _records(path):
    return list(linked_records(path, "test annotations", LINK, {"1", "2"},
                               lambda item_id, parent_id, item: {"id": item_id, "parent": parent_id,
                                                                 "caption": item["caption"]}))


def test_each_item_is_a_record_or_a_reject_with_its_reason(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"annotations": [
        {"id": 10, "image_id": 1, "caption": "a"}, {"image_id": 2, "caption": "no id"},
        {"id": 12, "image_id": 9, "caption": "unknown image"}, {"id": "13", "image_id": "2", "caption": "b"}]}))
    out = _records(path)
    assert out[0] == {"id": "10", "parent": "1", "caption": "a"}
    assert (out[1]["source_id"], out[1]["_reject"]) == ("annotations1", MALFORMED_ROW)
    assert (out[2]["source_id"], out[2]["_reject"]) == ("12", UNKNOWN_ID)
    assert "image_id 9 not in images" in out[2]["_detail"]
    assert out[3] == {"id": "13", "parent": "2", "caption": "b"}


def test_a_broken_file_ends_with_one_reject(tmp_path):
    path = tmp_path / "b.json"
    path.write_text('{"annotations": [{"id": 1, "image_id": 1, "caption": "a"}, {"id": 2, "ima')
    out = _records(path)
    assert out[0]["id"] == "1" and len(out) == 2 and out[1]["_reject"] == MALFORMED_FILE
