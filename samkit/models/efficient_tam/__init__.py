"""EfficientTAM (Xiong et al., "Efficient Track Anything", ICCV 2025): samkit's build of the official models.

``model`` (the architectures and their builder: SAM 2's model from the ``sam2`` package with
EfficientTAM's parts), ``vit`` (the plain ViT image trunk), ``neck`` (its one-level neck),
``pooled_attention`` (the efficient memory cross-attention of the ``_1`` / ``_2`` models) and
``adapter`` (the `Segmenter` of the ``efficient_tam`` family). Nothing is imported here, so importing
the package stays cheap.
"""
