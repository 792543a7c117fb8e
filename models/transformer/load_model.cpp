#include "models/transformer/load_model.hpp"

#include <sstream>
#include <stdexcept>

#include "models/io/gguf.hpp"
#include "models/io/safetensors.hpp"
#include "models/tokenizers/byte_bpe.hpp"
#include "models/tokenizers/byte_tokenizer.hpp"
#include "models/tokenizers/tokenizer_json.hpp"
#include "models/transformer/hf_checkpoint.hpp"

namespace bitsim::models {
namespace fs = std::filesystem;

const char* architecture_name(Architecture architecture) {
  switch (architecture) {
    case Architecture::llama: return "llama";
    case Architecture::gpt2: return "gpt2";
    case Architecture::bert: return "bert";
  }
  return "?";
}

// GGUF files are Llama; safetensors are told apart by the tensor names each layout must hold.
Architecture detect_architecture(const std::string& path) {
  if (path.ends_with(".gguf")) return Architecture::llama;
  const auto f = SafetensorsFile::open(path);
  for (const auto& t : f.tensors()) {
    if (t.name.ends_with("embeddings.word_embeddings.weight")) return Architecture::bert;
    if (t.name == "wte.weight" || t.name == "transformer.wte.weight") return Architecture::gpt2;
  }
  throw std::invalid_argument(path + ": neither a BERT encoder (embeddings.word_embeddings.weight) nor a GPT-2 decoder "
                              "(wte.weight); bitsim runs Llama GGUF files and BERT/GPT-2 safetensors checkpoints");
}

fs::path checkpoint_folder(const std::string& path) {
  return fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
}

ModelDims read_model_dims(const std::string& path) {
  ModelDims d;
  d.architecture = detect_architecture(path);
  switch (d.architecture) {
    case Architecture::llama: {
      const auto file = GgufFile::open(path);
      const auto arch = file.metadata("general.architecture").as_string("general.architecture");
      const auto integer = [&](const std::string& key) { return int(file.metadata(arch + "." + key).as_int(arch + "." + key)); };
      d.layers = integer("block_count");
      d.d_model = integer("embedding_length");
      d.d_ff = integer("feed_forward_length");
      d.heads = integer("attention.head_count");
      d.kv_heads = file.find_metadata(arch + ".attention.head_count_kv") ? integer("attention.head_count_kv") : d.heads;
      break;
    }
    case Architecture::gpt2: {
      const HfCheckpoint ck(path, "wte.weight", {"transformer."});
      d.d_model = int(ck.shape("wte.weight").at(1));
      d.d_ff = int(ck.shape("h.0.mlp.c_fc.weight").at(1));  // Conv1D: [in, out]
      while (ck.has("h." + std::to_string(d.layers) + ".ln_1.weight")) ++d.layers;
      d.heads = d.kv_heads = int(ck.config_int("n_head"));
      d.context = int(ck.shape("wpe.weight").at(0));
      break;
    }
    case Architecture::bert: {
      const HfCheckpoint ck(checkpoint_folder(path).string(), "embeddings.word_embeddings.weight", {"bert."});
      d.layers = int(ck.config_int("num_hidden_layers"));
      d.d_model = int(ck.config_int("hidden_size"));
      d.d_ff = int(ck.config_int("intermediate_size"));
      d.heads = d.kv_heads = int(ck.config_int("num_attention_heads"));
      d.context = int(ck.shape("embeddings.position_embeddings.weight").at(0));
      break;
    }
  }
  return d;
}

std::unique_ptr<Tokenizer> decoder_tokenizer(const std::string& path) {
  switch (detect_architecture(path)) {
    case Architecture::llama: return std::make_unique<ByteBpeTokenizer>(ByteBpeTokenizer::from_gguf(GgufFile::open(path)));
    case Architecture::gpt2: break;
    case Architecture::bert: throw std::invalid_argument(path + ": a BERT encoder has no decoder tokenizer");
  }
  const auto meta = SafetensorsFile::open(path).metadata();  // a copy: the file is a temporary
  if (const auto it = meta.find("tokenizer"); it != meta.end() && it->second == "bytes") return std::make_unique<ByteTokenizer>();
  if (const auto it = meta.find("tokenizer.json"); it != meta.end())  // a BPE stored by bitsim train
    return std::make_unique<ByteBpeTokenizer>(byte_bpe_from_tokenizer_json_text(it->second, path + " (metadata tokenizer.json)"));
  const auto file = checkpoint_folder(path) / "tokenizer.json";
  if (!fs::exists(file))
    throw std::invalid_argument(path + ": a GPT-2 checkpoint needs \"tokenizer\": \"bytes\" in its metadata or a "
                                "tokenizer.json beside its weights to tokenize text");
  return std::make_unique<ByteBpeTokenizer>(byte_bpe_from_tokenizer_json(file.string()));
}

WordPieceTokenizer encoder_tokenizer(const std::string& path) {
  return WordPieceTokenizer::from_vocab_file((checkpoint_folder(path) / "vocab.txt").string());
}

std::vector<std::vector<TokenId>> encoder_sentences(const WordPieceTokenizer& tokenizer, const std::string& text, int count,
                                                    std::size_t max_tokens) {
  std::vector<std::vector<TokenId>> out;
  std::istringstream in(text);
  std::string line, paragraph;
  const auto flush = [&] {
    if (!paragraph.empty() && int(out.size()) < count) {
      auto ids = tokenizer.encode(paragraph);
      if (ids.size() > max_tokens) {
        ids.resize(max_tokens - 1);
        ids.push_back(tokenizer.sep());
      }
      out.push_back(std::move(ids));
    }
    paragraph.clear();
  };
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) flush();
    else paragraph += (paragraph.empty() ? "" : " ") + line;
  }
  flush();
  return out;
}

}  // namespace bitsim::models
