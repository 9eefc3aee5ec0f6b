"""ism.hf.layout_from_chat with a tokenizer built here (nothing is downloaded):
ids equal tokenizing the whole rendering, one segment per message by the prefix rule."""

import numpy as np
import pytest

import ism
import ism.hf

pytestmark = pytest.mark.torch

SPECIAL = ["<|im_start|>", "<|im_end|>", "<s>"]
WORDS = ["system", "user", "assistant", "tool", "developer", "narrator", "you", "are", "helpful",
         "hi", "hello", "there", "how", "is", "the", "weather", "sunny", "thanks", "ok", "call",
         "get_weather", "result", "25", "degrees", "?", ".", ",", "!"]

CHATML = ("{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
          "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n"
          "{% endif %}")

# Drops the content of every answer but the last, as some reasoning templates do.
REWRITING = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
             "{% if m['role'] == 'assistant' and not loop.last %}ok{% else %}{{ m['content'] }}"
             "{% endif %}<|im_end|>\n{% endfor %}")

MESSAGES = [
    {"role": "system", "content": "you are helpful ."},
    {"role": "user", "content": "hi , how is the weather ?"},
    {"role": "assistant", "content": "call get_weather"},
    {"role": "tool", "content": "result 25 degrees"},
    {"role": "assistant", "content": "sunny , 25 degrees !"},
    {"role": "user", "content": "thanks"},
]


@pytest.fixture(scope="module")
def make_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    def make(template=CHATML):
        vocab = {w: i for i, w in enumerate(["[UNK]"] + SPECIAL + WORDS)}
        tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tok.add_special_tokens(SPECIAL)
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="<|im_end|>",
                                       unk_token="[UNK]", chat_template=template)
    return make


def token_count(tokenizer, messages, add_generation_prompt=False) -> int:
    if not messages:
        return len(tokenizer(tokenizer.bos_token, add_special_tokens=False)["input_ids"])
    text = tokenizer.apply_chat_template(messages, tokenize=False,
                                         add_generation_prompt=add_generation_prompt)
    return len(tokenizer(text, add_special_tokens=False)["input_ids"])


def test_one_segment_per_message(make_tokenizer):
    tokenizer = make_tokenizer()
    ids, layout = ism.hf.layout_from_chat(tokenizer, MESSAGES)
    text = tokenizer.apply_chat_template(MESSAGES, tokenize=False)
    expect_ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids.dtype == np.int64
    np.testing.assert_array_equal(ids, expect_ids)
    assert not (ids == tokenizer.unk_token_id).any()
    assert len(layout) == len(ids)
    # The prefix rule: message k owns what rendering k messages adds to rendering k - 1;
    # the first also owns the BOS the template emits before any message.
    lengths = [token_count(tokenizer, MESSAGES[:k + 1]) - (token_count(tokenizer, MESSAGES[:k])
                                                           if k else 0)
               for k in range(len(MESSAGES))]
    roles = ["system", "user", "assistant", "tool", "assistant", "user"]
    assert layout.documents == [list(zip(roles, lengths))]
    # A message's segment holds its header, content and end-of-turn marker.
    start = lengths[0]
    assert ids[0] == tokenizer.convert_tokens_to_ids("<s>")
    assert ids[start] == tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert ids[start + lengths[1] - 1] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert ids[start + 1] == tokenizer.convert_tokens_to_ids("user")


def test_generation_prompt_is_a_trailing_answer(make_tokenizer):
    tokenizer = make_tokenizer()
    messages = MESSAGES[:2]
    ids, layout = ism.hf.layout_from_chat(tokenizer, messages, add_generation_prompt=True)
    full = token_count(tokenizer, messages, add_generation_prompt=True)
    without = token_count(tokenizer, messages)
    assert len(ids) == full
    assert layout.documents[0][-1] == ("assistant", full - without)
    assert [r for r, _ in layout.documents[0]] == ["system", "user", "assistant"]
    # The answer that follows continues the prompt causally under ism.
    lo, hi = ism.intervals(layout, "ism")
    assert hi[-1] == len(ids) - 1 and hi[without] == without


def test_roles_mapping_and_unknown_role(make_tokenizer):
    tokenizer = make_tokenizer()
    messages = [{"role": "developer", "content": "you are helpful"},
                {"role": "narrator", "content": "the weather is sunny"},
                {"role": "user", "content": "hi"}]
    with pytest.raises(ism.ArgumentError, match="message 1 has role 'narrator'"):
        ism.hf.layout_from_chat(tokenizer, messages)
    _, layout = ism.hf.layout_from_chat(
        tokenizer, messages, roles={"developer": "system", "narrator": "tool", "user": "user"})
    assert [r for r, _ in layout.documents[0]] == ["system", "tool", "user"]
    # DEFAULT_ROLES maps developer to system.
    _, layout = ism.hf.layout_from_chat(tokenizer, [messages[0], messages[2]])
    assert [r for r, _ in layout.documents[0]] == ["system", "user"]
    with pytest.raises(ism.ArgumentError, match="message 0 has no 'role'"):
        ism.hf.layout_from_chat(tokenizer, [{"content": "hi"}])


def test_refusals(make_tokenizer):
    tokenizer = make_tokenizer()
    with pytest.raises(ism.ArgumentError, match="there are no messages"):
        ism.hf.layout_from_chat(tokenizer, [])

    class Slow:
        is_fast = False
    with pytest.raises(ism.ArgumentError, match="needs a fast tokenizer"):
        ism.hf.layout_from_chat(Slow(), MESSAGES)
    rewriting = make_tokenizer(REWRITING)
    with pytest.raises(ism.ArgumentError, match="is not a prefix of rendering"):
        ism.hf.layout_from_chat(rewriting, MESSAGES[:4])
    # Without an earlier answer to rewrite, the same template splits.
    ids, layout = ism.hf.layout_from_chat(rewriting, MESSAGES[:3])
    assert [r for r, _ in layout.documents[0]] == ["system", "user", "assistant"]


def test_layouts_feed_the_masks(make_tokenizer):
    tokenizer = make_tokenizer()
    ids, layout = ism.hf.layout_from_chat(tokenizer, MESSAGES)
    lo, hi = ism.intervals(layout, "ism")
    assert len(lo) == len(ids)
    sys_len = layout.documents[0][0][1]
    assert (hi[:sys_len] == sys_len - 1).all()
