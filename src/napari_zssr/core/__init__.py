"""Pure numerics on torch tensors: resizing and kernels, network, training pairs, trainer, inference.

Imports torch, numpy and scipy only: no napari, no Qt, and no file I/O but the starting weights'
(:mod:`.init_weights`).
"""
