#include "experiments/runner/tensor_dumps.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include "experiments/runner/evaluator.hpp"
#include "experiments/runner/synthetic_tensor.hpp"
#include "formats/block/block_format.hpp"
#include "formats/format.hpp"
#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "models/transformer/bert.hpp"
#include "models/transformer/gpt2.hpp"
#include "models/transformer/layer_ops.hpp"
#include "models/transformer/llama.hpp"
#include "models/transformer/load_model.hpp"

namespace bitsim::experiments {
namespace {

// Code widths of a spec's stored form: elements, scales, zero points (sim::PackedTensor).
struct CodeWidths {
  int element = 32, scale = 0, zero_point = 0;
};

CodeWidths code_widths(const sim::QuantSpec& spec, bool has_zero_points) {
  CodeWidths w;
  if (spec.is_identity()) return w;  // float32 bit patterns
  if (spec.is_block) {
    const auto block = formats::BlockFormat::parse(spec.format);
    w.element = block.element().bits();
    w.scale = block.scale().bits();
    // Zero-point formats store an element-width integer; Q4_1 its minimum in the scale format.
    if (has_zero_points) w.zero_point = block.has_zero_point() ? block.element().bits() : block.scale().bits();
    return w;
  }
  w.element = formats::Format::parse(spec.format).bits();
  if (spec.is_scaled()) w.scale = formats::Format::parse(spec.scale_format).bits();
  return w;
}

std::size_t count_of(const std::vector<std::int64_t>& shape) {
  std::size_t n = 1;
  for (auto extent : shape) n *= std::size_t(extent);
  return n;
}

std::vector<std::uint64_t> unpack(const std::vector<std::uint8_t>& packed, int bits, std::size_t count,
                                  const std::string& what, const std::string& name) {
  if (count == 0) return {};
  if (bits < 1 || bits > 64 || packed.size() != (count * std::size_t(bits) + 7) / 8)
    throw std::invalid_argument("dump '" + name + "': " + what + " hold " + std::to_string(packed.size()) +
                                " bytes, not " + std::to_string(count) + " codes of " + std::to_string(bits) + " bits");
  std::vector<std::uint64_t> codes(count);
  formats::unpack_codes(packed, bits, codes);
  return codes;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return models::glob_match(p, name); });
}

// Every pattern must name a tensor of the source.
void check_patterns(const std::vector<std::string>& patterns, const std::vector<std::string>& names) {
  for (const auto& p : patterns) {
    if (std::none_of(names.begin(), names.end(), [&](const std::string& n) { return models::glob_match(p, n); })) {
      std::string some;
      for (std::size_t i = 0; i < names.size() && i < 8; ++i) some += (i ? ", " : "") + names[i];
      if (names.size() > 8) some += ", ... (" + std::to_string(names.size()) + " in all)";
      throw std::invalid_argument("dump.tensors: '" + p + "' names no tensor of this source; its tensors: " + some);
    }
  }
}

using AnyModel = std::variant<models::LlamaModel, models::Gpt2Model, models::BertModel>;

AnyModel load_any_model(const std::string& path) {
  try {
    switch (models::detect_architecture(path)) {
      case models::Architecture::llama: return models::LlamaModel::from_gguf(models::GgufFile::open(path));
      case models::Architecture::gpt2: return models::Gpt2Model::from_safetensors(path);
      case models::Architecture::bert: return models::BertModel::from_directory(models::checkpoint_folder(path).string());
    }
  } catch (const models::LoadError& e) {
    throw std::invalid_argument(e.what());
  }
  throw std::logic_error("unknown architecture");
}

