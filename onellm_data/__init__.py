"""onellm-data: multimodal instruction data for OneLLM-style any-modality LLMs."""

__version__ = "0.1.0"
