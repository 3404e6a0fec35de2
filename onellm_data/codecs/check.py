"""The one rule every sample passes before it enters a shard: the load-side decode (``codecs.decode``, eval mode,
the exact function the loader and ``chat`` call) succeeds on its members and yields the modality's exact shape
with only finite values. Conversion applies it to every sample of every converter; ``verify --decode`` applies
it to a finished corpus.

A codec's ``prepare_*`` already decodes the media it validates; where it runs the load-side decode itself it
records the outcome with :func:`proven`, and :func:`check_sample` on those very member objects (identity, not
equality: no hashing) uses it up instead of decoding twice."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch

from onellm_data.codecs._detail import exc_detail
from onellm_data.codecs.dispatch import SHAPES, decode
from onellm_data.errors import CodecError

PROOF_SLOTS = 8  # a record may yield a few samples before they are checked; each slot holds its media alive


@dataclass(frozen=True)
class DecodeFailure:
    """Why a sample's media fail the load-side decode: the reason (stable, groupable) and its specifics."""

    reason: str
    detail: str = ""


def tensor_failure(modality: str, x: torch.Tensor) -> DecodeFailure | None:
    """The shape and finiteness half of the rule, on a decoded tensor."""
    want = SHAPES[modality]
    if tuple(x.shape) != want:
        return DecodeFailure(f"decoded {modality} has the wrong shape", f"{tuple(x.shape)}, expected {want}")
    if not x.is_floating_point():
        return DecodeFailure(f"decoded {modality} is not floating point", str(x.dtype))
    # A finite sum proves every value finite (one NaN or inf makes it NaN or inf) at a fraction of isfinite's
    # cost; only a non-finite sum, which huge finite values could also give, needs the element-wise look.
    if bool(torch.isfinite(x.sum())):
        return None
    bad = int((~torch.isfinite(x)).sum())
    if bad:
        return DecodeFailure(f"decoded {modality} has non-finite values", f"{bad} of {x.numel()} values")
    return None


def _media(members: dict[str, bytes]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((name, id(blob)) for name, blob in members.items() if name != "json"))


class _Proofs:
    """Recent successful decodes, keyed by the identity of the member objects (held, so ids stay unique)."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.entries: OrderedDict[tuple[str, tuple[tuple[str, int], ...]], dict[str, bytes]] = OrderedDict()

    def add(self, modality: str, members: dict[str, bytes]) -> None:
        key = (modality, _media(members))
        self.entries[key] = dict(members)
        self.entries.move_to_end(key)
        while len(self.entries) > self.slots:
            self.entries.popitem(last=False)

    def take(self, modality: str, members: dict[str, bytes]) -> bool:
        """Whether these member objects were proven; the proof is used up (its media need not stay alive)."""
        return self.entries.pop((modality, _media(members)), None) is not None


_PROOFS = _Proofs(PROOF_SLOTS)


def proven(modality: str, members: dict[str, bytes], x: torch.Tensor) -> torch.Tensor:
    """Called by a codec's ``prepare_*`` with the eval-mode decode ``x`` of exactly ``members``: raises the
    rule's reject if ``x`` fails it, otherwise remembers that these member objects pass."""
    failure = tensor_failure(modality, x)
    if failure is not None:
        raise CodecError(failure.reason, failure.detail)
    _PROOFS.add(modality, members)
    return x


def check_sample(modality: str, members: dict[str, bytes]) -> DecodeFailure | None:
    """None when the sample's media pass the load-side decode rule, else the failure (text samples pass)."""
    if modality == "text":
        return None
    if _PROOFS.take(modality, members):
        return None
    try:
        x = decode(modality, members, train=False)
    except CodecError as exc:
        return DecodeFailure(exc.reason, exc.detail)
    except Exception as exc:  # noqa: BLE001 - a library error on one sample is that sample's reject
        return DecodeFailure(f"undecodable {modality}", f"{type(exc).__name__}: {exc_detail(exc)}")
    return tensor_failure(modality, x)
