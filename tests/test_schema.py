from onellm_data.schema import MAX_KEY_LEN, Sample, make_key, validate


def _sample(modality="image", conversations=None, media=None, key=None):
    conversations = conversations if conversations is not None else [
        {"from": "human", "value": "<image>\nWhat is this?"},
        {"from": "gpt", "value": "A cat."},
    ]
    return Sample(key or make_key("src", "1"), "src", modality, conversations, "1",
                  {"jpg": b"x"} if media is None else media)


def test_keys_are_deterministic_dot_free_and_unique():
    assert make_key("coco", "12345") == "coco-12345"
    dotted = make_key("coco", "000000033471.jpg")
    assert "." not in dotted and dotted == make_key("coco", "000000033471.jpg")
    # Lossy slugs of different ids never collide thanks to the hash suffix.
    assert make_key("s", "a.b") != make_key("s", "a/b") != make_key("s", "a_b")
    assert len(make_key("s", "x" * 500)) <= MAX_KEY_LEN


def test_valid_sample():
    assert validate(_sample()) is None
    text = _sample("text", [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}], media={})
    assert validate(text) is None


def test_validation_reasons():
    cases = {
        "roles out of order": _sample(conversations=[{"from": "gpt", "value": "<image>a"}, {"from": "human", "value": "b"}]),
        "empty turn": _sample(conversations=[{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "  "}]),
        "conversation does not end with an answer": _sample(conversations=[{"from": "human", "value": "<image>\nq"}]),
        "no conversation": _sample(conversations=[]),
        "media placeholder missing from first turn": _sample(
            conversations=[{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]),
        "unexpected media placeholder": _sample(
            conversations=[{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "<video> a"}]),
        "expected one media member of jpg/png/webp": _sample(media={"mp4": b"x"}),
        "empty media member": _sample(media={"jpg": b""}),
        "unknown modality": _sample(modality="smell"),
        "invalid key": _sample(key="src-a.b"),
        "malformed turn": _sample(conversations=[{"from": "human", "value": "<image>", "x": 1}, {"from": "gpt", "value": "a"}]),
    }
    for reason, sample in cases.items():
        assert validate(sample) == reason, reason


def test_depth_needs_rgb_and_map_and_no_extra_members():
    conv = [{"from": "human", "value": "<depth>\nq"}, {"from": "gpt", "value": "a"}]
    ok = _sample("depth", conv, {"jpg": b"x", "depth.png": b"y"})
    assert validate(ok) is None
    assert validate(_sample("depth", conv, {"jpg": b"x"})) == "expected one media member of depth.png"
    extra = _sample("depth", conv, {"jpg": b"x", "depth.png": b"y", "txt": b"z"})
    assert validate(extra) == "unexpected media members: txt"


def test_json_member_is_canonical():
    a, b = _sample(), _sample()
    assert a.json_bytes() == b.json_bytes()
    assert Sample.from_members(__import__("json").loads(a.json_bytes()), a.media) == a


def test_meta_must_be_an_object_with_typed_fields_of_their_type():
    from onellm_data.index import META_COLUMNS

    assert validate(_sample(), META_COLUMNS) is None
    bad = _sample()
    bad.meta = "x"
    assert validate(bad, META_COLUMNS) == "malformed meta"
    for meta, field in (({"width": "640"}, "width"), ({"duration": float("nan")}, "duration"),
                        ({"has_color": 1}, "has_color"), ({"channels": 1 << 20}, "channels")):
        typed = _sample()
        typed.meta = meta
        assert validate(typed, META_COLUMNS).startswith(f"meta field {field} is not")
    untyped = _sample()
    untyped.meta = {"width": 640, "free_text": ["anything", 1]}
    assert validate(untyped, META_COLUMNS) is None


def test_a_record_that_is_not_json_text_is_invalid():
    lone = _sample(conversations=[{"from": "human", "value": "<image>\nWhat \udc80?"}, {"from": "gpt", "value": "A"}])
    assert validate(lone) == "record is not JSON text"
