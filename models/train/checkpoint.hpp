#pragma once
// GPT checkpoints as safetensors in the Hugging Face GPT-2 layout, so the GPT-2 engine and
// `bitsim model` load them like any GPT-2: tensors wte.weight, wpe.weight,
// h.{i}.ln_1.{weight,bias}, h.{i}.attn.c_attn.{weight,bias}, h.{i}.attn.c_proj.{weight,bias},
// h.{i}.ln_2.*, h.{i}.mlp.c_fc.*, h.{i}.mlp.c_proj.*, ln_f.{weight,bias}, all F32, linear
// weights in Conv1D layout [in, out]; the output layer is tied to wte (no lm_head tensor).
// The header's __metadata__ holds the config (model_type=gpt2, vocab_size, n_positions,
// n_embd, n_layer, n_head, tokenizer=bytes) plus whatever the caller adds (recipe, step).
// Files are written to PATH.tmp and renamed, so an interrupted write never leaves a
// half-written checkpoint at PATH.
#include <map>
#include <string>

#include "models/train/gpt.hpp"
#include "models/train/optimizer.hpp"

namespace bitsim::models::train {

//
// A resumable checkpoint also holds the optimizer state: tensors
// optimizer.m.<name> and optimizer.v.<name> (F32) and metadata optimizer.loss_scale (hex
// float), optimizer.clean_steps. GPT-2 loaders ignore them.
void write_checkpoint(const std::string& path, const Gpt& model, const std::map<std::string, std::string>& extra = {},
                      const Optimizer::State* optimizer = nullptr);
// Reads a checkpoint written by write_checkpoint (config from the metadata).
Gpt read_checkpoint(const std::string& path);
// The optimizer state of a resumable checkpoint (`adamw`: with second moments), and the
// checkpoint's metadata; throws std::invalid_argument when it has none.
Optimizer::State read_optimizer_state(const std::string& path, const Gpt& model, bool adamw);
std::map<std::string, std::string> read_checkpoint_metadata(const std::string& path);

}  // namespace bitsim::models::train
