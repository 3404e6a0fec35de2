"""OneLLM's instruction prompts (paper Tab. 10): the converters write them into the corpus and evaluation asks
them, so training and evaluation see the same words."""

from __future__ import annotations

# The caption instruction per modality; IMU and fMRI have their own (depth and normal maps are shown as images).
CAPTION_PROMPTS: dict[str, str] = {
    "image": "Provide a one-sentence caption for the provided image.",
    "video": "Provide a one-sentence caption for the provided video.",
    "audio": "Provide a one-sentence caption for the provided audio.",
    "point": "Provide a one-sentence caption for the provided point cloud.",
    "depth": "Provide a one-sentence caption for the provided image.",
    "normal": "Provide a one-sentence caption for the provided image.",
    "imu": "Describe the motion.",
    "fmri": "Describe the scene based on fMRI data.",
}
SHORT_QA_SUFFIX = "Answer the question using a single word or phrase."  # appended to short-answer questions
MC_SUFFIX = "Answer with the option's letter from the given choices directly."  # after multiple-choice options
