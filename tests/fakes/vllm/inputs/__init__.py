"""Stand-in for ``vllm.inputs`` (see tests/fakes/README.md): ``TokensPrompt`` is a TypedDict as in
vllm 0.8.5 ``inputs/data.py``."""

from typing import TypedDict


class TokensPrompt(TypedDict):
    prompt_token_ids: list[int]
