"""Layouts from HF transformers chat templates.

``layout_from_chat(tokenizer, messages)`` renders the messages with the
tokenizer's own chat template and returns the token ids and their layout, one
segment per message. Which message owns the template's own tokens (role
headers, separators, end-of-turn markers) follows one rule, the prefix rule:

    Render the first k messages for k = 1..M. Message k owns the characters
    that rendering k messages adds to rendering k - 1 (the first message also
    owns what the template emits before any message, such as a BOS or a
    default system prompt), and a token belongs to the message owning its
    first character.

So a message's segment holds its role header, its content and its end-of-turn
marker. With ``add_generation_prompt=True`` the prompt the template appends
for the next answer becomes an assistant segment of its own: the answer that
follows continues it causally. A message that adds no token is left out.
Templates whose renderings are not prefixes of one another (some drop earlier
reasoning) are refused, since no token-exact split exists for them.
"""

from typing import Mapping, Optional, Sequence, Tuple

import numpy as np

from ._ism import Layout
from .errors import ArgumentError

#: Message roles as ism reads them; others need ``roles=``.
DEFAULT_ROLES = {"system": "system", "developer": "system", "user": "user", "tool": "tool",
                 "ipython": "tool", "function": "tool", "assistant": "assistant"}


def layout_from_chat(tokenizer, messages: Sequence[Mapping], *, add_generation_prompt: bool = False,
                     roles: Optional[Mapping[str, str]] = None,
                     **template_kwargs) -> Tuple[np.ndarray, Layout]:
    """(input_ids int64 (N,), layout) for ``messages`` rendered by
    ``tokenizer.apply_chat_template``, split by the prefix rule above.

    ``tokenizer`` is a fast transformers tokenizer (it needs offsets);
    ``roles`` maps message roles to ism's (``DEFAULT_ROLES`` by default);
    ``template_kwargs`` go to the template (``tools=...``, ...)."""
    if not messages:
        raise ArgumentError("layout_from_chat: there are no messages")
    if not getattr(tokenizer, "is_fast", False):
        raise ArgumentError("layout_from_chat needs a fast tokenizer (PreTrainedTokenizerFast) "
                            "for its character offsets")
    role_of = dict(DEFAULT_ROLES if roles is None else roles)
    rendered = [_render(tokenizer, messages[:k], False, template_kwargs)
                for k in range(1, len(messages) + 1)]
    text = _render(tokenizer, messages, add_generation_prompt, template_kwargs)
    ends = []
    for k, prefix in enumerate(rendered):
        if not (rendered[k + 1] if k + 1 < len(rendered) else text).startswith(prefix):
            raise ArgumentError(f"layout_from_chat: rendering messages 0..{k} is not a prefix of "
                                f"rendering messages 0..{k + 1}; this template rewrites earlier "
                                "turns, so its tokens cannot be split by message")
        ends.append(len(prefix))
    kinds = [_role(m, i, role_of) for i, m in enumerate(messages)]
    if len(text) > ends[-1]:
        ends.append(len(text))
        kinds.append("assistant")

    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = np.asarray(encoded["input_ids"], dtype=np.int64)
    starts = np.asarray([start for start, _ in encoded["offset_mapping"]], dtype=np.int64)
    owner = np.searchsorted(np.asarray(ends), starts, side="right")
    counts = np.bincount(owner, minlength=len(ends))
    segments = [(kind, int(n)) for kind, n in zip(kinds, counts) if n > 0]
    return ids, Layout(segments)


def _render(tokenizer, messages, add_generation_prompt: bool, kwargs) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False,
                                         add_generation_prompt=add_generation_prompt, **kwargs)


def _role(message: Mapping, index: int, role_of: Mapping[str, str]) -> str:
    try:
        name = message["role"]
    except (KeyError, TypeError):
        raise ArgumentError(f"layout_from_chat: message {index} has no 'role'") from None
    if name not in role_of:
        raise ArgumentError(f"layout_from_chat: message {index} has role {name!r}; known roles "
                            f"are {', '.join(sorted(role_of))} (map others with roles=...)")
    return role_of[name]


__all__ = ["layout_from_chat", "DEFAULT_ROLES"]
