// bitsim quantize: numbers from stdin, rounded into a format, printed as code and value.
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/number_parsing.hpp"
#include "experiments/cli/number_printing.hpp"
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
};

// The format with its overflow policy replaced. Format's constructor re-validates, so a
// policy the format cannot honour (inf without infinities) is refused with its reason.
Format with_overflow(const Format& format, formats::Overflow overflow) {
  Format::Repr repr = format.repr();
  if (auto* minifloat = std::get_if<formats::MiniFloat>(&repr)) {
    minifloat->overflow = overflow;
  } else if (overflow != formats::Overflow::saturate) {
    throw std::invalid_argument("--overflow " + std::string(to_string(overflow)) + ": " +
                                format.spec() + " is an integer format, which only saturates");
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

void run(const QuantizeOptions& options) {
  Format format = Format::parse(options.format);
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
      "Round whitespace-separated numbers from stdin into a format; print code and value per line");
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
                    R"(Print {"format","rounding","input_type","seed","stream","codes","values"})");
  command->callback([options] { run(*options); });
}

}  // namespace bitsim::cli
