"""A mask policy written in Python, used by resnet_fmnist.py --policy python: keep the largest
|w| of each layer (DNW's forward) but let only the kept weights learn (masked gradients), and
every 100 steps swap in the 5 % of dropped weights with the largest magnitude."""
import numpy as np

import sparsewire


class MagnitudeRegrow(sparsewire.MaskPolicy):
    """Top-k by |w| at the start and every `every` steps; gradient to the kept weights only."""
    name = "py-magnitude-regrow"
    summary = "top-k by |w| every 100 steps, masked gradients"
    routing = "masked_weights"

    def compute_mask(self, layer, step):
        if layer.mask is not None and step.step % 100 != 0 and layer.mask.sum() > 0:
            return layer.mask.copy()
        flat = np.abs(layer.weights).reshape(-1)
        mask = np.zeros_like(flat)
        mask[np.argpartition(flat, -layer.keep_count)[-layer.keep_count:]] = 1
        return mask.reshape(layer.weights.shape)
