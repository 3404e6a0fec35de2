"""A raw folder without the source's annotation files is an error naming them, not an empty corpus."""

import pytest

from onellm_data.converters import make_converter


@pytest.mark.parametrize("source, expected", [("msrvtt_captions", "videodatainfo"), ("msrvtt_qa", "train_qa.json"),
                                              ("audiocaps", "train.csv")])
def test_missing_annotation_files_are_an_error(tmp_path, source, expected):
    with pytest.raises(FileNotFoundError, match=expected):
        list(make_converter(source, tmp_path).records())
