"""Sample keys as the README states them: ``{source}-{id}`` for a clean id, ``{source}-{slug}~{hash}`` otherwise."""

import hashlib
import re

from onellm_data.schema import MAX_KEY_LEN, make_key


def test_clean_ids_are_kept_and_other_ids_get_a_slug_and_a_hash():
    assert make_key("coco_captions", "000000033471") == "coco_captions-000000033471"
    assert make_key("s", "a-B_9") == "s-a-B_9"
    digest = hashlib.sha1("000000033471.jpg".encode()).hexdigest()[:12]
    assert make_key("coco", "000000033471.jpg") == f"coco-000000033471_jpg~{digest}"
    assert make_key("s", "..") == f"s-~{hashlib.sha1(b'..').hexdigest()[:12]}"  # nothing left to slug


def test_keys_are_dot_free_deterministic_and_fit_a_tar_name_with_any_member():
    for source_id in ("a.b", "dir/x y.wav", "ü" * 30, "x" * 500, "a" * 64, "a" * 65):
        key = make_key("src", source_id)
        assert "." not in key and key == make_key("src", source_id)
        assert re.fullmatch(r"src-[A-Za-z0-9_~-]+", key) and len(key) <= MAX_KEY_LEN
        assert len(f"{key}.normal.png".encode()) <= 100  # ustar's name field