// One forward pass of any engine over `tokens` (decoders: a prefill; the encoder: the pooled
// embedding), for the activations a tap sees.
void run_forward(const AnyModel& model, const models::Numerics& numerics, const std::vector<std::int32_t>& tokens) {
  std::visit([&](const auto& m) {
    using M = std::decay_t<decltype(m)>;
    if constexpr (std::is_same_v<M, models::LlamaModel>) (void)models::LlamaSession(m, numerics).forward(tokens);
    else if constexpr (std::is_same_v<M, models::Gpt2Model>) (void)models::Gpt2Session(m, numerics).forward(tokens);
    else (void)models::BertSession(m, numerics).embed(tokens);
  }, model);
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read the evaluation text '" + path.string() + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The input the evaluator feeds the model: the first data.tokens tokens of the text
// (decoders), or the first sentence (the encoder).
std::vector<std::int32_t> model_input(const ModelSource& m) {
  const std::string path = m.path.string();
  if (m.decoder()) {
    auto tokens = models::decoder_tokenizer(path)->encode(read_text(m.text));
    if (std::int64_t(tokens.size()) > m.tokens) tokens.resize(std::size_t(m.tokens));
    return std::vector<std::int32_t>(tokens.begin(), tokens.end());
  }
  const auto sentences = models::encoder_sentences(models::encoder_tokenizer(path), read_text(m.text), 1);
  if (sentences.empty()) throw std::invalid_argument("the text '" + m.text.string() + "' holds no sentence");
  return std::vector<std::int32_t>(sentences[0].begin(), sentences[0].end());
}

}  // namespace

TensorDump make_tensor_dump(std::string name, const sim::TensorF& x, const sim::QuantSpec& spec,
                            std::uint64_t tensor_id, bool values, bool codes) {
  TensorDump d;
  d.name = std::move(name);
  d.spec = sim::to_string(spec);
  d.shape.assign(x.shape().begin(), x.shape().end());
  const sim::PackedTensor p = sim::encode(x, spec, tensor_id);
  if (values) d.values = sim::decode(p).to_vector();
  if (codes) {
    const CodeWidths w = code_widths(spec, !p.zero_points.empty());
    d.has_codes = true;
    d.code_bits = w.element;
    d.codes = formats::pack_codes(p.codes, w.element);
    d.scale_shape.assign(p.scale_shape.begin(), p.scale_shape.end());
    if (!p.scales.empty()) {
      d.scale_bits = w.scale;
      d.scales = formats::pack_codes(p.scales, w.scale);
    }
    if (!p.zero_points.empty()) {
      d.zero_point_bits = w.zero_point;
      d.zero_points = formats::pack_codes(p.zero_points, w.zero_point);
    }
    d.tensor_scale = p.tensor_scale;
  }
  return d;
}

sim::PackedTensor packed_tensor(const TensorDump& dump) {
  if (!dump.has_codes) throw std::invalid_argument("dump '" + dump.name + "' holds no codes");
  sim::PackedTensor p;
  p.shape.assign(dump.shape.begin(), dump.shape.end());
  p.spec = sim::parse_quant_spec(dump.spec);
  p.codes = unpack(dump.codes, dump.code_bits, count_of(dump.shape), "codes", dump.name);
  p.scale_shape.assign(dump.scale_shape.begin(), dump.scale_shape.end());
  const std::size_t scales = dump.scales.empty() ? 0 : count_of(dump.scale_shape);
  p.scales = unpack(dump.scales, dump.scale_bits, scales, "scales", dump.name);
  if (!dump.zero_points.empty()) p.zero_points = unpack(dump.zero_points, dump.zero_point_bits, scales, "zero points", dump.name);
  p.tensor_scale = float(dump.tensor_scale);
  return p;
}

struct TensorDumper::Source {
  // Synthetic: X and A as the evaluator draws them.
  sim::TensorF x, a;
  // Model: the weights, by role name ("weight.blk.0.attn_q"), in the model's order.
  std::optional<AnyModel> model;
  std::vector<std::pair<std::string, const sim::TensorF*>> weights;
  int layers = 0;
  // Activation roles (when a pattern names one): the model's input and the roles a forward
  // pass quantizes, in the order it meets them.
  std::vector<std::int32_t> input;
  std::vector<std::string> activations;
};

