"""The two arguments every function takes, checked once: a layout (an
ism.Layout or its text form) and a paradigm (an ism.Paradigm or its name)."""

from typing import Union

from ._ism import Layout, Paradigm
from .errors import ArgumentError

LayoutLike = Union[Layout, str]
ParadigmLike = Union[Paradigm, str]


def as_layout(layout: LayoutLike, name: str = "layout") -> Layout:
    if isinstance(layout, Layout):
        return layout
    if isinstance(layout, str):
        return Layout.parse(layout)
    raise ArgumentError(f"{name} is a {type(layout).__name__}; expected an ism.Layout or its "
                        "text form such as 'user:4, assistant:3'")


def as_paradigm(paradigm: ParadigmLike) -> Paradigm:
    if isinstance(paradigm, Paradigm):
        return paradigm
    if isinstance(paradigm, str):
        return Paradigm(paradigm)
    raise ArgumentError(f"paradigm is a {type(paradigm).__name__}; expected an ism.Paradigm or "
                        "a name such as 'ism'")
