"""Unmix your own image with one method, no reference needed: :func:`unmix`.

    est = hubench.unmix("scene.hdr", method="vca+fcls", n_endmembers=4)
    est.A          # (H*W, 4) abundances, pixels row-major
    est.E          # (4, L) endmembers (blind methods)

``hubench unmix IMAGE --method NAME --n-endmembers P --out FILE`` is the same from the
command line and writes the result (:mod:`hubench.unmixing.outputs`).
"""

from hubench.unmixing.run import load_image, method_instance, unmix

__all__ = ["load_image", "method_instance", "unmix"]
