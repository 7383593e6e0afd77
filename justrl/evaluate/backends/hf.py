"""The ``hf`` backend: Hugging Face transformers on CPU or GPU, batched with left padding.

Sampling runs in our own decode loop (KV cache, left padding, explicit position ids) rather than
``model.generate`` so that every sample has its own random stream: sample *k* draws its uniforms from
a CPU ``torch.Generator`` seeded with its seed, and picks a token by inverse-CDF over the
temperature-scaled, nucleus-filtered (top-p) distribution. Hence "deterministic" means:

* same model, same seed, same batch composition and device -> bit-identical text;
* a different batch composition, batch size or device changes the logits only by floating-point
  rounding (padding and matmul shapes differ); the random draws are identical, so the text is the same
  except where rounding flips a token choice (rare, more likely in long generations).

Temperature 0 is greedy decoding. ``finish_reason`` is "stop" when an end-of-sequence token was drawn
(it counts in ``completion_tokens`` and is not part of the text), else "length".
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from justrl.evaluate.backends import BackendError, missing_extra, template_sha256
from justrl.evaluate.backends.base import GenerationRequest, GenerationResult
from justrl.evaluate.backends.context import check_context, model_context_limit

DEFAULT_BATCH_SIZE = 16  # on a GPU
CPU_BATCH_SIZE = 4  # on a CPU a batch decodes slowly: smaller batches make progress (and the store) move sooner


def _import_torch_transformers():
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise missing_extra("hf", exc.name or "torch/transformers") from None
    return torch, transformers


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def resolve_model_source(model: str | None) -> tuple[str, str | None, bool]:
    """Where to load ``model`` from: (path or hub id, gguf file name or None, is_local).

    Accepts a local model folder (config.json, or exactly one ``*.gguf``), a ``.gguf`` file, or a hub
    id ``org/name``. A path that does not exist raises :class:`BackendError`.
    """
    if not model:
        raise BackendError("no model given; pass --model (a local folder, a .gguf file or a hub id like org/name)")
    path = Path(model).expanduser()
    if path.is_file():
        if path.suffix != ".gguf":
            raise BackendError(f"{model} is a file but not a .gguf model; pass a model folder or a .gguf file")
        return str(path.parent), path.name, True
    if path.is_dir():
        if (path / "config.json").is_file():
            return str(path), None, True
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return str(path), ggufs[0].name, True
        raise BackendError(f"{model} is not a model folder (no config.json{' and several .gguf files' if ggufs else ''}); "
                           f"pass the folder holding config.json or a .gguf file")
    looks_like_path = model.startswith((".", "/", "~")) or model.endswith(".gguf") or model.count("/") != 1
    if looks_like_path:
        raise BackendError(f"model path {model} not found; pass an existing folder, a .gguf file, or a hub id org/name")
    return model, None, False


class HFBackend:
    """Batched sampling with transformers. Build with :meth:`load` (a path or hub id) or
    :meth:`from_model` (an in-memory model and tokenizer, e.g. the trainer's policy)."""

    name = "hf"

    def __init__(self, model, tokenizer, *, model_id: str | None = None, revision: str | None = None,
                 batch_size: int = DEFAULT_BATCH_SIZE, gguf_file: str | None = None) -> None:
        if tokenizer.chat_template is None:
            raise BackendError(f"model {model_id or ''} has no chat template; the justrl protocol renders prompts "
                               f"with the model's own template (use an instruct/chat model)")
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id or getattr(model.config, "_name_or_path", None) or type(model).__name__
        self.revision = revision
        self.batch_size = max(1, int(batch_size))
        self.gguf_file = gguf_file
        self._local_files: tuple[str, str | None] | None = None  # set by load() for a local model
        eos = model.generation_config.eos_token_id if getattr(model, "generation_config", None) else None
        eos = [eos] if isinstance(eos, int) else list(eos or [])
        if tokenizer.eos_token_id is not None:
            eos.append(tokenizer.eos_token_id)
        if not eos:
            raise BackendError(f"model {self.model_id} declares no end-of-sequence token; cannot tell when a sample ends")
        self.stop_ids = sorted(set(eos))
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_ids[0]

    @classmethod
    def from_model(cls, model, tokenizer, **kwargs) -> HFBackend:
        """Wrap an already loaded model and tokenizer (nothing is copied; the model's train/eval mode is
        restored after each :meth:`generate`)."""
        return cls(model, tokenizer, **kwargs)

    @classmethod
    def load(cls, model: str | None, *, revision: str | None = None, device: str | None = None,
             dtype: str | None = None, batch_size: int | None = None, offline: bool | None = None,
             trust_remote_code: bool = False, attn_implementation: str | None = None) -> HFBackend:
        """Load ``model`` (local folder, ``.gguf`` file, or hub id; hub ids only online unless cached).

        ``batch_size`` defaults to 16 on GPU, 4 on CPU. ``device`` defaults to cuda when available, else cpu; ``dtype`` to bfloat16 on GPU, float32 on CPU;
        ``attn_implementation`` to "eager" on CPU (several times faster than torch's SDPA with a padding
        mask there, measured with torch 2.13) and to transformers' default on GPU.
        """
        source, gguf_file, local = resolve_model_source(model)
        torch, _ = _import_torch_transformers()
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if gguf_file is not None:
            try:
                import gguf  # noqa: F401
            except ImportError:
                raise missing_extra("hf", "gguf") from None
        offline = _offline() if offline is None else offline
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = getattr(torch, dtype) if dtype else (torch.bfloat16 if device.startswith("cuda") else torch.float32)
        kwargs = {"revision": revision, "local_files_only": local or offline, "trust_remote_code": trust_remote_code}
        model_kwargs = {"dtype": torch_dtype}
        if attn_implementation or device == "cpu":
            model_kwargs["attn_implementation"] = attn_implementation or "eager"
        if gguf_file:
            kwargs["gguf_file"] = gguf_file
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            net = AutoModelForCausalLM.from_pretrained(source, **model_kwargs, **kwargs)
        except OSError as exc:
            if not local and offline:
                raise BackendError(f"model {model!r} is not in the local Hugging Face cache and offline mode is on; "
                                   f"download it first or pass a local folder") from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendError(f"could not load model {model!r}: {first}") from None
        net.to(device)
        net.eval()
        revision = revision or getattr(net.config, "_commit_hash", None)
        if batch_size is None:
            batch_size = DEFAULT_BATCH_SIZE if device.startswith("cuda") else CPU_BATCH_SIZE
        backend = cls(net, tokenizer, model_id=str(model), revision=revision, batch_size=batch_size,
                      gguf_file=gguf_file)
        if local and revision is None:
            backend._local_files = (source, gguf_file)
        return backend

    # -- prompts -----------------------------------------------------------------------------------------

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt text: the model's chat template applied, with the assistant turn opened."""
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    # -- generation --------------------------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest],
                 on_result: Callable[[GenerationResult], None]) -> None:
        """Generate in batches of ``batch_size`` (requests grouped by prompt length). Each sample is
        delivered as soon as it finishes (EOS or its ``max_tokens``), not when its whole batch does, so
        progress moves per sample even on a CPU. Before anything is generated, every prompt + max_tokens
        is checked against the model's context window (:class:`BackendError`, one line)."""
        torch, _ = _import_torch_transformers()
        prepared = []
        for req in requests:
            text = self.render(req.messages)
            prepared.append((req, text, self._encode(text)))
        check_context(((len(ids), req.sampling.max_tokens) for req, _, ids in prepared),
                      model_context_limit(self.model.config), model=self.model_id)
        prepared.sort(key=lambda item: len(item[2]))
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(prepared), self.batch_size):
                    self._generate_batch(torch, prepared[start:start + self.batch_size], on_result)
        finally:
            if was_training:
                self.model.train()

    def _generate_batch(self, torch, batch, on_result: Callable[[GenerationResult], None]) -> None:
        device = self.model.device
        size = len(batch)
        width = max(len(ids) for _, _, ids in batch)
        input_ids = torch.full((size, width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((size, width), dtype=torch.long)
        for i, (_, _, ids) in enumerate(batch):
            input_ids[i, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention[i, width - len(ids):] = 1
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        input_ids, attention, positions = input_ids.to(device), attention.to(device), positions.to(device)
        limits = [req.sampling.max_tokens for req, _, _ in batch]
        temps = torch.tensor([req.sampling.temperature for req, _, _ in batch], dtype=torch.float32, device=device)
        top_ps = torch.tensor([req.sampling.top_p for req, _, _ in batch], dtype=torch.float32, device=device)
        gens = []
        for req, _, _ in batch:
            gen = torch.Generator()
            if req.sampling.seed is None:
                gen.seed()
            else:
                gen.manual_seed(int(req.sampling.seed))
            gens.append(gen)
        stop = torch.tensor(self.stop_ids, device=device)
        tokens: list[list[int]] = [[] for _ in batch]
        reasons: list[str | None] = [None] * size
        cache_arg = _cache_argument(self.model)
        cache, step_ids = None, input_ids
        for _ in range(max(limits)):
            out = self.model(input_ids=step_ids, attention_mask=attention, position_ids=positions,
                             use_cache=True, logits_to_keep=1, **{cache_arg: cache})
            cache = getattr(out, cache_arg)
            uniforms = torch.stack([torch.rand((), generator=g) for g in gens]).to(device)
            chosen = sample_tokens(torch, out.logits[:, -1, :].float(), temps, top_ps, uniforms)
            is_stop = torch.isin(chosen, stop).tolist()
            chosen_list = chosen.tolist()
            for i in range(size):
                if reasons[i] is not None:
                    continue
                tokens[i].append(chosen_list[i])
                if is_stop[i]:
                    reasons[i] = "stop"
                elif len(tokens[i]) >= limits[i]:
                    reasons[i] = "length"
                if reasons[i] is not None:
                    on_result(self._result(batch[i], tokens[i], reasons[i]))
            if all(r is not None for r in reasons):
                break
            done = torch.tensor([r is not None for r in reasons], device=device)
            step_ids = torch.where(done, torch.full_like(chosen, self.pad_id), chosen)[:, None]
            attention = torch.cat([attention, torch.ones((size, 1), dtype=attention.dtype, device=device)], dim=1)
            positions = positions[:, -1:] + 1

    def _result(self, item, tokens: list[int], reason: str) -> GenerationResult:
        req, text, ids = item
        body = tokens[:-1] if reason == "stop" else tokens
        return GenerationResult(key=req.key, text=self.tokenizer.decode(body, skip_special_tokens=True),
                                finish_reason=reason, prompt_tokens=len(ids), completion_tokens=len(tokens),
                                prompt_text=text)

    def describe(self) -> dict:
        """Provenance. ``revision``: the hub commit, or for a local model (no hub revision) the content
        fingerprint ``local-sha256:...`` of its files (see :func:`local_model_fingerprint`; computed once)."""
        import torch
        import transformers

        if self.revision is None and self._local_files is not None:
            self.revision = local_model_fingerprint(*self._local_files)
        return {"backend": self.name, "model": self.model_id, "revision": self.revision, "gguf_file": self.gguf_file,
                "chat_template_sha256": template_sha256(self.tokenizer.chat_template),
                "device": str(self.model.device), "dtype": str(self.model.dtype).replace("torch.", ""),
                "batch_size": self.batch_size,
                "attn_implementation": getattr(self.model.config, "_attn_implementation", None),
                "versions": {"torch": torch.__version__, "transformers": transformers.__version__}}

    def close(self) -> None:
        """Nothing to release explicitly; the model is freed with the backend."""


def local_model_fingerprint(folder: str, gguf_file: str | None = None) -> str:
    """``local-sha256:<hex>``: sha256 over (name, sha256 of content) of the files that make up a local
    model: the ``.gguf`` file alone, or every regular, non-hidden file directly in the folder (config,
    tokenizer, weights). Identical files give the same value on any machine; ~1 s per GB."""
    import hashlib

    from justrl.benchmarks import file_sha256

    root = Path(folder)
    files = [root / gguf_file] if gguf_file else sorted(p for p in root.iterdir()
                                                        if p.is_file() and not p.name.startswith("."))
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}\0{file_sha256(path)}\n".encode())
    return f"local-sha256:{digest.hexdigest()}"


def _cache_argument(model) -> str:
    """The KV-cache keyword of ``model.forward``: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def sample_tokens(torch, logits, temperatures, top_ps, uniforms):
    """One token per row: greedy where temperature is 0, else inverse-CDF sampling with ``uniforms`` (one
    U[0,1) per row) from softmax(logits / T) restricted to the smallest prefix of tokens, by descending
    probability, whose mass reaches top_p (the nucleus; ties broken by token id)."""
    greedy = logits.argmax(dim=-1)
    safe_t = torch.where(temperatures > 0, temperatures, torch.ones_like(temperatures))
    probs = torch.softmax(logits / safe_t[:, None], dim=-1)
    sorted_p, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    cumulative = sorted_p.cumsum(dim=-1)
    outside = (cumulative - sorted_p) >= top_ps[:, None]  # keep tokens whose preceding mass is below top_p
    sorted_p = sorted_p.masked_fill(outside, 0.0)
    cdf = sorted_p.cumsum(dim=-1)
    target = uniforms[:, None] * cdf[:, -1:]
    index = torch.searchsorted(cdf, target, right=True).clamp(max=cdf.shape[-1] - 1)
    sampled = order.gather(-1, index).squeeze(-1)
    return torch.where(temperatures > 0, sampled, greedy)
