"""Annotation files of the wrong shape are one ``AnnotationError`` naming the file and what was expected
(never a traceback from deep inside a parser, never a run of per-row rejects)."""

import json

import pytest

from onellm_data.converters import make_converter
from onellm_data.errors import AnnotationError

OTHER_JSON = json.dumps({"info": {}, "images": [{"id": 1}], "annotations": []})
OTHER_CSV = "file_name,caption_1,caption_2\na.wav,x,y\n"


@pytest.mark.parametrize("source, file, text, options, expected", [
    ("coco_captions", "annotations/captions_train2017.json", json.dumps([{"id": 1}]), {}, "COCO's caption"),
    ("msrvtt_captions", "train_val_videodatainfo.json", OTHER_JSON, {}, "MSR-VTT's videodatainfo"),
    ("msrvtt_qa", "train_qa.json", OTHER_JSON, {}, "MSRVTT-QA"),
    ("llava_mix665k", "llava_v1_5_mix665k.json", OTHER_JSON, {}, "LLaVA's list"),
    ("pointllm_instruct", "anno_data/PointLLM_complex_instruction_70K.json", OTHER_JSON, {}, "a JSON list"),
    ("wavcaps", "json_files/FreeSound/fsd_final.json", OTHER_JSON, {}, "under 'data'"),
    ("multis_video", "video_detail_10k.json", OTHER_JSON, {}, "MULTIS"),
    ("onellm_release", "image/cococap_train.json", OTHER_JSON, {}, "a released list"),
    ("audiocaps", "train.csv", OTHER_CSV, {}, "an AudioCaps CSV"),
    ("webvid", "results_2M_val.csv", OTHER_CSV, {}, "a WebVid results CSV"),
    ("cc3m_depth", "cc3m.csv", "file_name\tcaption_1\na.jpg\tx\n", {}, "caption<TAB>url header"),
    ("image_folder", "captions.csv", "name,caption\na.jpg,x\n", {}, "a caption list with a file"),
    ("ego4d_imu", "windows.csv", OTHER_CSV, {"windows": "windows.csv"}, "an imu2clip window CSV"),
    ("nsd_fmri", "nsddata/experiments/nsd/nsd_stim_info_merged.csv", OTHER_CSV, {}, "nsd_stim_info_merged.csv"),
])
def test_wrong_shape_is_one_error_naming_the_file(tmp_path, source, file, text, options, expected):
    path = tmp_path / file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if source == "nsd_fmri":
        import numpy as np

        np.save(tmp_path / "COCO_73k_annots_curated.npy", np.array([["a cat"] * 5]))
    with pytest.raises(AnnotationError) as info:
        list(make_converter(source, tmp_path, **options).records())
    message = str(info.value)
    assert message.startswith(f"{path}: expected ") and expected in message and "\n" not in message
