"""torchserve-deploy components: one module per part of the model → archive → store → image → server path.

Components take typed, validated arguments; they never read `pulumi.Config` or the environment.
"""
from components.archive import ModelArchive, ModelArchiveArgs, ModelSource
from components.errors import ValidationError
from components.image import TorchServeImage, TorchServeImageArgs
from components.server import TorchServeServer, TorchServeServerArgs
from components.store import ModelStore, ModelStoreArgs

__all__ = [
    "ModelArchive",
    "ModelArchiveArgs",
    "ModelSource",
    "ModelStore",
    "ModelStoreArgs",
    "TorchServeImage",
    "TorchServeImageArgs",
    "TorchServeServer",
    "TorchServeServerArgs",
    "ValidationError",
]
