"""EfficientSAM (Xiong et al. 2023): samkit's own implementation of the official architecture.

``model`` (the module and its builders), ``image_encoder``, ``prompt_encoder``, ``transformer``
and ``mask_decoder`` (its parts), ``predictor`` (embed once, decode many prompts) and ``adapter``
(the `Segmenter` of the ``efficient_sam`` family). Nothing is imported here, so importing
the package stays cheap.
"""
