"""ChatBridge MULTIS audio conversations over AudioSet clips (OneLLM's ``audio/audio_conversation.json``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from onellm_data.converters._layout import Need
from onellm_data.converters.multis_video import MULTIS_OPTIONS, MultisConverter
from onellm_data.schema import AUDIO_EXTS


class MultisAudioConverter(MultisConverter):
    """MULTIS audio(-visual) instruction files, kept as audio samples.

    Raw layout (ChatBridge's ``dataset/MULTIS/`` for its ``valor-*`` tasks; OneLLM keeps the clips under
    ``audio/audioset2/``)::

        audiovideo_conversation_10k.json  audiovideo_detail_10k.json   (and/or OneLLM's audio_conversation.json)
            [{"video_id": "-0DdlOuIFUI_50.000",
              "conversations": [{"from": "human", "value": "<video>\\nWhat sound ...?"},
                                {"from": "gpt", "value": "..."}, ...]}, ...]
        audio/-0DdlOuIFUI_50.000.wav   (also audioset/audio_22050hz_recons/, audioset2/, audios/;
                                        .wav .flac .mp3 .ogg; ChatBridge's ``{id[:2]}/`` buckets accepted)

    Assumed from ChatBridge's loader (``AudioMapper`` resolves ``{dir}/{id}``, ``{id}.wav``, ``{id}.mp3``, then
    ``{id[:2]}/{id}.wav``); an ``audio``/``image`` key with a relative path is accepted too. Any ``<image>``,
    ``<video>`` or ``<audio>`` tag is replaced by one leading ``<audio>``. Options: ``files``, ``media``.
    """

    name: ClassVar[str] = "multis_audio"
    modalities: ClassVar[tuple[str, ...]] = ("audio",)
    modality: ClassVar[str] = "audio"
    default_files = ("audiovideo_conversation_10k.json", "audiovideo_detail_10k.json", "audio_conversation.json")
    default_dirs = ("audio", "audioset/audio_22050hz_recons", "audioset2", "audios")
    exts = AUDIO_EXTS
    path_keys = ("audio", "image")
    declared_options = MULTIS_OPTIONS
    layout = (Need("MULTIS audio conversation files", default_files),
              Need("AudioSet clips", tuple(f"{d}/" for d in default_dirs)))

    def prepare(self, path: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
        from onellm_data.codecs.audio import prepare_audio

        return prepare_audio(path)
