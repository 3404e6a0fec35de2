"""Every converter has its own test module here, run against fixtures in the source's official layout (the
generic ``jsonl`` converter is the pipeline's own test input, exercised throughout ``tests/pipeline``)."""

from pathlib import Path

from onellm_data.converters import registry

HERE = Path(__file__).resolve().parent


def test_every_converter_has_a_test_module() -> None:
    untested = sorted(name for name in registry() if name != "jsonl" and not (HERE / f"test_{name}.py").is_file())
    assert untested == []
    assert any("JsonlConverter" in p.read_text() for p in (HERE.parent / "pipeline").glob("test_*.py"))
