"""Write a tiny random-weight llama-architecture GGUF (2 layers, hidden 64, ~0.3 MB) with an SPM tokenizer.

Used by the text-stage tests and benchmarks/llm.py: llama-cpp-python loads it and generates real (nonsense)
tokens, so the whole llama_cpp backend path runs without any downloaded weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# A Llama-3-style chat template, so llama-cpp-python formats messages from the GGUF as with a real model.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}</s>\n"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def vocabulary() -> tuple[list[str], list[float], list[int]]:
    """SPM vocabulary: <unk>, <s>, </s>, the 256 byte tokens (so no character is ever unknown), then printable
    ASCII and a few words. Token types: 1 normal, 2 unknown, 3 control, 6 byte."""
    tokens, scores, types = ["<unk>", "<s>", "</s>"], [0.0, 0.0, 0.0], [2, 3, 3]
    for byte in range(256):
        tokens.append(f"<0x{byte:02X}>")
        scores.append(0.0)
        types.append(6)
    pieces = ["\u2581"] + [chr(c) for c in range(33, 127)]
    pieces += [
        "\u2581" + w for w in ("the", "C", "is", "a", "of", "and", "in", "to", "on", "CF", "Before", "After")
    ]
    for rank, piece in enumerate(pieces):
        tokens.append(piece)
        scores.append(-float(rank))  # SPM merges prefer higher scores
        types.append(1)
    return tokens, scores, types


def write_tiny_llama(
    path: str | Path, *, seed: int = 0, n_embd: int = 64, n_layer: int = 2, n_head: int = 4, n_ff: int = 128
) -> Path:
    import gguf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tokens, scores, types = vocabulary()
    n_vocab = len(tokens)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("egoflow-tiny-llama")
    writer.add_context_length(4096)
    writer.add_embedding_length(n_embd)
    writer.add_block_count(n_layer)
    writer.add_feed_forward_length(n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(n_embd // n_head)
    writer.add_vocab_size(n_vocab)
    writer.add_file_type(0)  # all F32
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(False)  # the chat template writes bos itself
    writer.add_chat_template(CHAT_TEMPLATE)

    def weight(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    # numpy shapes are (rows, cols) = reversed ggml ne: token_embd is (n_vocab, n_embd)
    writer.add_tensor("token_embd.weight", weight(n_vocab, n_embd, scale=1.0))
    writer.add_tensor("output_norm.weight", np.ones(n_embd, np.float32))
    writer.add_tensor("output.weight", weight(n_vocab, n_embd, scale=0.5))
    for i in range(n_layer):
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n_embd, np.float32))
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            writer.add_tensor(f"blk.{i}.{name}.weight", weight(n_embd, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n_embd, np.float32))
        writer.add_tensor(f"blk.{i}.ffn_gate.weight", weight(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_up.weight", weight(n_ff, n_embd))
        writer.add_tensor(f"blk.{i}.ffn_down.weight", weight(n_embd, n_ff))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
