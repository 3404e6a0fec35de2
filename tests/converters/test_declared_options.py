"""Every option key a converter reads is one it declares (with a type and help), so `-o` checking and
`onellm-data sources NAME` never miss one; declared options are checked on construction."""

import pytest

from onellm_data.converters import make_converter, registry
from onellm_data.converters._options import COMMON, ConverterOptionError
from onellm_data.pipeline import ShardSettings, run_conversion
from onellm_data.samples import sample_sources


class ReadKeys(dict):
    """A plain options dict that remembers every key looked up."""

    def __init__(self):
        super().__init__()
        self.read = set()

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)


@pytest.mark.parametrize("source", sorted(sample_sources()))
def test_every_option_read_is_declared(tmp_path, source):
    raw = tmp_path / source
    raw.mkdir()
    sample_sources()[source](raw)
    conv = make_converter(source, raw)
    conv.options = ReadKeys()
    # In this process, so the lookups of every record's conversion are seen.
    run_conversion(conv, tmp_path / "corpus", ShardSettings(partition_size=1000))
    declared = {o.name for o in (*conv.declared_options, *COMMON)} | {"source"}
    assert conv.options.read <= declared, f"{source} reads undeclared options {conv.options.read - declared}"
    assert all(o.help for o in conv.declared_options)


def test_every_converter_declares_a_layout():
    assert all(cls.layout for cls in registry().values())


def test_declared_options_are_checked_on_construction(tmp_path):
    with pytest.raises(ConverterOptionError, match="valid options: allow_root, images, json, maps, seed, subset"):
        make_converter("llava_depth", tmp_path, sbset="5")
    with pytest.raises(ConverterOptionError, match="expected one of first, all"):
        make_converter("nsd_fmri", tmp_path, captions="some")
    assert make_converter("llava_depth", tmp_path, subset="all", seed="3").options == {"subset": "all", "seed": "3"}
