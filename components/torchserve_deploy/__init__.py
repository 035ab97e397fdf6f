"""torchserve-deploy: Pulumi components that take a PyTorch model to a running, secure TorchServe endpoint.

Subpackages follow the pipeline, and imports point one way (each may use those before it):
  container/  one ContainerSpec and its renderings (Pulumi args, `docker run`, compose)
  image/      the TorchServe image: variants, content-addressed tags, the build component
  model/      model sources and manifests, archives, training
  serve/      config.properties, the server container, the model store on a Docker host
  aws/        the EC2 GPU host, its EBS store, model bucket and ECR repository (extra: aws)

Components take typed, validated arguments; they never read `pulumi.Config` or the environment.
"""
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.image.serving import TorchServeImage, TorchServeImageArgs
from torchserve_deploy.model.archive import ModelArchive, ModelArchiveArgs
from torchserve_deploy.model.source import ModelSource
from torchserve_deploy.serve.config_properties import ModelServing, ServerPorts
from torchserve_deploy.serve.server import TorchServeServer, TorchServeServerArgs
from torchserve_deploy.serve.store import ModelStore, ModelStoreArgs

__version__ = "0.2.0"

__all__ = [
    "ModelArchive",
    "ModelArchiveArgs",
    "ModelServing",
    "ModelSource",
    "ModelStore",
    "ModelStoreArgs",
    "ServerPorts",
    "TorchServeImage",
    "TorchServeImageArgs",
    "TorchServeServer",
    "TorchServeServerArgs",
    "ValidationError",
    "__version__",
]
