"""WavCaps audio-caption pairs (AudioSet_SL, BBC Sound Effects, FreeSound, SoundBible) with local audio.

Raw layout (the WavCaps repository's ``data/json_files`` plus the released flac archives)::

    raw/
      json_files/AudioSet_SL/as_final.json         {"num_captions_per_audio": 1, "data": [item, …]}
      json_files/BBC_Sound_Effects/bbc_final.json  item keys differ per part: all have ``id`` and ``caption``;
      json_files/FreeSound/fsd_final.json          AudioSet ids carry ``.wav`` ("Y…_.wav"), the others are
      json_files/SoundBible/sb_final.json          numbers; ``audio`` is the placeholder "wav_path"
      AudioSet_SL/{id}.flac  (or AudioSet_SL_flac/, audio/AudioSet_SL/, waveforms/AudioSet_SL_flac/)
      …

The audio of item ``id`` is ``{id without extension}.flac`` (or .wav) in its part's folder. Options:
``json`` (a file or folder under raw; default ``json_files`` or raw), ``audio`` (a folder under raw searched
first) and ``blacklist`` (WavCaps' overlap lists, ``{"FreeSound": [ids], "AudioSet": [ids]}``: a file under raw,
or ``none``; default ``json_files/blacklist/blacklist_exclude_all_ac.json`` when present, which removes clips that
overlap the AudioCaps and Clotho evaluation sets). Blacklisted items are rejects with their own reason.
The JSON is streamed item by item with ijson, so memory stays flat on the 100 MB+ parts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._img2dataset import caption_record, caption_sample
from onellm_data.converters._json_stream import iter_json
from onellm_data.converters._layout import Need
from onellm_data.converters._options import Option
from onellm_data.converters._rejects import MALFORMED_FILE, MISSING_MEDIA, malformed, rejected
from onellm_data.converters.base import Converter
from onellm_data.errors import RejectError
from onellm_data.schema import Sample

# JSON file stem → (part folder, short id prefix)
PARTS: dict[str, tuple[str, str]] = {
    "as_final": ("AudioSet_SL", "as"),
    "bbc_final": ("BBC_Sound_Effects", "bbc"),
    "fsd_final": ("FreeSound", "fsd"),
    "sb_final": ("SoundBible", "sb"),
}
AUDIO_SUFFIXES = (".flac", ".wav")
DEFAULT_BLACKLIST = "json_files/blacklist/blacklist_exclude_all_ac.json"
BLACKLIST_KEYS = {"FreeSound": "FreeSound", "AudioSet_SL": "AudioSet"}  # part folder → blacklist key
BLACKLISTED = "blacklisted (overlaps an evaluation set)"


def part_of(path: Path) -> tuple[str, str]:
    """(part folder, id prefix) of a WavCaps JSON, from its file name or else its parent folder."""
    if path.stem in PARTS:
        return PARTS[path.stem]
    return path.parent.name, path.stem.removesuffix("_final")


def file_stem(item_id: str) -> str:
    """AudioSet ids name the original ``.wav``; the released audio is the same stem in flac."""
    for suffix in (".wav", ".flac", ".mp3"):
        if item_id.lower().endswith(suffix):
            return item_id[: -len(suffix)]
    return item_id


class WavcapsConverter(Converter):
    name: ClassVar[str] = "wavcaps"
    modalities: ClassVar[tuple[str, ...]] = ("audio",)
    declared_options = (
        Option("json", "a WavCaps JSON file or folder under raw (default json_files/ or raw)", "path"),
        Option("audio", "a folder searched first for {part}/{id}.flac", "path", media=True),
        Option("blacklist", "WavCaps' overlap list under raw, or none (default: the published one when present)"),
    )
    layout = (Need("WavCaps JSON files", ("json_files/", "./"), "*_final.json"),
              Need("WavCaps audio", ("./",), "*.flac"))

    def _json_files(self) -> list[Path]:
        if self.options.get("json"):
            base = self.raw / self.options["json"]
        else:
            base = self.raw / "json_files" if (self.raw / "json_files").is_dir() else self.raw
        if base.is_file():
            return [base]
        return sorted((p for p in base.rglob("*.json") if "blacklist" not in p.parts), key=lambda p: p.as_posix())

    def _blacklist(self) -> dict[str, set[str]]:
        """Ids per part folder to leave out (compared as strings, with and without the file extension)."""
        import json

        option = self.options.get("blacklist")
        if option == "none":
            return {}
        path = self.raw / (option or DEFAULT_BLACKLIST)
        if not path.is_file():
            if option:
                raise FileNotFoundError(f"WavCaps blacklist {path} not found")
            return {}
        listed = json.loads(path.read_text(encoding="utf-8"))
        out: dict[str, set[str]] = {}
        for part, key in BLACKLIST_KEYS.items():
            ids = {str(i) for i in listed.get(key, [])}
            out[part] = ids | {file_stem(i) for i in ids}
        return out

    def records(self) -> Iterator[dict[str, Any]]:
        blacklist = self._blacklist()
        for path in self._json_files():
            part, prefix = part_of(path)
            excluded = blacklist.get(part, set())
            for n, item in iter_json(path, "data.item"):
                if item is None:
                    yield malformed(f"{prefix}-tail{n}", path, MALFORMED_FILE)
                    break
                item_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(item_id, int):
                    item_id = str(item_id)
                if not isinstance(item_id, str) or not item_id.strip() or "/" in item_id:
                    yield malformed(f"{prefix}-item{n}", f"{path.name} item {n}: id {item_id!r}")
                    continue
                stem = file_stem(item_id.strip())
                if item_id.strip() in excluded or stem in excluded:
                    yield rejected(f"{prefix}-{stem}", BLACKLISTED,
                                   f"{part} id {item_id.strip()} in the WavCaps blacklist")
                    continue
                duration = item.get("duration")
                yield caption_record(f"{prefix}-{stem}", item.get("caption"), part=part, file_stem=stem,
                                     listed_duration=duration if isinstance(duration, (int, float)) else None)

    def _find_audio(self, record: dict[str, Any]) -> Path | None:
        part = record["part"]
        roots = [self.raw / self.options["audio"]] if self.options.get("audio") else []
        roots += [self.raw, self.raw / "audio", self.raw / "waveforms"]
        for root in roots:
            for folder in (root / part, root / f"{part}_flac"):
                for suffix in AUDIO_SUFFIXES:
                    path = folder / f"{record['file_stem']}{suffix}"
                    if path.is_file():
                        return path
        return None

    def convert(self, record: dict[str, Any]) -> Sample:
        from onellm_data.codecs.audio import prepare_audio

        path = self._find_audio(record)
        if path is None:
            raise RejectError(MISSING_MEDIA, f"{record['part']}/{record['file_stem']}.flac")
        media, meta = prepare_audio(self.media(path))
        return caption_sample(self, record["source_id"], "audio", record["caption"], media, meta)
