"""The exceptions ism raises, one per error class of the C++ library.

Every one derives from :class:`ism.Error`, so ``except ism.Error`` catches
whatever ism raises on bad input, and also from the built-in category it
belongs to (``ValueError`` for bad input, ``OSError`` for failed I/O,
``OverflowError`` for counts too large), so code that catches those keeps
working. The message is the library's, naming what is wrong and where.
"""

import builtins


class Error(Exception):
    """Base of every ism error."""


class LayoutError(Error, ValueError):
    """A layout that breaks the rules: an empty document, a zero length, an unknown role."""


class LayoutParseError(LayoutError):
    """Text that is not a layout; the message gives the character position."""


class UnknownParadigmError(Error, ValueError):
    """A paradigm name no paradigm is registered under."""


class ParadigmError(Error, ValueError):
    """A paradigm that breaks its contract (an interval outside the token's document)."""


class ShapeError(Error, ValueError):
    """Arrays, chunks or tensors whose sizes do not fit together."""


class ArgumentError(Error, ValueError):
    """An argument outside its domain: a wrong dtype, a block of size 0, a non-finite scale."""


class BlockMaskMismatch(Error, ValueError):
    """A block mask used with a mask it was not built from."""


class UnknownFormatError(Error, ValueError):
    """An export format name that names no format."""


class FormatError(Error, ValueError):
    """Arrays that are not a valid file of their format, or a mask the format cannot hold."""


class OverflowError(Error, builtins.OverflowError):  # noqa: A001 - mirrors ism::overflow_error
    """A count that does not fit 64 bits."""


class IOError(Error, OSError):  # noqa: A001 - mirrors ism::io_error
    """Reading or writing a file failed."""


__all__ = [
    "Error", "LayoutError", "LayoutParseError", "UnknownParadigmError", "ParadigmError",
    "ShapeError", "ArgumentError", "BlockMaskMismatch", "UnknownFormatError", "FormatError",
    "OverflowError", "IOError",
]
