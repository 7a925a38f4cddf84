"""SMILE: super-resolution-guided multi-task unmixing (inferred design; docs/dev/smile.md).

Importing this subpackage registers the ``smile`` method.
"""

from hubench.methods.smile.degradation import Degradation, crop, pad_to_multiple
from hubench.methods.smile.method import SMILE
from hubench.methods.smile.network import SmileNetwork

__all__ = ["SMILE", "Degradation", "SmileNetwork", "crop", "pad_to_multiple"]
