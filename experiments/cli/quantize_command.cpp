// bitsim quantize: numbers from stdin, rounded into a format, printed as code and value.
// A block format (mxfp4, nvfp4, int4:sym:g128, ...) reads stdin as one 1-D tensor [1, n]
// and prints each block's scale beside its element codes and values.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/cli/block_cli.hpp"
#include "experiments/cli/commands.hpp"
#include "experiments/cli/number_parsing.hpp"
#include "experiments/cli/number_printing.hpp"
#include "formats/block/block_quantize.hpp"
#include "formats/format.hpp"

namespace bitsim::cli {
namespace {

using formats::Format;

struct QuantizeOptions {
  std::string format;
  std::string rounding = "rne";
  std::string seed = "0";  // text, parsed by parse_uint64: CLI11 would wrap "-1" silently
  std::string stream = "0";
  std::string overflow;  // empty: the format's own policy
  std::string input_type = "f32";
  bool json = false;
  bool rounding_given = false;  // block formats keep their spec's element rounding unless given
};

// The format with its overflow policy replaced. Format's constructor re-validates, so a
// policy the format cannot honour (inf without infinities) is refused with its reason.
Format with_overflow(const Format& format, formats::Overflow overflow) {
  Format::Repr repr = format.repr();
  if (auto* minifloat = std::get_if<formats::MiniFloat>(&repr)) {
    minifloat->overflow = overflow;
  } else if (auto* lns = std::get_if<formats::Lns>(&repr)) {
    lns->overflow = overflow;  // saturate or nan; Format's validation refuses inf
  } else if (overflow != formats::Overflow::saturate) {
    throw std::invalid_argument("--overflow " + std::string(to_string(overflow)) + ": " +
                                format.spec() + " is a" + (format.kind() == "posit" ? " posit" : format.kind() == "codebook" ? " codebook" : "n integer") +
                                " format, which only saturates");
  }
  try {
    return Format(repr);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("--overflow " + std::string(to_string(overflow)) + " with " +
                                format.spec() + ": " + e.what());
  }
}

// Every whitespace-separated token of `in`, parsed as the input type. All tokens are read
// before anything is printed, so a bad token leaves stdout empty.
template <class Real, class Parser>
std::vector<Real> read_numbers(std::istream& in, Parser parse) {
  std::vector<Real> numbers;
  std::string token;
  while (in >> token) {
    const auto value = parse(token);
    if (!value) {
      throw std::invalid_argument("input token " + std::to_string(numbers.size() + 1) + " ('" +
                                  token + "') is not a number; expected decimal, C hex-float "
                                  "(0x1.8p+3), nan, inf, +inf or -inf");
    }
    numbers.push_back(*value);
  }
  return numbers;
}

template <class Real>
std::vector<std::uint64_t> encode_all(const Format& format, const std::vector<Real>& numbers,
                                      formats::RoundingSpec rounding, formats::RandomStream rng) {
  std::vector<std::uint64_t> codes(numbers.size());
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    codes[i] = format.encode(numbers[i], rounding, rng, i);  // element i takes random word i
  }
  return codes;
}

std::uint64_t counter_option(const std::string& name, const std::string& text) {
  if (auto value = parse_uint64(text)) return *value;
  throw std::invalid_argument(name + " needs an integer 0.." + std::to_string(UINT64_MAX) + ", got '" +
                              text + "'");
}

// One 1-D tensor [1, n] in a block format. Text: per block a line
// "block B scale CODE VALUE [zero CODE]" followed by its elements' "CODE VALUE" lines
// (two-level formats start with "tensor_scale VALUE"); JSON adds "block", "scales"
// (code and decoded value per block), "zero_points" and "tensor_scale" where they apply.
void run_block(const QuantizeOptions& options, const formats::RandomStream& rng) {
  formats::BlockDescription description = parse_block_format(options.format).description();
  if (options.rounding_given) description.rounding = formats::parse_rounding(options.rounding);
  const formats::BlockFormat format(description);
  if (!options.overflow.empty()) {
    throw std::invalid_argument("--overflow applies to element formats; block format " + format.spec() +
                                " always clamps its elements to the element format's max");
  }
  if (options.input_type != "f32") {
    throw std::invalid_argument("--input-type " + options.input_type + ": block formats read float32 input");
  }
  const std::vector<float> input = read_numbers<float>(std::cin, parse_float32);
  const std::size_t n = input.size();
  const formats::BlockEncoding encoding = formats::block_encode(format, input, n == 0 ? 0 : 1, n, rng);
  std::vector<float> values(n);
  formats::block_decode(format, encoding, values);
  const formats::BlockGrid grid = formats::block_grid(format, n == 0 ? 0 : 1, n);
  const Format& element = format.element();
  const Format& scale = format.scale();
  const bool zero_points = !encoding.zero_points.empty();
  // Q4_1 stores its block minimum in the scale format; integer zero points are element codes.
  const Format& offset_format = format.recipe() == formats::Recipe::ggml_q4_1 ? scale : element;

  if (!options.json) {
    if (format.has_tensor_scale()) std::printf("tensor_scale %s\n", hex_float(encoding.tensor_scale).c_str());
    for (std::size_t b = 0; b < grid.block_count(); ++b) {
      std::printf("block %zu scale %s %s", b, hex_code(encoding.scales[b], scale.bits()).c_str(),
                  hex_float(scale.decode(encoding.scales[b])).c_str());
      if (zero_points) std::printf(" zero %s", hex_code(encoding.zero_points[b], offset_format.bits()).c_str());
      std::printf("\n");
      for (std::size_t i = b * grid.block_cols; i < std::min(n, (b + 1) * grid.block_cols); ++i) {
        std::printf("%s %s\n", hex_code(encoding.elements[i], element.bits()).c_str(), hex_float(values[i]).c_str());
      }
    }
    return;
  }
  nlohmann::ordered_json out = {{"format", format.spec()},
                                {"rounding", formats::to_string(format.rounding())},
                                {"input_type", options.input_type},
                                {"seed", rng.seed},
                                {"stream", rng.stream},
                                {"block", {grid.block_rows, grid.block_cols}},
                                {"effective_bits", format.effective_bits()},
                                {"codes", nlohmann::ordered_json::array()},
                                {"scales", nlohmann::ordered_json::array()}};
  for (const std::uint64_t code : encoding.elements) out["codes"].push_back(hex_code(code, element.bits()));
  for (const std::uint64_t code : encoding.scales) {
    out["scales"].push_back({{"code", hex_code(code, scale.bits())}, {"value", hex_float(scale.decode(code))}});
  }
  if (zero_points) {
    auto& list = out["zero_points"] = nlohmann::ordered_json::array();
    for (const std::uint64_t code : encoding.zero_points) list.push_back(hex_code(code, offset_format.bits()));
  }
  if (format.has_tensor_scale()) out["tensor_scale"] = hex_float(encoding.tensor_scale);
  auto& list = out["values"] = nlohmann::ordered_json::array();
  for (const float v : values) list.push_back(hex_float(v));
  std::printf("%s\n", out.dump().c_str());
}

void run(const QuantizeOptions& options) {
  const formats::RandomStream block_rng{counter_option("--seed", options.seed),
                                        counter_option("--stream", options.stream)};
  if (formats::is_block_spec(options.format)) return run_block(options, block_rng);
  Format format = parse_element_format(options.format);
  if (!options.overflow.empty()) format = with_overflow(format, formats::parse_overflow(options.overflow));
  const formats::RoundingSpec rounding = formats::parse_rounding(options.rounding);
  const formats::RandomStream rng{counter_option("--seed", options.seed),
                                  counter_option("--stream", options.stream)};

  const std::vector<std::uint64_t> codes =
      options.input_type == "f64"
          ? encode_all(format, read_numbers<double>(std::cin, parse_float64), rounding, rng)
          : encode_all(format, read_numbers<float>(std::cin, parse_float32), rounding, rng);

  if (!options.json) {
    for (const std::uint64_t code : codes) {
      std::printf("%s %s\n", hex_code(code, format.bits()).c_str(),
                  hex_float(format.decode(code)).c_str());
    }
    return;
  }
  nlohmann::ordered_json out = {{"format", format.spec()},
                                {"rounding", formats::to_string(rounding)},
                                {"input_type", options.input_type},
                                {"seed", rng.seed},
                                {"stream", rng.stream},
                                {"codes", nlohmann::ordered_json::array()},
                                {"values", nlohmann::ordered_json::array()}};
  for (const std::uint64_t code : codes) {
    out["codes"].push_back(hex_code(code, format.bits()));
    out["values"].push_back(hex_float(format.decode(code)));
  }
  std::printf("%s\n", out.dump().c_str());
}

}  // namespace