TensorDumper::TensorDumper(const ExperimentConfig& config, std::uint64_t grid_size) : config_(config) {
  const DumpRequest& request = config.dump;
  if (!request.enabled()) return;
  for (const auto index : request.points)
    if (index >= grid_size)
      throw std::invalid_argument("dump.points: " + std::to_string(index) + " is not a grid index (the grid has " +
                                  std::to_string(grid_size) + " points, 0-" + std::to_string(grid_size - 1) + ")");
  source_ = std::make_unique<Source>();
  std::vector<std::string> names;
  if (config.source == SourceKind::synthetic) {
    source_->x = synthetic_tensor(config.synthetic, 0);
    if (config.synthetic.gemm_n > 0) source_->a = synthetic_tensor(config.synthetic, 1);
    names = synthetic_dump_names(config);
  } else if (config.source == SourceKind::model) {
    source_->model = load_any_model(config.model.path.string());
    std::visit([&](const auto& m) {
      source_->layers = m.config().layers;
      for (const auto& [name, w] : m.named_weights()) source_->weights.emplace_back("weight." + name, w);
    }, *source_->model);
    for (const auto& [name, w] : source_->weights) names.push_back(name);
    // Patterns that name no weight may name activation roles: list them with one forward
    // pass (the reference numerics, tapped).
    if (std::any_of(request.tensors.begin(), request.tensors.end(), [&](const std::string& p) {
          return std::none_of(names.begin(), names.end(), [&](const std::string& n) { return models::glob_match(p, n); });
        })) {
      try {
        source_->input = model_input(config.model);
      } catch (const models::LoadError& e) {
        throw std::invalid_argument(e.what());
      }
      models::Numerics reference;
      reference.tap = [this](const std::string& role, const sim::TensorF&, const sim::QuantSpec&, std::uint64_t) {
        if (std::find(source_->activations.begin(), source_->activations.end(), role) == source_->activations.end())
          source_->activations.push_back(role);
      };
      run_forward(*source_->model, reference, source_->input);
      names.insert(names.end(), source_->activations.begin(), source_->activations.end());
    }
  } else {
    throw std::invalid_argument("dump applies to model and synthetic sources");
  }
  check_patterns(request.tensors, names);
}

TensorDumper::~TensorDumper() = default;

std::vector<TensorDump> TensorDumper::dump(const GridPoint& point) const {
  const DumpRequest& request = config_.dump;
  std::vector<TensorDump> out;
  if (!source_ || !request.wants(point.index)) return out;
  const auto add = [&](const std::string& name, const sim::TensorF& x, const sim::QuantSpec& spec, std::uint64_t id) {
    if (matches_any(request.tensors, name)) out.push_back(make_tensor_dump(name, x, spec, id, request.values, request.codes));
  };
  if (config_.source == SourceKind::synthetic) {
    // The evaluator's tensor ids: X is stream 0, A stream 1.
    add("weights", source_->x, point_quant_spec(point, "weights"), 0);
    if (config_.synthetic.gemm_n > 0) add("activations", source_->a, point_quant_spec(point, "activations"), 1);
  } else {
    // The point's numerics, as its sessions apply them (LayerOps::weight: role seed as stream).
    models::Numerics numerics = model_point_numerics(point, source_->layers);
    for (const auto& [role, w] : source_->weights) add(role, *w, numerics.quant_for(role), models::role_seed(role));
    // Activations: one more forward pass with the point's numerics, tapped; each role's
    // input is quantized again with its spec and stream, giving the bits the pass used.
    if (std::any_of(source_->activations.begin(), source_->activations.end(),
                    [&](const std::string& role) { return matches_any(request.tensors, role); })) {
      std::vector<std::string> seen;
      numerics.tap = [&](const std::string& role, const sim::TensorF& x, const sim::QuantSpec& spec, std::uint64_t stream) {
        if (std::find(seen.begin(), seen.end(), role) != seen.end()) return;  // first call of a role only
        seen.push_back(role);
        add(role, x, spec, stream);
      };
      run_forward(*source_->model, numerics, source_->input);
    }
  }
  std::sort(out.begin(), out.end(), [](const TensorDump& a, const TensorDump& b) { return a.name < b.name; });
  return out;
}

}  // namespace bitsim::experiments
