"""Backends: what talks to ``transformers`` / the Hugging Face hub (`samkit.backends.transformers`) and
to ``ultralytics`` (`samkit.backends.ultralytics`): offline imports, hub folders, checkpoint readers,
seeded builds and tiny tokenizers. Used alike by models, detectors, taggers and video trackers.

Importing this package imports neither library; each function imports it when called.
"""
