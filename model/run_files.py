"""The file names of a run directory, in one place: what training writes and what eval, chat and the next stage read.

A training run's ``--out`` holds the resumable checkpoint, the log, and at the end the full model with the stage
record beside it; ``RELEASE_FILE`` is the single-file checkpoint OneLLM publishes.
"""

from __future__ import annotations

MODEL_FILE = "model.pt"  # the full model (config + weights) a finished run writes; eval, chat and init_from read it
STAGE_FILE = "stage.json"  # beside MODEL_FILE: the stage's recipe, modalities and step count
TRAIN_LOG_FILE = "train_log.jsonl"  # one JSON record per logged step
CHECKPOINT_FILE = "checkpoint.safetensors"  # the resumable training state (model, optimizer, loader position)
LEGACY_CHECKPOINT_FILE = "checkpoint.pt"  # pickled by older versions: refused, since loading it may run code
RELEASE_FILE = "consolidated.00-of-01.pth"  # OneLLM's released weights
