#include "models/tokenizers/tokenizer_json.hpp"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "models/io/load_error.hpp"

namespace bitsim::models {

ByteBpeTokenizer byte_bpe_from_tokenizer_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw LoadError(path + ": cannot open");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return byte_bpe_from_tokenizer_json_text(text, path);
}

ByteBpeTokenizer byte_bpe_from_tokenizer_json_text(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
    const auto& model = j.at("model");
    if (model.value("type", "") != "BPE")
      throw LoadError(path + ": model.type '" + model.value("type", "") + "' is not BPE (valid: BPE)");
    const auto& vocab = model.at("vocab");
    std::vector<std::string> tokens(vocab.size());
    std::vector<bool> seen(vocab.size(), false);
    for (const auto& [token, id_json] : vocab.items()) {
      const auto id = id_json.get<long long>();
      if (id < 0 || std::size_t(id) >= tokens.size() || seen[std::size_t(id)])
        throw LoadError(path + ": token '" + token + "' has id " + std::to_string(id) + "; ids must be 0.." +
                        std::to_string(tokens.size() - 1) + " without repeats");
      tokens[std::size_t(id)] = token;
      seen[std::size_t(id)] = true;
    }
    std::vector<std::string> merges;
    for (const auto& m : model.at("merges"))
      merges.push_back(m.is_string() ? m.get<std::string>() : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
    // Added tokens may extend the vocabulary past the model's ids.
    std::vector<TokenId> control;
    if (j.contains("added_tokens"))
      for (const auto& t : j["added_tokens"]) {
        const auto id = t.at("id").get<long long>();
        if (id < 0 || id > (1ll << 24)) throw LoadError(path + ": added token id " + std::to_string(id) + " is out of range");
        if (std::size_t(id) >= tokens.size()) {
          tokens.resize(std::size_t(id) + 1);
          seen.resize(std::size_t(id) + 1, false);
        }
        tokens[std::size_t(id)] = t.at("content").get<std::string>();
        seen[std::size_t(id)] = true;
        if (t.value("special", false)) control.push_back(TokenId(id));
      }
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (!seen[i]) throw LoadError(path + ": no token has id " + std::to_string(i) + " (ids must have no gaps)");
    const std::string pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"].dump() : "";
    const bool digits = pre.find("\"Digits\"") != std::string::npos && pre.find("\"individual_digits\":true") != std::string::npos;
    return ByteBpeTokenizer(std::move(tokens), merges, digits ? PreTokenizer::smollm : PreTokenizer::gpt2, control);
  } catch (const std::invalid_argument& e) {
    throw LoadError(path + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw LoadError(path + ": not a BPE tokenizer.json: " + e.what());
  }
}

}  // namespace bitsim::models
