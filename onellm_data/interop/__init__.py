"""Reading the corpus with other tools: Hugging Face ``datasets``, plain ``webdataset``, Megatron-Energon.

Each tool gets its own module, imported on use, so none of them is needed by the rest of the package.
"""
