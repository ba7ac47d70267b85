"""Pure numerics on torch tensors: resizing and kernels, network, training pairs, trainer, inference.

Imports torch, numpy and scipy only: no napari, no Qt, no file I/O.
"""
