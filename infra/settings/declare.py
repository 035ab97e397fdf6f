"""How a stack setting is declared: the metadata every key carries, and the pydantic base of a section."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo
from pydantic.alias_generators import to_camel
from torchserve_deploy import validators as v
from torchserve_deploy.aws import limits
from torchserve_deploy.constants import PROJECT

LOCAL, EC2, FLEET = "local", "ec2", "fleet"
BOTH = (LOCAL, EC2, FLEET)
CLOUD = (EC2, FLEET)
HOSTS = BOTH
@dataclass(frozen=True)
class K:
    """What a user reads about a key, and what an error tells them."""

    doc: str
    allowed: str
    example: str
    hosts: tuple[str, ...] = BOTH
    secret: bool = False
    """May hold a credential (e.g. an index URL with a token): set it with `pulumi config set --secret`."""


T = TypeVar("T")


def full_key(field_name: str) -> str:
    return f"{PROJECT}:{to_camel(field_name)}"


def check(fn: Callable[[str, Any], Any]) -> AfterValidator:
    """Run a torchserve_deploy validator with the config key as its name; keep the parsed value."""
    def run(value: T, info: ValidationInfo) -> T:
        fn(full_key(str(info.field_name)), value)
        return value
    return AfterValidator(run)


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, alias_generator=to_camel,
                              populate_by_name=True)


Port = Annotated[int, Field(ge=1024, le=65535)]
PORT_ALLOWED = "an integer port from 1024 to 65535 (lower ports belong to system services such as SSH)"


def each(fn: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """A validator of one value applied to every item of a list."""
    def run(key: str, values: Any) -> Any:
        v.unique(key, list(values))
        return [fn(key, value) for value in values]
    return run


def aws_id(kind: str) -> Callable[[str, Any], Any]:
    return lambda key, value: value == "" or limits.aws_id(key, value, kind)


