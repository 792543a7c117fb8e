// bitsim arith: one operation in a format, computed exactly and rounded once
// (formats/arithmetic.hpp). Prints the result's code and value.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/number_parsing.hpp"
#include "experiments/cli/number_printing.hpp"
#include "formats/arithmetic.hpp"
#include "formats/format.hpp"

namespace bitsim::cli {
namespace {

using formats::Arithmetic;
using formats::Format;

struct ArithOptions {
  std::string format;
  std::string rounding = "rne";
  std::string seed = "0";
  std::string stream = "0";
  std::string index = "0";
  std::string operation;
  std::vector<std::string> operands;
  bool codes = false;
  bool json = false;
};

std::uint64_t counter(const std::string& name, const std::string& text) {
  if (auto value = parse_uint64(text)) return *value;
  throw std::invalid_argument(name + " needs an integer 0.." + std::to_string(UINT64_MAX) + ", got '" + text + "'");
}

// A code: hex with 0x, or decimal; it must fit the format's width.
std::uint64_t parse_code(const std::string& token, int bits, int position) {
  std::optional<std::uint64_t> code;
  if (token.size() > 2 && token[0] == '0' && (token[1] == 'x' || token[1] == 'X')) {
    try {
      std::size_t used = 0;
      const unsigned long long value = std::stoull(token.substr(2), &used, 16);
      if (used == token.size() - 2) code = value;
    } catch (const std::exception&) {
    }
  } else {
    code = parse_uint64(token);
  }
  if (!code || (bits < 64 && *code >> bits != 0)) {
    throw std::invalid_argument("operand " + std::to_string(position) + " ('" + token + "') is not a code of " +
                                std::to_string(bits) + " bits; expected hex (0x7e) or decimal");
  }
  return *code;
}

void run(const ArithOptions& options) {
  const Format format = Format::parse(options.format);
  const Arithmetic arith(format);
  const formats::Operation op = formats::parse_operation(options.operation);
  const formats::RoundingSpec rounding = formats::parse_rounding(options.rounding);
  const formats::RandomStream rng{counter("--seed", options.seed), counter("--stream", options.stream)};
  const std::uint64_t index = counter("--index", options.index);
  const int wanted = formats::operand_count(op);
  if (int(options.operands.size()) != wanted) {
    throw std::invalid_argument(std::string(to_string(op)) + " takes " + std::to_string(wanted) + " operand" +
                                (wanted == 1 ? "" : "s") + ", got " + std::to_string(options.operands.size()));
  }
  arith.check(rounding);

  // Operands: codes as given, or numbers rounded into the format to nearest-even first.
  std::vector<std::uint64_t> codes;
  for (std::size_t i = 0; i < options.operands.size(); ++i) {
    const std::string& token = options.operands[i];
    if (options.codes) {
      codes.push_back(parse_code(token, format.bits(), int(i + 1)));
      continue;
    }
    const auto number = parse_float64(token);
    if (!number) {
      throw std::invalid_argument("operand " + std::to_string(i + 1) + " ('" + token +
                                  "') is not a number; expected decimal, C hex-float (0x1.8p+3), nan, inf, "
                                  "+inf or -inf (or a code, with --codes)");
    }
    codes.push_back(arith.from_double(*number));
  }
  codes.resize(3, 0);
  const std::uint64_t result = arith.apply(op, codes[0], codes[1], codes[2], rounding, rng, index);
  const double value = arith.value(result);

  if (!options.json) {
    std::printf("%s %s\n", hex_code(result, format.bits()).c_str(), hex_float(value).c_str());
    return;
  }
  nlohmann::ordered_json operands = nlohmann::ordered_json::array();
  for (int i = 0; i < wanted; ++i) {
    operands.push_back({{"code", hex_code(codes[i], format.bits())}, {"value", hex_float(arith.value(codes[i]))}});
  }
  nlohmann::ordered_json out = {{"format", format.spec()},
                                {"rounding", formats::to_string(rounding)},
                                {"op", std::string(to_string(op))},
                                {"operands", operands},
                                {"code", hex_code(result, format.bits())},
                                {"value", hex_float(value)},
                                {"decimal", shortest_decimal(value)}};
  if (rounding.mode == formats::Rounding::stochastic) {
    out["seed"] = rng.seed;
    out["stream"] = rng.stream;
    out["index"] = index;
  }
  std::printf("%s\n", out.dump().c_str());
}

}  // namespace

void add_arith_command(CLI::App& app) {
  auto options = std::make_shared<ArithOptions>();
  auto* command = app.add_subcommand(
      "arith",
      "One operation (add, sub, mul, div, fma = a*b+c, sqrt) in a format, computed exactly and rounded once; "
      "prints the result's code and value");
  command->add_option("--format,-f", options->format, "Format spec, e.g. e4m3fn, posit<16,2>")->required();
  command->add_option("--rounding,-r", options->rounding, "rne, rna, rnz, ru, rd, rz, rto, sr or sr:k")
      ->capture_default_str();
  command->add_option("--seed", options->seed, "Stochastic rounding: Philox key")->type_name("UINT64")->capture_default_str();
  command->add_option("--stream", options->stream, "Stochastic rounding: stream number")
      ->type_name("UINT64")
      ->capture_default_str();
  command->add_option("--index", options->index, "Stochastic rounding: the element index (random word)")
      ->type_name("UINT64")
      ->capture_default_str();
  command->add_flag("--codes", options->codes, "Operands are codes (hex 0x.. or decimal), not numbers");
  command->add_flag("--json", options->json,
                    R"(Print {"format","rounding","op","operands":[{"code","value"}],"code","value","decimal"})");
  command->add_option("op", options->operation, "add, sub, mul, div, fma or sqrt")->required();
  command->add_option("operands", options->operands, "a [b [c]]: numbers (rounded rne into the format) or codes")
      ->required();
  command->callback([options] { run(*options); });
}

}  // namespace bitsim::cli
