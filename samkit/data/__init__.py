"""Datasets and sample images."""