void add_quantize_command(CLI::App& app) {
  auto options = std::make_shared<QuantizeOptions>();
  auto* command = app.add_subcommand(
      "quantize",
      "Round whitespace-separated numbers from stdin into a format; print code and value per line. "
      "Block formats (mxfp4, nvfp4, int4:sym:g128, ...) read stdin as one 1-D tensor and also "
      "print each block's scale");
  command->add_option("--format,-f", options->format, "Format spec, e.g. e4m3fn")->required();
  command->add_option("--rounding,-r", options->rounding,
                      "rne, rna, rnz, ru, rd, rz, rto, sr or sr:k (k random bits)")
      ->capture_default_str();
  command->add_option("--seed", options->seed, "Stochastic rounding: Philox key")
      ->type_name("UINT64")
      ->capture_default_str();
  command->add_option("--stream", options->stream, "Stochastic rounding: stream number")
      ->type_name("UINT64")
      ->capture_default_str();
  command->add_option("--overflow", options->overflow, "Override the format's overflow policy")
      ->check(CLI::IsMember({"saturate", "inf", "nan"}));
  command->add_option("--input-type", options->input_type,
                      "Read each number as float32 (rounded once from its text) or float64")
      ->check(CLI::IsMember({"f32", "f64"}))
      ->capture_default_str();
  command->add_flag("--json", options->json,
                    R"(Print {"format","rounding","input_type","seed","stream","codes","values"}; block formats )"
                    R"(add "block","effective_bits","scales" [{"code","value"}] and, where they apply, )"
                    R"("zero_points","tensor_scale")");
  command->callback([options, command] {
    options->rounding_given = command->count("--rounding") > 0;
    run(*options);
  });
}

}  // namespace bitsim::cli
